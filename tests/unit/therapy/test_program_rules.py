"""Clinical rules that fire when they should: restart after an interruption, starting doses only
at a start, a drug change at refill, and a program checked against the implanted pump and the
reservoir (issue 10)."""

from dataclasses import replace
from datetime import timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.drug_change import drug_change
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary, LibraryError, build_library
from thecal.therapy.proposal import (
    Interruption,
    Patient,
    PreviousProgram,
    RefillProposal,
)
from thecal.therapy.refill_dates import forecast
from thecal.therapy.reservoir import Fill
from thecal.therapy.restart import restart_findings, restart_proposal
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import Schedule, continuous
from thecal.units import Q_

from .gate_helpers import AT, codes, daily, finding, mix, program

TOLERANT = {"opioid_naive": "false"}


def _gap(hours: float, cause: str = "MRI") -> Interruption:
    return Interruption(AT - timedelta(hours=hours), AT, cause)


def _morphine_restart(
    catalog: DeviceCatalog, library: DrugLibrary, hours: float, new: str = "5 mg/d"
) -> list:  # type: ignore[type-arg]
    """A tolerant patient on morphine 5 mg/d restarts at ``new`` after ``hours`` off."""
    m = mix(library, ("morphine", "10 mg/mL"))
    prev = PreviousProgram(m, daily(m, "morphine", "5 mg/d"), AT - timedelta(days=60))
    p = program(catalog, m, daily(m, "morphine", new), previous=prev, interruption=_gap(hours))
    return [f for f in check(p, library).findings if f.code is Code.RESTART_AFTER_INTERRUPTION]


# --- restart after an interruption -------------------------------------------------------------


def test_shipped_minimum_is_a_labelled_sourced_product_choice(library: DrugLibrary) -> None:
    s = library.settings
    assert s.tolerance_loss_after == Q_("3 d")
    assert "Product choice" in s.tolerance_loss_after_source
    assert "methadone" in s.tolerance_loss_after_source
    assert s.restart_min_interruption is None  # institution data: nothing shipped


def test_two_hour_mri_stop_proposes_no_cut(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    # Review problem 1: a 2 h MRI rotor stop must not propose 5 → 1 mg/d. 2 h < 3 d: the
    # restart at the old dose asks for a clinician's decision (soft), with no proposed dose.
    [f] = _morphine_restart(catalog, library, 2)
    assert f.level is Level.SOFT
    assert f.limit is None  # no reduced dose proposed
    assert "clinician's decision" in f.message and "Proposed restart" not in f.message
    assert "1 mg/d" not in f.message


def test_short_stop_restarting_below_the_old_dose_is_already_decided(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # 4 mg/d < 5 mg/d: the clinician has already reduced the dose.
    assert _morphine_restart(catalog, library, 2, new="4 mg/d") == []


def test_long_interruption_proposes_the_opioid_naive_range(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # 10 d ≥ 3 d: as before — proposed restart at the labelled opioid-naive maximum, 1 mg/d.
    [f] = _morphine_restart(catalog, library, 240)
    assert f.level is Level.SOFT and f.limit == Q_("1 mg/d")
    assert "Proposed restart: 1 mg/d" in f.message and "methadone" in f.source


def test_shipped_minimum_edge_counts_at_exactly_three_days(library: DrugLibrary) -> None:
    morphine = library.get("morphine")
    at_edge = restart_proposal(morphine, Q_("5 mg/d"), _gap(72), library.settings)
    assert at_edge is not None and at_edge.proposed_daily == Q_("1 mg/d")
    # 72 h − 1 s is shorter: no cut, a clinician's decision.
    just_under = Interruption(AT - timedelta(hours=72) + timedelta(seconds=1), AT, "pump stop")
    under = restart_proposal(morphine, Q_("5 mg/d"), just_under, library.settings)
    assert under is not None and under.proposed_daily is None and under.decision_only


def test_institution_minimum_replaces_the_default(library: DrugLibrary) -> None:
    settings = replace(
        library.settings,
        restart_min_interruption=Q_("24 h"),
        restart_min_interruption_source="Institution protocol IT-7",
    )
    morphine = library.get("morphine")
    # 2 h < 24 h: not counted at all.
    assert restart_proposal(morphine, Q_("5 mg/d"), _gap(2), settings) is None
    assert restart_findings(morphine, Q_("5 mg/d"), Q_("5 mg/d"), _gap(2), settings) == []
    # Exactly 24 h counts: restart at min(5, 1) = 1 mg/d, with the institution's source.
    edge = restart_proposal(morphine, Q_("5 mg/d"), _gap(24), settings)
    assert edge is not None and edge.proposed_daily == Q_("1 mg/d")
    assert "IT-7" in edge.source


def test_non_opioids_get_no_restart_finding(library: DrugLibrary) -> None:
    zic = library.get("ziconotide")
    assert restart_proposal(zic, Q_("2 mcg/d"), _gap(240), library.settings) is None


@pytest.mark.parametrize("key", ["restart_min_interruption", "tolerance_loss_after"])
def test_a_restart_minimum_needs_its_own_source(key: str) -> None:
    with pytest.raises(LibraryError, match=f"{key}_source"):
        build_library([("inst.toml", {"settings": {key: "1 d"}})])


def test_a_restart_minimum_must_be_a_duration() -> None:
    with pytest.raises(LibraryError, match="restart_min_interruption"):
        build_library(
            [
                (
                    "inst.toml",
                    {
                        "settings": {
                            "restart_min_interruption": "2 mL",
                            "restart_min_interruption_source": "x",
                        }
                    },
                )
            ]
        )


# --- starting doses only at a start ------------------------------------------------------------


def _ziconotide(library: DrugLibrary, dose: str):  # type: ignore[no-untyped-def]
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    return m, daily(m, "ziconotide", dose)


def test_maintenance_refill_without_previous_is_not_a_start(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Review problem 2: years of refills at 3.6 mcg/d must not raise the 2.4 mcg/d start limit.
    m, s = _ziconotide(library, "3.6 mcg/d")
    result = check(program(catalog, m, s, start=False), library)
    assert Code.START_DOSE_ABOVE_LIMIT.value not in codes(result)
    unknown = finding(result, Code.PREVIOUS_PROGRAM_UNKNOWN)
    assert unknown.level is Level.INFO and "not recorded" in unknown.message


def test_start_not_stated_shows_the_start_limit_as_information(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m, s = _ziconotide(library, "3.6 mcg/d")
    result = check(program(catalog, m, s, start=None), library)
    f = finding(result, Code.START_DOSE_ABOVE_LIMIT)
    assert f.level is Level.INFO and "soft limit" in f.message
    assert Code.PREVIOUS_PROGRAM_UNKNOWN.value in codes(result)


def test_start_limit_edge_at_a_start(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    # 2.4 mcg/d is the limit itself: allowed. 2.5 mcg/d is above: soft.
    m, s = _ziconotide(library, "2.4 mcg/d")
    assert Code.START_DOSE_ABOVE_LIMIT.value not in codes(
        check(program(catalog, m, s, start=True), library)
    )
    m, s = _ziconotide(library, "2.5 mcg/d")
    f = finding(check(program(catalog, m, s, start=True), library), Code.START_DOSE_ABOVE_LIMIT)
    assert f.level is Level.SOFT and f.limit == Q_("2.4 mcg/d")
    assert Code.PREVIOUS_PROGRAM_UNKNOWN.value not in codes(
        check(program(catalog, m, s, start=True), library)
    )


def test_a_drug_new_to_the_previous_program_is_a_start(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Morphine ran before; ziconotide is added at 3.6 mcg/d: its start limit applies even
    # though the program is not marked as a start.
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "10 mg/mL"), ("ziconotide", "25 mcg/mL"))
    prev = PreviousProgram(old, daily(old, "morphine", "3 mg/d"), AT - timedelta(days=30))
    p = program(catalog, new, daily(new, "ziconotide", "3.6 mcg/d"), previous=prev, start=False)
    f = finding(check(p, library), Code.START_DOSE_ABOVE_LIMIT)
    assert f.level is Level.SOFT and f.drug == "ziconotide"


# --- a drug change at refill -------------------------------------------------------------------

# The pump's internal volume is not public: 0.25 mL below is a TEST value, not a labelled one.
INTERNAL = Q_("0.25 mL")


def test_drug_change_reports_old_opioid_dose_and_delay(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Morphine 25 mg/mL → hydromorphone 2 mg/mL at 0.5 mL/d. Dead volume = 0.25 + 0.2 = 0.45 mL.
    # Morphine meanwhile = 25 mg/mL × 0.5 mL/d = 12.5 mg/d (above the 10 mg/d tolerant limit:
    # soft, an opioid over its limit), in total 25 × 0.45 = 11.25 mg; delay = 0.45 ÷ 0.5 d =
    # 0.9 d = 21.6 h.
    old = mix(library, ("morphine", "25 mg/mL"))
    new = mix(library, ("hydromorphone", "2 mg/mL"))
    pump = catalog.pump("SynchroMed II 8637-20")
    out = drug_change(old, new, Q_("0.5 mL/d"), pump, Q_("0.2 mL"), TOLERANT, INTERNAL)
    assert out is not None
    assert out.dead_volume == Q_("0.45 mL")
    assert out.delay is not None and out.delay.to("h").magnitude == pytest.approx(21.6)
    assert out.old_dose_rates["morphine"].to("mg/d").magnitude == pytest.approx(12.5)
    assert out.old_doses is not None
    assert out.old_doses["morphine"].to("mg").magnitude == pytest.approx(11.25)
    morphine = [f for f in out.findings if f.drug == "morphine"]
    assert [f.level for f in morphine] == [Level.SOFT]
    assert morphine[0].limit == Q_("10 mg/d") and "old concentration" in morphine[0].message
    arrival = [f for f in out.findings if f.drug is None]
    assert arrival[0].level is Level.INFO and "hydromorphone" in arrival[0].message


def test_drug_change_below_limits_is_information(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Morphine 10 mg/mL at 0.3 mL/d = 3 mg/d meanwhile: within every tolerant limit → info.
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("hydromorphone", "2 mg/mL"))
    pump = catalog.pump("SynchroMed II 8637-20")
    out = drug_change(old, new, Q_("0.3 mL/d"), pump, Q_("0.2 mL"), TOLERANT, INTERNAL)
    assert out is not None and all(f.level is Level.INFO for f in out.findings)
    assert all(f.code is Code.DRUG_CHANGE_CLEARING for f in out.findings)


def test_drug_change_with_unknown_dead_volume_still_gives_the_rate(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # No internal volume in the catalog, none entered: rate known (12.5 mg/d), delay not.
    old = mix(library, ("morphine", "25 mg/mL"))
    new = mix(library, ("hydromorphone", "2 mg/mL"))
    pump = catalog.pump("SynchroMed II 8637-20")
    out = drug_change(old, new, Q_("0.5 mL/d"), pump, Q_("0.2 mL"), TOLERANT)
    assert out is not None and out.dead_volume is None and out.delay is None
    assert out.old_dose_rates["morphine"].to("mg/d").magnitude == pytest.approx(12.5)
    assert "not public" in out.dead_volume_formula
    assert any(f.level is Level.SOFT for f in out.findings)


def test_same_drugs_are_not_a_drug_change(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "25 mg/mL"))  # a concentration change: bridge_bolus's job
    pump = catalog.pump("SynchroMed II 8637-20")
    assert drug_change(old, new, Q_("0.5 mL/d"), pump, Q_("0.2 mL"), TOLERANT, INTERNAL) is None


def _drug_change_refill(catalog: DeviceCatalog, library: DrugLibrary) -> RefillProposal:
    old = mix(library, ("morphine", "25 mg/mL"))
    new = mix(library, ("hydromorphone", "2 mg/mL"))
    pump = replace(catalog.pump("SynchroMed II 8637-20"), internal_volume=INTERNAL)
    prev = PreviousProgram(old, Schedule(continuous(Q_("0.2 mL/d"))), AT - timedelta(days=30))
    prog = replace(
        program(catalog, new, Schedule(continuous(Q_("0.5 mL/d"))), previous=prev),
        pump=pump,
        catheter_volume=Q_("0.2 mL"),
    )
    return RefillProposal(prog, Fill(Q_("20 mL"), AT))


def test_refill_gate_reports_the_drug_change(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    result = check(_drug_change_refill(catalog, library), library)
    f = finding(result, Code.DRUG_CHANGE_CLEARING)
    assert f.level is Level.SOFT and f.drug == "morphine"  # 12.5 mg/d > 10 mg/d, as above


def test_refill_dates_count_the_old_fluid_once(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # The new fluid leaving the reservoir pushes the old fluid out: the reservoir drains at
    # 0.5 mL/d from the fill either way. Alarm (2 mL) after (20 − 2) ÷ 0.5 = 36 d; empty after
    # 20 ÷ 0.5 = 40 d — the same with or without a drug change (never 0.45 mL less).
    p = _drug_change_refill(catalog, library)
    prog = p.program
    fc = forecast(
        p.fill, prog.schedule, prog.pump, None, None, prog.admixture, library
    )  # fmt: skip
    assert fc.low_alarm_nominal == AT + timedelta(days=36)
    assert fc.empty_nominal == AT + timedelta(days=40)


# --- a program checked against the pump and the reservoir ------------------------------------


def test_program_for_another_pump_model_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    p = program(catalog, m, daily(m, "morphine", "3 mg/d"), implanted_model="Prometra II 20 mL")
    f = finding(check(p, library), Code.PUMP_MODEL_MISMATCH)
    assert f.level is Level.HARD and "Prometra II 20 mL" in f.message
    same = program(
        catalog, m, daily(m, "morphine", "3 mg/d"), implanted_model=" synchromed ii 8637-20 "
    )
    assert Code.PUMP_MODEL_MISMATCH.value not in codes(check(same, library))


def test_program_for_another_concentration_than_the_reservoir_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Program for 25 mg/mL at 5 mg/d = 0.2 mL/d; the reservoir holds 10 mg/mL, so the pump
    # would deliver 0.2 mL/d × 10 mg/mL = 2 mg/d.
    held = mix(library, ("morphine", "10 mg/mL"))
    m = mix(library, ("morphine", "25 mg/mL"))
    p = program(catalog, m, daily(m, "morphine", "5 mg/d"), reservoir_admixture=held)
    f = finding(check(p, library), Code.RESERVOIR_ADMIXTURE_MISMATCH)
    assert f.level is Level.HARD and "morphine 2 mg/d instead of 5 mg/d" in f.message
    # The reservoir's own concentration: nothing to say.
    ok = program(catalog, held, daily(held, "morphine", "5 mg/d"), reservoir_admixture=held)
    assert Code.RESERVOIR_ADMIXTURE_MISMATCH.value not in codes(check(ok, library))


def test_program_on_an_empty_reservoir_raises_restart_tolerance(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Review problem 4: morphine 5 mg/d, reservoir expected empty 5 d before the change
    # (5 d ≥ 3 d): restarting at 5 mg/d → soft, proposed 1 mg/d.
    m = mix(library, ("morphine", "10 mg/mL"))
    s = daily(m, "morphine", "5 mg/d")
    prev = PreviousProgram(m, s, AT - timedelta(days=60))
    p = program(catalog, m, s, previous=prev, reservoir_empty_since=AT - timedelta(days=5))
    f = finding(check(p, library), Code.RESTART_AFTER_INTERRUPTION)
    assert f.level is Level.SOFT and f.limit == Q_("1 mg/d") and "120 h" in f.message
    # Empty exactly at the change: 0 h, a clinician's decision without a cut.
    now = program(catalog, m, s, previous=prev, reservoir_empty_since=AT)
    g = finding(check(now, library), Code.RESTART_AFTER_INTERRUPTION)
    assert g.level is Level.SOFT and g.limit is None
    # Expected to run dry only after the change: nothing.
    later = program(catalog, m, s, previous=prev, reservoir_empty_since=AT + timedelta(hours=1))
    assert Code.RESTART_AFTER_INTERRUPTION.value not in codes(check(later, library))


def test_recorded_interruption_wins_over_the_reservoir_state(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    s = daily(m, "morphine", "5 mg/d")
    prev = PreviousProgram(m, s, AT - timedelta(days=60))
    p = program(
        catalog, m, s, previous=prev, interruption=_gap(240),
        reservoir_empty_since=AT - timedelta(hours=2), patient=Patient(opioid_naive=False),
    )  # fmt: skip
    restart = [f for f in check(p, library).findings if f.code is Code.RESTART_AFTER_INTERRUPTION]
    assert len(restart) == 1 and restart[0].limit == Q_("1 mg/d")
