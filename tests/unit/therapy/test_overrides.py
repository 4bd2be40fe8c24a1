"""Who may give the reason a soft finding needs: a physician for loss of opioid tolerance and
for opioid dose findings, any clinician for the rest (thecal.therapy.overrides)."""

from datetime import timedelta

import pytest

from tests.unit.therapy.gate_helpers import AT, daily, finding, mix, program
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import (
    Code,
    Finding,
    Level,
    OverrideError,
    OverrideNotAllowed,
    Overrider,
    check_overrides,
)
from thecal.therapy.library import DrugLibrary
from thecal.therapy.overrides import OPIOID_DOSE, already_decided, classify
from thecal.therapy.proposal import Interruption, Patient, PreviousProgram
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import patient_bolus
from thecal.units import Q_

NURSE = frozenset({Overrider.CLINICIAN})
PHYSICIAN = frozenset(Overrider)


def _restart(library: DrugLibrary, catalog: DeviceCatalog) -> tuple[Finding, ...]:
    # Morphine 8 mg/d stopped 5 days: restarting at 8 mg/d is above the 1 mg/d opioid-naive
    # proposal, so the gate asks for a reason (soft RESTART-TOLERANCE).
    m = mix(library, ("morphine", "10 mg/mL"))
    prev = PreviousProgram(m, daily(m, "morphine", "8 mg/d"), AT - timedelta(days=40))
    gap = Interruption(AT - timedelta(days=5), AT, "reservoir ran empty")
    p = program(catalog, m, daily(m, "morphine", "8 mg/d"), previous=prev, interruption=gap)
    return check(p, library).findings


def test_restart_after_interruption_needs_a_physician(library, catalog) -> None:
    findings = _restart(library, catalog)
    f = next(f for f in findings if f.code is Code.RESTART_AFTER_INTERRUPTION)
    assert f.level is Level.SOFT and f.override_by is Overrider.PHYSICIAN
    assert f.to_json()["override_by"] == "physician"
    soft = {f.code.value: "restart decided with the patient" for f in findings
            if f.level is Level.SOFT}  # fmt: skip
    with pytest.raises(OverrideNotAllowed) as exc:
        check_overrides(findings, soft, NURSE)
    assert str(exc.value) == "a physician must give the reason for RESTART-TOLERANCE"
    # No reason at all: the nurse still hears that it is the physician's decision.
    with pytest.raises(OverrideNotAllowed, match="physician must give the reason"):
        check_overrides(findings, {}, NURSE)
    check_overrides(findings, soft, PHYSICIAN)
    check_overrides(findings, soft)  # default: any overrider (CLI, programmer)


def test_opioid_daily_dose_needs_a_physician(library, catalog) -> None:
    # Opioid-naive patient, morphine 2 mg/d > the 1 mg/d opioid-naive limit (soft).
    m = mix(library, ("morphine", "10 mg/mL"))
    p = program(catalog, m, daily(m, "morphine", "2 mg/d"), patient=Patient(opioid_naive=True))
    result = check(p, library)
    f = finding(result, Code.DAILY_DOSE_ABOVE_LIMIT)
    assert f.level is Level.SOFT and f.override_by is Overrider.PHYSICIAN
    reasons = {"DOSE-DAILY-MAX": "tolerant on oral opioids, record not updated"}
    with pytest.raises(OverrideNotAllowed, match="physician must give the reason for DOSE-DAILY"):
        check_overrides(result.findings, reasons, NURSE)
    check_overrides(result.findings, reasons, PHYSICIAN)


def test_worst_case_and_opioid_status_unknown_need_a_physician(library, catalog) -> None:
    m = mix(library, ("morphine", "10 mg/mL"))
    # As in the gate test: 18 mg/d + 6 x 0.5 mg = 21 mg/d worst case > 20 mg/d (soft);
    # opioid status unknown with an opioid patient bolus (soft).
    bolus = patient_bolus(Q_("0.05 mL"), Q_("10 min"), Q_("4 h"), 6)
    p = program(catalog, m, daily(m, "morphine", "18 mg/d"), bolus=bolus, patient=Patient())
    result = check(p, library)
    for code in (Code.WORST_CASE_DAILY_DOSE_ABOVE_LIMIT, Code.OPIOID_STATUS_UNKNOWN):
        assert finding(result, code).override_by is Overrider.PHYSICIAN
    with pytest.raises(
        OverrideNotAllowed,
        match=r"^a physician must give the reason for DOSE-WORST-CASE-MAX, PTB-OPIOID-STATUS",
    ):
        check_overrides(result.findings, {}, NURSE)


def test_non_opioid_dose_findings_any_clinician(library, catalog) -> None:
    # Ziconotide 3.6 mcg/d started > 2.4 mcg/d start limit (soft): not an opioid.
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    result = check(program(catalog, m, daily(m, "ziconotide", "3.6 mcg/d")), library)
    f = finding(result, Code.START_DOSE_ABOVE_LIMIT)
    assert f.override_by is Overrider.CLINICIAN and f.to_json()["override_by"] == "clinician"
    check_overrides(result.findings, {"DOSE-START-MAX": "titrated on the trial pump"}, NURSE)


def test_mixture_marks_each_drug_by_its_class(library, catalog) -> None:
    # Morphine 10 mg/mL + ziconotide 25 mcg/mL at 2.5 mL/d: morphine 25 mg/d > 20 mg/d (soft)
    # and ziconotide 62.5 mcg/d > 19.2 mcg/d (soft; and > 21.6 hard, which only blocks).
    m = mix(library, ("morphine", "10 mg/mL"), ("ziconotide", "25 mcg/mL"))
    result = check(program(catalog, m, daily(m, "morphine", "25 mg/d")), library)
    by_drug = {(f.drug, f.limit.to_base_units().magnitude if f.limit is not None else None):
               f.override_by for f in result.findings
               if f.code is Code.DAILY_DOSE_ABOVE_LIMIT and f.level is Level.SOFT}  # fmt: skip
    assert {d for d, _ in by_drug} == {"morphine", "ziconotide"}
    assert all(
        who is (Overrider.PHYSICIAN if drug == "morphine" else Overrider.CLINICIAN)
        for (drug, _), who in by_drug.items()
    )


def test_hard_and_info_findings_say_nobody_overrides() -> None:
    for level in (Level.HARD, Level.INFO):
        f = Finding(level, Code.DAILY_DOSE_ABOVE_LIMIT, "m", "s", "morphine")
        assert "override_by" not in f.to_json()
    # A hard stop is refused before anyone's right to give a reason is considered.
    hard = Finding(Level.HARD, Code.FILL_EMPTY, "m", "s")
    soft = Finding(Level.SOFT, Code.RESTART_AFTER_INTERRUPTION, "m", "s",
                   override_by=Overrider.PHYSICIAN)  # fmt: skip
    with pytest.raises(OverrideError, match="hard limit") as exc:
        check_overrides([hard, soft], {}, NURSE)
    assert not isinstance(exc.value, OverrideNotAllowed)


def test_every_opioid_dose_code_is_physician_only_for_opioids(library) -> None:
    opioid = mix(library, ("morphine", "10 mg/mL"))
    other = mix(library, ("baclofen", "500 mcg/mL"))
    for code in OPIOID_DOSE:
        f = Finding(Level.SOFT, code, "m", "s", opioid.drug_names[0])
        assert classify([f], opioid)[0].override_by is Overrider.PHYSICIAN, code
        g = Finding(Level.SOFT, code, "m", "s", "baclofen")
        assert classify([g], other)[0].override_by is Overrider.CLINICIAN, code
    refill = Finding(Level.SOFT, Code.DISCREPANCY_ABOVE_THRESHOLD, "m", "s")
    assert classify([refill], opioid)[0].override_by is Overrider.CLINICIAN


def test_a_physicians_earlier_decision_may_be_repeated_but_not_a_restart() -> None:
    def soft(code: Code, limit: str) -> Finding:
        return Finding(Level.SOFT, code, "m", "s", "morphine", Q_(limit),
                       override_by=Overrider.PHYSICIAN)  # fmt: skip

    dose, restart = (
        soft(Code.DAILY_DOSE_ABOVE_LIMIT, "20 mg/d"),
        soft(Code.RESTART_AFTER_INTERRUPTION, "1 mg/d"),
    )
    decided = {
        ("DOSE-DAILY-MAX", "morphine", "20 mg/d"),
        ("RESTART-TOLERANCE", "morphine", "1 mg/d"),
    }
    out = already_decided([dose, restart], decided)
    assert [f.override_by for f in out] == [Overrider.CLINICIAN, Overrider.PHYSICIAN]
    assert already_decided([dose], set())[0].override_by is Overrider.PHYSICIAN
    # The same code against another limit (now opioid-naive: 1 mg/d) is a new decision.
    naive = soft(Code.DAILY_DOSE_ABOVE_LIMIT, "1 mg/d")
    assert already_decided([naive], decided)[0].override_by is Overrider.PHYSICIAN
