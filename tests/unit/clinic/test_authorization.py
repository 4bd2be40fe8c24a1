"""Who may change what, decided in the clinic service inside the write's transaction: a nurse's
program change stays within the current prescription (every branch), only a physician gives
the reason for loss of tolerance and opioid dose findings."""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from thecal.clinic.authorization import (
    OutsidePrescription,
    nurse_bounds_problem,
    physician_decided,
)
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Patient
from thecal.clinic.workflows import (
    RefillInput,
    change_program,
    current_prescription,
    preview_program_change,
    preview_refill,
    record_refill,
)
from thecal.therapy.findings import Level, OverrideNotAllowed
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_

from .conftest import DOCTOR, NURSE, VIEWER, FakeClock, morphine_plan, setup_patient

BOLUS = {"volume": "0.05 mL", "duration": "10 min", "lockout": "4 h", "max_per_day": 4}
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def patient_id(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> str:
    """The morphine 3 mg/d patient (prescription v1 by the physician); both users on file."""
    with uow.transaction("admin", clock(), "users") as repo:
        repo.add_user(DOCTOR)
        repo.add_user(NURSE)
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 2, 1, 9, 0)
    return patient.id


def _current(uow: MemoryUnitOfWork, pid: str) -> PlanFile:
    with uow.reader() as repo:
        rx = current_prescription(repo, pid)
    assert rx is not None
    return rx.plan()


def _edited(plan: PlanFile, edit: Edit) -> PlanFile:
    data = plan.model_dump(mode="json", exclude_none=True)
    data.pop("previous", None)
    edit(data)
    return PlanFile.model_validate(data)


def _change(uow, clock, library, catalog, who, pid, edit: Edit, **reasons: str):  # type: ignore[no-untyped-def]
    plan = _edited(_current(uow, pid), edit)
    return change_program(
        uow,
        clock,
        library,
        catalog,
        actor=who,
        patient_id=pid,
        plan=plan,
        reason="clinic visit",
        overrides={k.replace("_", "-"): v for k, v in reasons.items()},
    )


def _set(path: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for p in parents:
            node = node[p]
        node[last] = value

    return edit


def _bolus(**changes: Any) -> Edit:
    return _set("patient_bolus", {**BOLUS, **changes})


def _drop(path: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for p in parents:
            node = node[p]
        del node[last]

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        for e in edits:
            e(data)

    return edit


MORPHINE = {"drug": "morphine", "concentration": "10 mg/mL"}
# 100 mcg/mL: the strongest clonidine the shipped library knows to exist (entry-error ceiling).
CLONIDINE = {"drug": "clonidine", "concentration": "100 mcg/mL"}

# (what the physician prescribed first, or None for morphine 3 mg/d; the nurse's edit;
#  the refusal's words, or None when within the prescription)
NURSE_CASES: dict[str, tuple[Edit | None, Edit, str | None]] = {
    "dose lowered": (None, _set("schedule.dose", "2.5 mg/d"), None),
    "dose equal (the limit itself is within)": (None, _set("schedule.dose", "3.0 mg/d"), None),
    "dose increased": (None, _set("schedule.dose", "3.1 mg/d"),
                       "the daily dose 3.1 mg/d is above the prescribed 3 mg/d"),
    # 3.000001 / 3 - 1 = 3.3e-7 > the 1e-9 tolerance of thecal.therapy.compare: above.
    "dose just above": (None, _set("schedule.dose", "3.000001 mg/d"), "is above the prescribed"),
    "rate lowered": (_set("schedule", {"mode": "continuous", "rate": "0.3 mL/d"}),
                     _set("schedule.rate", "0.29 mL/d"), None),
    "rate increased": (_set("schedule", {"mode": "continuous", "rate": "0.3 mL/d"}),
                       _set("schedule.rate", "0.31 mL/d"), "the rate 0.31 mL/d is above"),
    "dose to rate": (None, _set("schedule", {"mode": "continuous", "rate": "0.2 mL/d"}),
                     "changing between a daily dose and a rate"),
    "schedule shape": (None, _set("schedule", {"mode": "flex", "steps": [
        {"start": "00:00", "dose": "2 mg/d"}, {"start": "12:00", "dose": "2.5 mg/d"}]}),
        "a different schedule shape"),
    "patient bolus added": (None, _bolus(), "adding a patient bolus"),
    "patient bolus removed": (_bolus(), _drop("patient_bolus"), None),
    "patient bolus smaller, rarer, slower": (
        _bolus(), _bolus(volume="0.04 mL", max_per_day=3, lockout="6 h", duration="20 min"), None),
    "patient bolus the same": (_bolus(), _bolus(volume="0.050 mL", lockout="240 min"), None),
    "patient bolus dose larger": (_bolus(), _bolus(volume="0.06 mL"),
                                  "patient bolus volume 0.06 mL is above the prescribed 0.05 mL"),
    "patient bolus more a day": (_bolus(), _bolus(max_per_day=5),
                                 "the patient boluses a day (5) are more than the prescribed 4"),
    "patient bolus lockout shortened": (_bolus(), _bolus(lockout="3 h"),
                                        "the patient bolus lockout 3 h is shorter"),
    "patient bolus faster": (_bolus(), _bolus(duration="5 min"), "(a faster bolus)"),
    "patient bolus as a dose": (_bolus(), _set("patient_bolus", {
        k: v for k, v in {**BOLUS, "dose": "0.5 mg"}.items() if k != "volume"}),
        "a patient bolus given differently"),
    "drug added": (None, _set("admixture", [MORPHINE, CLONIDINE]),
                   "adding clonidine to the admixture"),
    # The physician's admixture change comes with a fill (a program whose drugs differ from the
    # reservoir's is hard without one: PROGRAM-RESERVOIR-ADMIXTURE).
    "drug removed": (_both(_set("admixture", [MORPHINE, CLONIDINE]),
                           _set("fill", {"volume": "20 mL", "at": "2024-02-01T09:00:00"})),
                     _set("admixture", [MORPHINE]),
                     "removing clonidine from the admixture"),
    "concentration changed": (None, _set("admixture", [{**MORPHINE, "concentration": "25 mg/mL"}]),
                              "morphine 25 mg/mL instead of the prescribed 10 mg/mL"),
    "concentration written differently": (
        None, _set("admixture", [{**MORPHINE, "concentration": "10.0 mg/mL"}]), None),
    "pump changed": (None, _set("pump.model", "SynchroMed II 8637-40"), "a different pump"),
    "pump settings changed": (None, _set("pump.rate_resolution", "0.1 mL/d"),
                              "different pump settings"),
    "alarm threshold set": (None, _set("pump.low_reservoir_alarm", "3 mL"), None),
    "patient record changed": (None, _set("patient.opioid_naive", None),
                               "a different patient record"),
}  # fmt: skip


@pytest.mark.parametrize("case", NURSE_CASES)
def test_nurse_bounds_every_branch(uow, clock, library, catalog, patient_id, case) -> None:
    first, edit, refusal = NURSE_CASES[case]
    if first is not None:
        _change(uow, clock, library, catalog, DOCTOR, patient_id, first)
        clock.now = datetime(2024, 2, 3, 9, 0)
    before = (len(uow.state.prescriptions), len(uow.state.audit))
    if refusal is None:
        out = _change(uow, clock, library, catalog, NURSE, patient_id, edit)
        assert out.change.by == "nina" and len(uow.state.prescriptions) == before[0] + 1
        return
    with pytest.raises(OutsidePrescription, match="outside the current prescription") as exc:
        _change(uow, clock, library, catalog, NURSE, patient_id, edit)
    assert refusal in exc.value.problem, exc.value.problem
    assert (len(uow.state.prescriptions), len(uow.state.audit)) == before  # nothing written
    # The same change by a physician is not refused for who makes it (the gate still runs).
    with uow.reader() as repo:
        plan = _edited(_current(uow, patient_id), edit)
        preview_program_change(
            repo, library, catalog, patient_id=patient_id, plan=plan, at=clock(), actor=DOCTOR
        )


def test_nurse_without_a_prescription_and_viewer(uow, clock, library, catalog, patient_id):
    bare = Patient("P-002", "Synthetic P-002", 1970, opioid_naive=False)
    with uow.transaction("paul", clock(), "new patient") as repo:
        repo.add_patient(bare)
    with pytest.raises(OutsidePrescription, match="no current prescription"):
        change_program(
            uow,
            clock,
            library,
            catalog,
            actor=NURSE,
            patient_id=bare.id,
            plan=morphine_plan(),
            reason="start",
        )
    with pytest.raises(PermissionDenied, match="vera \\(viewer\\) may not change programs"):
        change_program(
            uow,
            clock,
            library,
            catalog,
            actor=VIEWER,
            patient_id=patient_id,
            plan=morphine_plan(),
            reason="x",
        )
    assert nurse_bounds_problem(None, morphine_plan()) is not None


def test_the_write_rechecks_against_the_prescription_in_its_transaction(
    uow, clock, library, catalog, patient_id
) -> None:
    # The nurse's form is built on v1 (3 mg/d): 2.8 mg/d is within it.
    proposed = _edited(_current(uow, patient_id), _set("schedule.dose", "2.8 mg/d"))
    with uow.reader() as repo:
        shown = preview_program_change(
            repo, library, catalog, patient_id=patient_id, plan=proposed, at=clock(), actor=NURSE
        )
    assert shown.current is not None and shown.current.version == 1
    # Meanwhile the physician lowers the dose to 2 mg/d (v2).
    _change(uow, clock, library, catalog, DOCTOR, patient_id, _set("schedule.dose", "2 mg/d"))
    # The nurse confirms the form: checked against v2, read inside the write's transaction.
    with pytest.raises(OutsidePrescription, match=r"2\.8 mg/d is above the prescribed 2 mg/d"):
        change_program(
            uow,
            clock,
            library,
            catalog,
            actor=NURSE,
            patient_id=patient_id,
            plan=proposed,
            reason="as previewed",
        )
    assert [p.version for p in uow.state.prescriptions] == [1, 2]


# --- who gives the reason ---------------------------------------------------------------------


def _refill(withdrawn: float, reasons: dict[str, str] | None = None, **kw: str) -> RefillInput:
    """Withdrawn ``withdrawn`` mL, filled 20 mL; reasons by code (``DOSE_DAILY_MAX=`` works)."""
    overrides = {**(reasons or {}), **{k.replace("_", "-"): v for k, v in kw.items()}}
    return RefillInput(Q_(withdrawn, "mL"), Q_(20.0, "mL"), "LOT-7",
                       planned_refill=datetime(2024, 4, 26, 9, 0), overrides=overrides)  # fmt: skip


def test_only_a_physician_gives_the_reason_to_restart_after_the_pump_ran_dry(
    uow, clock, library, catalog, patient_id
) -> None:
    # 20 mL at 0.3 mL/d runs dry after 20 / 0.3 = 66.7 d (2024-03-08); refilled on day 80,
    # nothing left: delivery stopped ~14 d, restarting 3 mg/d > the 1 mg/d opioid-naive dose.
    clock.now = datetime(2024, 3, 22, 9, 0)
    with uow.reader() as repo:
        soft = preview_refill(
            repo, library, catalog, patient_id=patient_id, entry=_refill(0.0), at=clock(), by="nina"
        ).needs_reason
    assert "RESTART-TOLERANCE" in {f.code.value for f in soft}
    reasons = {f.code.value: "patient seen, restart decided" for f in soft}
    with pytest.raises(OverrideNotAllowed,
                       match="a physician must give the reason for RESTART-TOLERANCE"):  # fmt: skip
        record_refill(
            uow,
            clock,
            library,
            catalog,
            actor=NURSE,
            patient_id=patient_id,
            entry=_refill(0.0, reasons),
        )
    assert uow.state.refills == []
    # A physician's earlier reasons never cover a new interruption; the physician records it.
    out = record_refill(
        uow,
        clock,
        library,
        catalog,
        actor=DOCTOR,
        patient_id=patient_id,
        entry=_refill(0.0, reasons),
    )
    stored = {f.code: f.override_by for f in out.record.findings if f.level is Level.SOFT}
    assert stored["RESTART-TOLERANCE"] == "physician"


def _mark_opioid_naive(uow: MemoryUnitOfWork, clock: FakeClock, pid: str) -> None:
    with uow.transaction("paul", clock(), "history corrected") as repo:
        p = repo.get_patient(pid)
        repo.update_patient(replace(p, opioid_naive=True))


def test_opioid_dose_finding_needs_a_physician_unless_one_decided_it(
    uow, clock, library, catalog, patient_id
) -> None:
    # The record now says opioid-naive: 3 mg/d and 2.5 mg/d morphine are both above the
    # 1 mg/d opioid-naive limit (soft DOSE-DAILY-MAX) that nobody has decided on yet.
    _mark_opioid_naive(uow, clock, patient_id)
    lower = _set("schedule.dose", "2.5 mg/d")
    with pytest.raises(OverrideNotAllowed,
                       match="a physician must give the reason for DOSE-DAILY-MAX"):  # fmt: skip
        _change(uow, clock, library, catalog, NURSE, patient_id, lower,
                DOSE_DAILY_MAX="lower is better")  # fmt: skip
    clock.now = datetime(2024, 3, 2, 9, 0)
    with pytest.raises(OverrideNotAllowed, match="DOSE-DAILY-MAX"):
        record_refill(uow, clock, library, catalog, actor=NURSE, patient_id=patient_id,
                      entry=_refill(1.6, DOSE_DAILY_MAX="per prescription"))  # fmt: skip
    # The physician decides (2.5 mg/d, with the reason) ...
    out = _change(uow, clock, library, catalog, DOCTOR, patient_id, lower,
                  DOSE_DAILY_MAX="tolerant on oral morphine; registry being corrected")  # fmt: skip
    assert out.change.overrides == (
        ("DOSE-DAILY-MAX", "tolerant on oral morphine; registry being corrected"),
    )
    naive_limit = ("DOSE-DAILY-MAX", "morphine", "1 mg/d")
    with uow.reader() as repo:
        assert physician_decided(repo, patient_id) == {naive_limit}
    # ... so the nurse may now refill and lower it further, repeating that decision.
    clock.now = datetime(2024, 3, 3, 9, 0)
    record_refill(uow, clock, library, catalog, actor=NURSE, patient_id=patient_id,
                  entry=_refill(1.6, DOSE_DAILY_MAX="per prescription"))  # fmt: skip
    _change(uow, clock, library, catalog, NURSE, patient_id, _set("schedule.dose", "2 mg/d"),
            DOSE_DAILY_MAX="per prescription")  # fmt: skip
    with uow.reader() as repo:  # a nurse's change does not hide the physician's decision
        assert physician_decided(repo, patient_id) == {naive_limit}


def test_a_decision_on_one_limit_does_not_cover_another(
    uow, clock, library, catalog, patient_id
) -> None:
    # The physician prescribes 25 mg/d, above the 20 mg/d caution limit, with a reason. From
    # 3 mg/d in one step would be x8.3, which looks like a slip (hard): 3 -> 12 -> 25 mg/d.
    _change(uow, clock, library, catalog, DOCTOR, patient_id, _set("schedule.dose", "12 mg/d"),
            TITR_PERCENT_MAX="cancer pain, tolerant")  # fmt: skip
    clock.now += timedelta(minutes=1)  # 1 min at 1.2 mL/d: 0.0008 mL, below every figure below
    _change(uow, clock, library, catalog, DOCTOR, patient_id, _set("schedule.dose", "25 mg/d"),
            DOSE_DAILY_MAX="cancer pain, tolerant",
            TITR_PERCENT_MAX="cancer pain, tolerant")  # fmt: skip
    # 30 d at 0.3 mL/d left 20 - 9 = 11 mL on 2024-02-01; at 25 mg/d = 2.5 mL/d, 3 d later
    # 11 - 7.5 = 3.5 mL are left. The nurse refills, repeating the physician's decision.
    clock.now = datetime(2024, 2, 4, 9, 0)
    record_refill(uow, clock, library, catalog, actor=NURSE, patient_id=patient_id,
                  entry=RefillInput(Q_(3.5, "mL"), Q_(20.0, "mL"), "LOT-8",
                              planned_refill=datetime(2024, 2, 9, 9, 0),
                              overrides={"DOSE-DAILY-MAX": "per prescription"}))  # fmt: skip
    # Now recorded as opioid-naive: the same code, against the 1 mg/d limit, is a new decision.
    _mark_opioid_naive(uow, clock, patient_id)
    # 5 d x 2.5 mL/d = 12.5 mL delivered from 20 mL: 7.5 mL left.
    clock.now = datetime(2024, 2, 9, 9, 0)
    with pytest.raises(OverrideNotAllowed, match="a physician must give the reason for DOSE-DAILY"):
        record_refill(uow, clock, library, catalog, actor=NURSE, patient_id=patient_id,
                      entry=RefillInput(Q_(7.5, "mL"), Q_(20.0, "mL"), "LOT-9",
                                  planned_refill=datetime(2024, 2, 14, 9, 0),
                                  overrides={"DOSE-DAILY-MAX": "per prescription"}))  # fmt: skip
    assert len(uow.state.refills) == 1


def test_nurse_still_gives_reasons_for_other_soft_findings(
    uow, clock, library, catalog, patient_id
) -> None:
    clock.now = datetime(2024, 3, 2, 9, 0)
    # Withdrawn 5 mL vs 2 mL expected (0.3 mL/d x 60 d = 18 mL from 20 mL): +3 mL > 2 mL.
    out = record_refill(
        uow,
        clock,
        library,
        catalog,
        actor=NURSE,
        patient_id=patient_id,
        entry=_refill(
            5.0,
            REFILL_DISCREPANCY="aspiration short, pump interrogated: normal",
            REFILL_ACCURACY_BAND="same",
        ),
    )
    assert dict(out.record.overrides)["REFILL-DISCREPANCY"].startswith("aspiration")
    assert {f.override_by for f in out.record.findings if f.level is Level.SOFT} == {"clinician"}


def test_an_unknown_author_decides_nothing(uow, clock, library, catalog) -> None:
    # Users not on file (e.g. an import): no decision is carried to a nurse.
    patient, _ = setup_patient(uow, clock, library, catalog)
    with uow.reader() as repo:
        assert physician_decided(repo, patient.id) == frozenset()
