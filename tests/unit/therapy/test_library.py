import pytest

from thecal.therapy.drugs import Bound, DrugClass, LimitKind
from thecal.therapy.findings import Level
from thecal.therapy.library import DrugLibrary, LibraryError, build_library
from thecal.units import Q_

SHIPPED = "thecal/data/drugs.toml"


def test_shipped_library_has_the_labelled_drugs_with_sources(library: DrugLibrary) -> None:
    labelled = {d.name for d in library.drugs if d.labelled_for_pump}
    assert labelled == {"morphine", "ziconotide", "baclofen"}
    for drug in library.drugs:
        assert drug.source
        for lim in drug.limits:
            assert lim.source.strip(), (drug.name, lim.bound)


SHIPPED_DRUGS = (
    "morphine",
    "hydromorphone",
    "fentanyl",
    "sufentanil",
    "bupivacaine",
    "clonidine",
    "baclofen",
    "ziconotide",
)


@pytest.mark.parametrize("name", SHIPPED_DRUGS)
def test_every_shipped_drug_has_a_hard_concentration_ceiling(
    library: DrugLibrary, name: str
) -> None:
    hard = [
        lim
        for lim in library.get(name).limits
        if lim.bound is Bound.CONCENTRATION_MAX and lim.level is Level.HARD and not lim.when
    ]
    assert hard and all(lim.source for lim in hard)


@pytest.mark.parametrize("name", [d for d in SHIPPED_DRUGS if d != "fentanyl"])
def test_every_shipped_drug_but_fentanyl_has_a_hard_daily_ceiling(
    library: DrugLibrary, name: str
) -> None:
    # Fentanyl: no daily dose could be sourced; it raises NO-DOSE-LIMITS instead (entry_error.py).
    hard = [
        lim
        for lim in library.get(name).limits
        if lim.bound is Bound.DAILY_DOSE_MAX and lim.level is Level.HARD and not lim.when
    ]
    assert hard and all(lim.source for lim in hard)


def test_entry_error_ceilings_are_hard_and_say_so(library: DrugLibrary) -> None:
    ceilings = [lim for d in library.drugs for lim in d.limits if lim.kind is LimitKind.ENTRY_ERROR]
    assert len(ceilings) >= 14  # 8 concentrations + 6 daily doses (ziconotide's is the label's)
    assert all(lim.level is Level.HARD for lim in ceilings)
    assert all("Entry-error ceiling" in lim.source for lim in ceilings)


def _layer(limit: dict[str, str]) -> dict[str, object]:
    return {"drugs": [{"name": "clonidine", "limits": [limit]}]}


def test_an_institution_may_tighten_a_hard_limit_with_any_source() -> None:
    from thecal.adapters.data_files import packaged

    tighter = {
        "bound": "concentration_max",
        "value": "50 mcg/mL",
        "level": "hard",
        "kind": "entry_error",
        "source": "Institution formulary",
    }
    lib = build_library([(SHIPPED, packaged("drugs.toml")), ("inst.toml", _layer(tighter))])
    (lim,) = lib.get("clonidine").limits_for(Bound.CONCENTRATION_MAX, {})
    assert lim.value == Q_("50 mcg/mL") and lim.loosens is None
    assert lim.source == "Institution formulary"


def test_loosening_a_shipped_hard_limit_needs_its_own_source_shown_in_findings() -> None:
    from thecal.adapters.data_files import packaged

    shipped = packaged("drugs.toml")
    (old,) = (
        build_library([(SHIPPED, shipped)]).get("clonidine").limits_for(Bound.CONCENTRATION_MAX, {})
    )
    same = {
        "bound": "concentration_max",
        "value": "1000 mcg/mL",
        "level": "hard",
        "kind": "entry_error",
        "source": old.source,
    }
    with pytest.raises(LibraryError, match="loosens the hard limit"):
        build_library([(SHIPPED, shipped), ("inst.toml", _layer(same))])
    own = dict(same, source="Pharmacy compounding record 2026-04: clonidine 1000 mcg/mL")
    lib = build_library([(SHIPPED, shipped), ("inst.toml", _layer(own))])
    (lim,) = lib.get("clonidine").limits_for(Bound.CONCENTRATION_MAX, {})
    assert lim.value == Q_("1000 mcg/mL") and lim.loosens == old
    # Both sources travel with the limit, so every finding it raises shows them.
    assert lim.source.startswith("Pharmacy compounding record") and old.source in lim.source


def test_an_entry_error_ceiling_cannot_be_soft() -> None:
    soft = {
        "bound": "concentration_max",
        "value": "50 mcg/mL",
        "level": "soft",
        "kind": "entry_error",
        "source": "Institution formulary",
    }
    with pytest.raises(LibraryError, match="always hard"):
        build_library(
            [
                (
                    "inst.toml",
                    {
                        "drugs": [
                            {
                                "name": "x",
                                "class": "opioid",
                                "labelled_for_pump": False,
                                "source": "s",
                                "limits": [soft],
                            }
                        ]
                    },
                )
            ]
        )


def test_synonyms_and_classes(library: DrugLibrary) -> None:
    assert library.get("Prialt").name == "ziconotide"
    assert library.get("infumorph").drug_class is DrugClass.OPIOID
    assert library.get("Gablofen").drug_class is DrugClass.GABA_B_AGONIST
    with pytest.raises(ValueError, match="unknown drug"):
        library.get("oxycodone")


def test_ziconotide_refill_limits_by_condition(library: DrugLibrary) -> None:
    z = library.get("ziconotide")
    by = {lim.when: lim.value for lim in z.limits if lim.bound is Bound.REFILL_INTERVAL_MAX}
    assert by[(("fill", "first"),)] == Q_("14 d")
    assert by[(("dilution", "diluted"),)] == Q_("40 d")
    assert by[(("dilution", "undiluted"),)] == Q_("84 d")
    assert z.dilution(Q_("25 ug/mL")) == "undiluted"
    assert z.dilution(Q_("10 mcg/mL")) == "diluted"


def test_institution_layer_adds_drug_and_overrides_limit(library: DrugLibrary) -> None:
    inst = {
        "drugs": [
            {
                "name": "hydromorphone",
                "limits": [
                    {
                        "bound": "daily_dose_max",
                        "value": "15 mg/d",
                        "level": "hard",
                        "source": "Institution ITDD protocol v3",
                    }
                ],
            },
            {
                "name": "morphine",
                "limits": [
                    {
                        "bound": "daily_dose_max",
                        "value": "15 mg/d",
                        "level": "soft",
                        "source": "Institution ITDD protocol v3",
                    }
                ],
            },
            {
                "name": "sufentanil citrate",
                "class": "opioid",
                "labelled_for_pump": False,
                "source": "Institution formulary",
            },
        ]
    }
    from thecal.adapters.data_files import packaged

    lib = build_library([(SHIPPED, packaged("drugs.toml")), ("inst.toml", inst)])
    h = lib.get("hydromorphone")
    # The institution's hard 15 mg/d is added beside the shipped ceilings (different level or
    # kind keys): the shipped hard 250 mg/d entry-error ceiling is replaced, being the same key.
    daily_hard = [
        (lim.value, lim.source)
        for lim in h.limits
        if lim.bound is Bound.DAILY_DOSE_MAX and lim.level is Level.HARD
    ]
    assert daily_hard == [(Q_("15 mg/d"), "Institution ITDD protocol v3")]
    morphine_soft = [
        lim.value
        for lim in lib.get("morphine").limits
        if lim.bound is Bound.DAILY_DOSE_MAX and lim.level is Level.SOFT and not lim.when
    ]
    # The shipped soft 20 mg/d limit (no condition) is replaced by the institution's 15 mg/d.
    assert morphine_soft == [Q_("15 mg/d")]
    assert lib.get("sufentanil citrate").drug_class is DrugClass.OPIOID
    assert lib.layers == (SHIPPED, "inst.toml")


def test_every_error_is_reported_with_its_location() -> None:
    bad = {
        "settings": {"unlabelled_level": "loud", "refill_margin": "2 mL"},
        "drugs": [
            {"name": "newdrug"},
            {
                "name": "morphine",
                "class": "opioid",
                "labelled_for_pump": True,
                "source": "s",
                "limits": [
                    {"bound": "daily_dose_max", "value": "5 mg", "level": "hard", "source": "x"},
                    {"bound": "speed", "value": "1 mg/d", "level": "hard", "source": "x"},
                    {"bound": "concentration_max", "value": "25 mg/mL", "level": "firm"},
                    {
                        "bound": "daily_dose_max",
                        "value": "5 mg/d",
                        "level": "soft",
                        "source": "x",
                        "when": {"moon": "full"},
                    },
                ],
            },
        ],
    }
    with pytest.raises(LibraryError) as err:
        build_library([("inst.toml", bad)])
    fields = [e.field for e in err.value.errors]
    assert "inst.toml: settings.unlabelled_level" in fields
    assert "inst.toml: settings.refill_margin" in fields
    assert "inst.toml: drugs[0].class" in fields
    assert "inst.toml: drugs[1].limits[0].value" in fields
    assert "inst.toml: drugs[1].limits[1].bound" in fields
    assert "inst.toml: drugs[1].limits[2].level" in fields
    assert "inst.toml: drugs[1].limits[2].source" in fields
    assert "inst.toml: drugs[1].limits[3].when.moon" in fields
    assert "time base" in str(err.value)
