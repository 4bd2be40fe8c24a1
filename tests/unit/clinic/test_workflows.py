from datetime import date, datetime, timedelta

import pytest

from thecal.clinic.calendar import RefillStatus, refill_calendar
from thecal.clinic.errors import ConcurrentEditError, PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.workflows import (
    RefillInput,
    change_program,
    preview_program_change,
    record_refill,
)
from thecal.therapy.findings import Code, Level, OverrideError, needs_reason
from thecal.units import Q_

from .conftest import DOCTOR, NURSE, VIEWER, FakeClock, morphine_plan, setup_patient


def _refill(withdrawn: float, confirmed: float | None = 19.8, **kw: object) -> RefillInput:
    return RefillInput(
        withdrawn=Q_(withdrawn, "mL"), filled=Q_(20.0, "mL"), drug_lot="LOT-42",
        confirmed_after_fill=Q_(confirmed, "mL") if confirmed is not None else None,
        planned_refill=datetime(2024, 4, 26, 9, 0), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_refill_is_checked_and_stored(uow, clock, library, catalog) -> None:
    patient, pump = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    out = record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=_refill(1.6)
    )
    r = out.record
    # 0.3 mL/d x 60 d = 18 mL delivered; 20 - 18 = 2 mL expected; 1.6 - 2 = -0.4 mL.
    assert r.expected_remaining.to("mL").magnitude == pytest.approx(2.0)
    assert r.discrepancy.to("mL").magnitude == pytest.approx(-0.4)
    # Next low-reservoir alarm (2 mL): 18 mL / 0.3 mL/d = 60 d after 2024-03-02 09:00.
    assert r.refill_by == datetime(2024, 5, 1, 9, 0)
    assert "low-reservoir alarm" in r.decided_by
    assert r.device_id == pump.id and r.by == "nina" and r.drug_lot == "LOT-42"
    assert r.concentrations == (("morphine", "10 mg/mL"),)
    with uow.reader() as repo:
        assert [x.id for x in repo.refills_for(patient.id)] == [r.id]


def test_soft_finding_needs_a_reason_and_nothing_is_written_without(uow, clock, library, catalog):
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    before = len(uow.state.audit)
    # Withdrawn 5 mL vs 2 mL expected: discrepancy +3 mL > the 2 mL threshold (soft).
    with pytest.raises(OverrideError, match="REFILL-DISCREPANCY"):
        record_refill(
            uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=_refill(5.0)
        )
    assert uow.state.refills == [] and len(uow.state.audit) == before
    entry = _refill(5.0, overrides={
        "REFILL-DISCREPANCY": "aspiration short of volume, pump interrogated: normal",
        "REFILL-ACCURACY-BAND": "same",
    })  # fmt: skip
    out = record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=entry
    )
    assert ("REFILL-DISCREPANCY", "aspiration short of volume, pump interrogated: normal") in (
        out.record.overrides
    )


def test_pocket_fill_is_refused(uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    # 20 mL injected, 18 mL confirmed: 2 mL unaccounted > 1 mL for a 20 mL pump (hard).
    with pytest.raises(OverrideError, match="hard"):
        record_refill(
            uow,
            clock,
            library,
            catalog,
            actor=NURSE,
            patient_id=patient.id,
            entry=_refill(1.6, 18.0),
        )
    assert uow.state.refills == []


def test_viewer_cannot_refill(uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    with pytest.raises(PermissionDenied):
        record_refill(
            uow, clock, library, catalog, actor=VIEWER, patient_id=patient.id, entry=_refill(1.6)
        )


def test_concurrent_edit_detected(uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    # Two nurses opened the refill form on the same version; the first one wins.
    v = uow.state.patients[patient.id].version  # setup's writes moved it on from 1
    record_refill(
        uow,
        clock,
        library,
        catalog,
        actor=NURSE,
        patient_id=patient.id,
        entry=_refill(1.6),
        patient_version=v,
    )
    with pytest.raises(ConcurrentEditError):
        record_refill(
            uow,
            clock,
            library,
            catalog,
            actor=NURSE,
            patient_id=patient.id,
            entry=_refill(1.6),
            patient_version=v,
        )
    assert len(uow.state.refills) == 1


def test_program_change_versions_the_prescription(uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 2, 1, 9, 0)
    new = morphine_plan().model_copy(update={"schedule": morphine_plan().schedule.model_copy(
        update={"dose": "3.3 mg/d"})})  # fmt: skip
    out = change_program(
        uow,
        clock,
        library,
        catalog,
        actor=DOCTOR,
        patient_id=patient.id,
        plan=new,
        reason="pain 6/10",
    )
    assert (out.change.old_version, out.change.new_version) == (1, 2)
    with uow.reader() as repo:
        versions = repo.prescriptions_for(patient.id)
        assert [v.version for v in versions] == [1, 2]
        assert versions[-1].plan().schedule.dose == "3.3 mg/d"
        assert versions[-1].plan().previous is not None
    with pytest.raises(Exception, match="reason"):
        change_program(
            uow, clock, library, catalog, actor=DOCTOR, patient_id=patient.id, plan=new, reason="  "
        )


def test_calendar_after_refill(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    with uow.reader() as repo:
        (entry,) = refill_calendar(repo, date(2024, 2, 1), Q_(7, "d"))
    assert entry.status is RefillStatus.UNKNOWN
    clock.now = datetime(2024, 3, 2, 9, 0)
    record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=_refill(1.6)
    )
    with uow.reader() as repo:
        # The appointment (04-26) is before the forecast's refill-by (05-01): it decides.
        (entry,) = refill_calendar(repo, date(2024, 4, 20), Q_(7, "d"))
        assert entry.status is RefillStatus.DUE_SOON and entry.days_left == 6
        assert entry.refill_by == datetime(2024, 5, 1, 9, 0)
        (entry,) = refill_calendar(repo, date(2024, 4, 27), Q_(7, "d"))
        assert entry.status is RefillStatus.OVERDUE and entry.days_left == -1


def test_titration_between_refills_counts_each_program_for_its_own_days(
    uow, clock, library, catalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)  # v1: 3 mg/d = 0.3 mL/d, 01-02
    clock.now = datetime(2024, 2, 1, 9, 0)
    titrated = morphine_plan().model_copy(update={"schedule": morphine_plan().schedule.model_copy(
        update={"dose": "3.3 mg/d"})})  # fmt: skip
    change_program(
        uow,
        clock,
        library,
        catalog,
        actor=DOCTOR,
        patient_id=patient.id,
        plan=titrated,
        reason="pain 6/10",
    )
    clock.now = datetime(2024, 3, 2, 9, 0)
    # At 0.33 mL/d the 04-26 appointment is after the low-reservoir alarm: a soft finding.
    late = {"RESERVOIR-EMPTY-BEFORE-REFILL": "appointment to be moved forward"}
    out = record_refill(
        uow,
        clock,
        library,
        catalog,
        actor=NURSE,
        patient_id=patient.id,
        entry=_refill(1.1, overrides=late),
    )
    # 30 d × 0.3 mL/d + 30 d × 0.33 mL/d = 9 + 9.9 = 18.9 mL delivered; 20 − 18.9 = 1.1 mL.
    # (The current 0.33 mL/d over all 60 d would say 0.2 mL: a false +0.9 mL discrepancy.)
    assert out.record.expected_remaining.to("mL").magnitude == pytest.approx(1.1)
    assert out.record.discrepancy.to("mL").magnitude == pytest.approx(0.0, abs=1e-9)
    assert [(p.version, p.start, p.end) for p in out.periods] == [
        (1, datetime(2024, 1, 2, 9, 0), datetime(2024, 2, 1, 9, 0)),
        (2, datetime(2024, 2, 1, 9, 0), datetime(2024, 3, 2, 9, 0)),
    ]
    assert out.record.prescription_version == 2
    # The next interval starts from this refill under v2 only: 30 d × 0.33 = 9.9 mL.
    clock.now = datetime(2024, 4, 1, 9, 0)
    nxt = record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=_refill(10.1)
    )
    assert nxt.record.expected_remaining.to("mL").magnitude == pytest.approx(20 - 9.9)
    assert [p.version for p in nxt.periods] == [2]


def test_program_change_moves_the_next_refill_date(uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)  # 0.3 mL/d from 01-02 09:00
    clock.now = datetime(2024, 3, 2, 9, 0)
    first = record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=_refill(1.6)
    ).record
    assert first.refill_by == datetime(2024, 5, 1, 9, 0)  # 18 mL to the alarm / 0.3 mL/d = 60 d
    clock.now = datetime(2024, 3, 12, 9, 0)
    faster = morphine_plan().model_copy(update={"schedule": morphine_plan().schedule.model_copy(
        update={"dose": "6 mg/d"})})  # fmt: skip
    with uow.reader() as repo:
        findings = preview_program_change(
            repo, library, catalog, patient_id=patient.id, plan=faster, at=clock()
        ).findings  # fmt: skip
    codes = {f.code.value: f for f in findings}
    # 10 d × 0.3 mL/d = 3 mL used; 17 mL left, 15 mL to the 2 mL alarm at 0.6 mL/d: 25 d,
    # so 04-06 09:00 — before the booked 04-26 appointment (a soft finding: needs a reason).
    revised = codes[Code.REFILL_DATE_REVISED.value]
    assert revised.level is Level.INFO
    assert "2024-05-01 09:00 to 2024-04-06 09:00" in revised.message
    assert codes["RESERVOIR-EMPTY-BEFORE-REFILL"].level is Level.SOFT
    reasons = {f.code.value: "appointment moved to 04-05" for f in needs_reason(findings)}
    with pytest.raises(OverrideError):
        change_program(
            uow,
            clock,
            library,
            catalog,
            actor=DOCTOR,
            patient_id=patient.id,
            plan=faster,
            reason="pain 7/10",
        )
    with uow.reader() as repo:  # refused: the refill keeps its date
        assert repo.refills_for(patient.id)[-1].refill_by == first.refill_by
    out = change_program(
        uow,
        clock,
        library,
        catalog,
        actor=DOCTOR,
        patient_id=patient.id,
        plan=faster,
        reason="pain 7/10",
        overrides=reasons,
    )
    assert "REFILL-DATE-REVISED" in {f.code for f in out.change.findings}
    with uow.reader() as repo:
        stored = repo.refills_for(patient.id)[-1]
        assert stored.id == first.id and stored.refill_by is not None
        assert abs(stored.refill_by - datetime(2024, 4, 6, 9, 0)) < timedelta(seconds=1)
        assert stored.withdrawn == first.withdrawn  # only the forecast fields change
        (entry,) = refill_calendar(repo, date(2024, 4, 1), Q_(7, "d"))
        assert entry.status is RefillStatus.DUE_SOON and entry.due == stored.refill_by
    assert [a.action for a in uow.state.audit if a.entity == "refill"][-1] == "update"
