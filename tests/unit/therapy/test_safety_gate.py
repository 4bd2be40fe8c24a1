"""One test per safety-gate code: the finding appears when its rule is broken (and not when
it is kept), with the right level and a source."""

from datetime import timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level, OverrideError, check_overrides
from thecal.therapy.library import DrugLibrary, build_library
from thecal.therapy.proposal import BolusProposal, Interruption, Patient, PreviousProgram
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import patient_bolus
from thecal.units import Q_

from .gate_helpers import AT, codes, daily, finding, flex, mix, program


def test_clean_labelled_morphine_program_has_no_blocking_finding(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    result = check(program(catalog, m, daily(m, "morphine", "5 mg/d")), library)
    assert not result.blocked
    assert not result.needs_reason
    # Starting morphine: the monitoring advice is shown as info.
    assert codes(result) == [Code.OBSERVE_AFTER_INCREASE.value]


def test_concentration_above_the_strongest_that_exists_is_an_entry_error(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("morphine", "30 mg/mL"))
    f = finding(
        check(program(catalog, m, daily(m, "morphine", "5 mg/d")), library),
        Code.CONCENTRATION_ENTRY_ERROR,
    )
    assert f.level is Level.HARD
    assert f.limit == Q_("25 mg/mL")
    assert "Infumorph" in f.source
    assert f.message.startswith("Entry error?")


def test_concentration_above_an_institution_clinical_limit(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    inst = build_library(
        [
            ("shipped", _shipped()),
            (
                "inst",
                {
                    "drugs": [
                        {
                            "name": "morphine",
                            "limits": [
                                {
                                    "bound": "concentration_max",
                                    "value": "20 mg/mL",
                                    "level": "soft",
                                    "source": "Institution ITDD protocol: granuloma risk",
                                }
                            ],
                        }
                    ]
                },
            ),
        ]
    )
    m = mix(inst, ("morphine", "25 mg/mL"))
    f = finding(
        check(program(catalog, m, daily(m, "morphine", "5 mg/d")), inst),
        Code.CONCENTRATION_ABOVE_LIMIT,
    )
    assert f.level is Level.SOFT and f.limit == Q_("20 mg/mL")


def test_daily_dose_above_limit_opioid_naive(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    p = program(catalog, m, daily(m, "morphine", "1.5 mg/d"), patient=Patient(opioid_naive=True))
    f = finding(check(p, library), Code.DAILY_DOSE_ABOVE_LIMIT)
    assert f.level is Level.SOFT
    assert f.value.to("mg/d").magnitude == pytest.approx(1.5)
    assert f.limit == Q_("1 mg/d")
    # The same dose for a tolerant patient is within the labelled 1–10 mg/d range.
    p2 = program(catalog, m, daily(m, "morphine", "1.5 mg/d"), patient=Patient(opioid_naive=False))
    assert Code.DAILY_DOSE_ABOVE_LIMIT.value not in codes(check(p2, library))


def test_ziconotide_eu_maximum_is_hard(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    result = check(program(catalog, m, daily(m, "ziconotide", "22 mcg/d")), library)
    levels = {
        round(f.limit.to("ug/d").magnitude, 6): f.level
        for f in result.findings
        if f.code is Code.DAILY_DOSE_ABOVE_LIMIT
    }
    # 22 > 19.2 (US, soft) and 22 > 21.6 (EU, hard)
    assert levels == {19.2: Level.SOFT, 21.6: Level.HARD}
    assert result.blocked


def test_worst_case_daily_dose_with_patient_boluses(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    # basal 18 mg/d = 1.8 mL/d; bolus 0.5 mg = 0.05 mL, lockout 4 h → ceil(24/4) = 6, max 6 a day
    # worst case 18 + 6 × 0.5 = 21 mg/d > 20 mg/d (soft "caution" limit); nominal 18 < 20.
    bolus = patient_bolus(Q_("0.05 mL"), Q_("10 min"), Q_("4 h"), 6)
    result = check(program(catalog, m, daily(m, "morphine", "18 mg/d"), bolus=bolus), library)
    f = finding(result, Code.WORST_CASE_DAILY_DOSE_ABOVE_LIMIT)
    assert f.value.to("mg/d").magnitude == pytest.approx(21.0)
    nominal = [f for f in result.findings if f.code is Code.DAILY_DOSE_ABOVE_LIMIT]
    # Only the 10 mg/d "usual range" info fires on the nominal dose, not the 20 mg/d limit.
    assert [(f.level, f.limit) for f in nominal] == [(Level.INFO, Q_("10 mg/d"))]


def test_start_dose_above_limit(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    f = finding(
        check(program(catalog, m, daily(m, "ziconotide", "3.6 mcg/d")), library),
        Code.START_DOSE_ABOVE_LIMIT,
    )
    assert f.level is Level.SOFT and f.limit == Q_("2.4 mcg/d")


def _previous(
    library: DrugLibrary,
    drug: str,
    conc: str,
    dose: str,
    hours_ago: float,
    increases: tuple[float, ...] = (),
) -> PreviousProgram:
    m = mix(library, (drug, conc))
    return PreviousProgram(
        m,
        daily(m, drug, dose),
        AT - timedelta(hours=hours_ago),
        earlier_increases=tuple(AT - timedelta(hours=h) for h in increases),
    )


def test_ziconotide_titration_step_too_large_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    prev = _previous(library, "ziconotide", "25 mcg/mL", "2.4 mcg/d", hours_ago=72)
    # 2.4 → 6.0 mcg/d is a step of 3.6 mcg/d > 2.4 mcg/d
    result = check(program(catalog, m, daily(m, "ziconotide", "6 mcg/d"), previous=prev), library)
    f = finding(result, Code.TITRATION_STEP_ABOVE_LIMIT)
    assert f.level is Level.HARD
    assert f.value.to("ug/d").magnitude == pytest.approx(3.6)
    assert result.blocked
    ok = check(program(catalog, m, daily(m, "ziconotide", "4.8 mcg/d"), previous=prev), library)
    assert not ok.blocked


def test_ziconotide_increase_too_soon(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    new = daily(m, "ziconotide", "4.8 mcg/d")
    soon = _previous(library, "ziconotide", "25 mcg/mL", "2.4 mcg/d", hours_ago=12)
    found = [
        f
        for f in check(program(catalog, m, new, previous=soon), library).findings
        if f.code is Code.TITRATION_TOO_SOON
    ]
    # 12 h < 24 h (hard, EU minimum) and < 48 h (soft, EU recommendation)
    assert sorted(f.level.value for f in found) == ["hard", "soft"]
    mid = _previous(library, "ziconotide", "25 mcg/mL", "2.4 mcg/d", hours_ago=30)
    found = [
        f
        for f in check(program(catalog, m, new, previous=mid), library).findings
        if f.code is Code.TITRATION_TOO_SOON
    ]
    assert [f.level for f in found] == [Level.SOFT]


def test_ziconotide_too_many_increases_per_week(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    prev = _previous(
        library, "ziconotide", "25 mcg/mL", "4.8 mcg/d", hours_ago=50, increases=(50, 100, 150)
    )
    # three increases in the last 7 days + this one = 4 > 3
    f = finding(
        check(program(catalog, m, daily(m, "ziconotide", "7.2 mcg/d"), previous=prev), library),
        Code.TITRATION_TOO_FREQUENT,
    )
    assert f.value.magnitude == 4 and f.level is Level.SOFT


def test_baclofen_percent_step_depends_on_origin(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("baclofen", "500 mcg/mL"))
    prev = _previous(library, "baclofen", "500 mcg/mL", "200 mcg/d", hours_ago=48)
    # 200 → 240 mcg/d = +20 %: inside 30 % (spinal), outside 15 % (cerebral)
    new = daily(m, "baclofen", "240 mcg/d")
    spinal = check(
        program(catalog, m, new, previous=prev, patient=Patient(spasticity_origin="spinal")),
        library,
    )
    cerebral = check(
        program(catalog, m, new, previous=prev, patient=Patient(spasticity_origin="cerebral")),
        library,
    )
    assert Code.TITRATION_PERCENT_ABOVE_LIMIT.value not in codes(spinal)
    f = finding(cerebral, Code.TITRATION_PERCENT_ABOVE_LIMIT)
    assert f.value.to("percent").magnitude == pytest.approx(20.0)


def test_opioid_patient_bolus_for_opioid_naive_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    bolus = patient_bolus(Q_("0.01 mL"), Q_("10 min"), Q_("6 h"), 2)
    result = check(
        program(
            catalog,
            m,
            daily(m, "morphine", "0.5 mg/d"),
            bolus=bolus,
            patient=Patient(opioid_naive=True),
        ),
        library,
    )
    f = finding(result, Code.OPIOID_BOLUS_OPIOID_NAIVE)
    assert f.level is Level.HARD and result.blocked
    with pytest.raises(OverrideError, match="cannot be overridden"):
        check_overrides(result.findings, {f.code.value: "patient insists"})


def test_opioid_status_unknown_needs_a_reason(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    bolus = patient_bolus(Q_("0.01 mL"), Q_("10 min"), Q_("6 h"), 2)
    result = check(
        program(
            catalog,
            m,
            daily(m, "morphine", "2 mg/d"),
            bolus=bolus,
            patient=Patient(opioid_naive=None),
        ),
        library,
    )
    f = finding(result, Code.OPIOID_STATUS_UNKNOWN)
    assert f.level is Level.SOFT
    with pytest.raises(OverrideError, match="reason is required"):
        check_overrides(result.findings, {})
    check_overrides(result.findings, {f.code.value: "on 120 mg/d oral morphine for months"})


def test_unlabelled_admixture_is_info_by_default_soft_when_configured(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("hydromorphone", "10 mg/mL"), ("bupivacaine", "10 mg/mL"))
    p = program(catalog, m, daily(m, "hydromorphone", "1.999 mg/d"))
    f = finding(check(p, library), Code.NOT_LABELLED_FOR_PUMP)
    assert f.level is Level.INFO and "FDA" in f.source
    assert "mixture" in f.message
    strict = build_library(
        [
            (
                "shipped",
                {
                    "drugs": [],
                    "settings": {
                        "unlabelled_level": "soft",
                        "unlabelled_source": "Institution policy",
                    },
                },
            ),
        ]
    )
    strict = type(library)(library.drugs, strict.settings)
    assert finding(check(p, strict), Code.NOT_LABELLED_FOR_PUMP).level is Level.SOFT


def test_external_trial_pump_is_not_held_to_implant_labelling(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("hydromorphone", "0.1 mg/mL"), ("bupivacaine", "0.1 mg/mL"))
    p = program(catalog, m, flex(("00:00", "0.5 mL/h")), pump="Curlin 6000 CMS")
    assert Code.NOT_LABELLED_FOR_PUMP.value not in codes(check(p, library))


def test_rate_below_pump_minimum_is_hard(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("morphine", "25 mg/mL"))
    # 0.5 mg/d ÷ 25 mg/mL = 0.02 mL/d < 0.048 mL/d
    f = finding(
        check(program(catalog, m, daily(m, "morphine", "0.5 mg/d")), library),
        Code.RATE_BELOW_PUMP_MINIMUM,
    )
    assert f.level is Level.HARD
    assert f.value.to("mL/d").magnitude == pytest.approx(0.02)


def test_rate_above_pump_maximum_is_hard(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("bupivacaine", "1 mg/mL"))
    f = finding(
        check(program(catalog, m, flex(("00:00", "450 mL/h")), pump="Curlin 6000 CMS"), library),
        Code.RATE_ABOVE_PUMP_MAXIMUM,
    )
    assert f.limit == Q_("400 mL/h")


def test_too_many_flex_steps_for_pump(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    steps = [(f"{h:02d}:00", "0.5 mL/d") for h in range(14)]
    f = finding(check(program(catalog, m, flex(*steps)), library), Code.FLEX_TOO_MANY_STEPS)
    assert f.value.magnitude == 14 and f.limit.magnitude == 13


def test_bolus_dose_and_count_limits_from_institution_library(catalog: DeviceCatalog) -> None:
    lib = build_library(
        [
            (
                "inst.toml",
                {
                    "drugs": [
                        {
                            "name": "morphine",
                            "class": "opioid",
                            "labelled_for_pump": True,
                            "source": "s",
                            "limits": [
                                {
                                    "bound": "bolus_dose_max",
                                    "value": "0.5 mg",
                                    "level": "hard",
                                    "source": "Inst.",
                                },
                                {
                                    "bound": "boluses_per_day_max",
                                    "value": 4,
                                    "level": "soft",
                                    "source": "Inst.",
                                },
                            ],
                        }
                    ]
                },
            )
        ]
    )
    m = mix(lib, ("morphine", "10 mg/mL"))
    # 0.1 mL × 10 mg/mL = 1 mg per bolus > 0.5 mg; lockout 3 h → 8 a day, max 10 → 8 > 4
    bolus = patient_bolus(Q_("0.1 mL"), Q_("10 min"), Q_("3 h"), 10)
    result = check(program(catalog, m, daily(m, "morphine", "5 mg/d"), bolus=bolus), lib)
    assert finding(result, Code.BOLUS_DOSE_ABOVE_LIMIT).value.to("mg").magnitude == pytest.approx(1)
    assert finding(result, Code.BOLUSES_PER_DAY_ABOVE_LIMIT).value.magnitude == 8
    clinician = BolusProposal(
        m,
        Q_("0.1 mL"),
        Q_("10 min"),
        catalog.pump("SynchroMed II 8637-20"),
        AT,
        Patient(opioid_naive=False),
    )
    assert finding(check(clinician, lib), Code.BOLUS_DOSE_ABOVE_LIMIT).level is Level.HARD


def test_bolus_larger_than_reservoir(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("baclofen", "500 mcg/mL"))
    p = BolusProposal(m, Q_("25 mL"), Q_("1 h"), catalog.pump("SynchroMed II 8637-20"), AT)
    assert finding(check(p, library), Code.FILL_EXCEEDS_RESERVOIR).level is Level.HARD


def test_restart_after_interruption_proposes_reduced_dose(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    prev = _previous(library, "morphine", "10 mg/mL", "8 mg/d", hours_ago=24 * 40)
    gap = Interruption(AT - timedelta(days=5), AT, "reservoir ran empty")
    result = check(
        program(catalog, m, daily(m, "morphine", "8 mg/d"), previous=prev, interruption=gap),
        library,
    )
    f = finding(result, Code.RESTART_AFTER_INTERRUPTION)
    assert f.level is Level.SOFT
    # No institution rule: propose the labelled opioid-naive maximum, 1 mg/d.
    assert f.limit.to("mg/d").magnitude == pytest.approx(1.0)
    assert "Ruan" in f.source
    low = check(
        program(catalog, m, daily(m, "morphine", "1 mg/d"), previous=prev, interruption=gap),
        library,
    )
    assert Code.RESTART_AFTER_INTERRUPTION.value not in codes(low)


def test_restart_rule_from_institution(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    inst = build_library(
        [
            (
                "i",
                {
                    "drugs": [],
                    "settings": {
                        "restart_rules": [
                            {
                                "min_interruption": "2 d",
                                "restart_fraction": "50 %",
                                "source": "Inst. protocol 7",
                            },
                        ]
                    },
                },
            )
        ]
    )
    lib = type(library)(library.drugs, inst.settings)
    m = mix(lib, ("morphine", "10 mg/mL"))
    prev = _previous(lib, "morphine", "10 mg/mL", "8 mg/d", hours_ago=24 * 40)
    long_gap = Interruption(AT - timedelta(days=3), AT, "pump stopped")
    f = finding(
        check(
            program(
                catalog, m, daily(m, "morphine", "8 mg/d"), previous=prev, interruption=long_gap
            ),
            lib,
        ),
        Code.RESTART_AFTER_INTERRUPTION,
    )
    # 50 % of 8 mg/d = 4 mg/d
    assert f.limit.to("mg/d").magnitude == pytest.approx(4.0)
    short_gap = Interruption(AT - timedelta(hours=12), AT, "pump stopped")
    result = check(
        program(catalog, m, daily(m, "morphine", "8 mg/d"), previous=prev, interruption=short_gap),
        lib,
    )
    assert Code.RESTART_AFTER_INTERRUPTION.value not in codes(result)


def test_baclofen_interruption_warns_of_withdrawal(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("baclofen", "500 mcg/mL"))
    prev = _previous(library, "baclofen", "500 mcg/mL", "300 mcg/d", hours_ago=24 * 30)
    gap = Interruption(AT - timedelta(hours=10), AT, "catheter disconnected")
    result = check(
        program(catalog, m, daily(m, "baclofen", "300 mcg/d"), previous=prev, interruption=gap),
        library,
    )
    f = finding(result, Code.WITHDRAWAL_RISK)
    assert f.level is Level.INFO and "rhabdomyolysis" in f.message
    assert Code.RESTART_AFTER_INTERRUPTION.value not in codes(result)  # not an opioid


def test_findings_are_ordered_hard_soft_info(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    m = mix(library, ("ziconotide", "25 mcg/mL"), ("bupivacaine", "10 mg/mL"))
    result = check(program(catalog, m, daily(m, "ziconotide", "22 mcg/d")), library)
    ranks = [f.level.rank for f in result.findings]
    assert ranks == sorted(ranks) and len(set(ranks)) == 3
    assert all(f.source for f in result.findings)


def _shipped() -> dict[str, object]:
    from thecal.adapters.data_files import packaged

    return packaged("drugs.toml")
