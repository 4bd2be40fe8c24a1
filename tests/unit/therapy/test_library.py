import pytest

from thecal.therapy.drugs import Bound, DrugClass
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


def test_off_label_drugs_ship_without_limits(library: DrugLibrary) -> None:
    # PACC limits are not public (clinical.md §5): nothing may be invented.
    for name in ("hydromorphone", "bupivacaine", "fentanyl", "sufentanil", "clonidine"):
        assert library.get(name).limits == ()


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
    assert [(lim.value, lim.level) for lim in h.limits] == [(Q_("15 mg/d"), Level.HARD)]
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
