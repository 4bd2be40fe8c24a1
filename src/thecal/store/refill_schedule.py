"""The refill calendar's index (refill_schedule): one row per patient with a drug pump in
place, holding the latest refill and when the next one is due. Kept current in the same
transaction as every refill or device write; ``due_where`` filters it by due window."""

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from thecal.clinic.calendar import next_due
from thecal.clinic.model import DeviceKind
from thecal.clinic.ports import DueWindow
from thecal.store.schema import DeviceRow, RefillRow, RefillScheduleRow

DRUG_PUMPS = (DeviceKind.PUMP.value, DeviceKind.TRIAL_PUMP.value)


def sync_schedule(session: Session, patient_id: str) -> None:
    """Recompute one patient's calendar row after a refill or device write (same
    transaction): present while a drug pump is in place, due = next_due(latest refill)."""
    pump = session.scalar(
        select(DeviceRow.id).where(
            DeviceRow.patient_id == patient_id, DeviceRow.removed_on.is_(None),
            DeviceRow.kind.in_(DRUG_PUMPS),
        ).limit(1)
    )  # fmt: skip
    row = session.get(RefillScheduleRow, patient_id)
    if pump is None:
        if row is not None:
            session.delete(row)
        return
    last = session.execute(
        select(RefillRow.id, RefillRow.refill_by, RefillRow.planned_refill)
        .where(RefillRow.patient_id == patient_id)
        .order_by(RefillRow.performed_at.desc(), RefillRow.id.desc())
        .limit(1)
    ).first()
    refill_id, due = (last.id, next_due(last.refill_by, last.planned_refill)) if last else (
        None, None)  # fmt: skip
    if row is None:
        session.add(RefillScheduleRow(patient_id=patient_id, refill_id=refill_id, due=due))
    else:
        row.refill_id, row.due = refill_id, due
    session.flush()


def due_where(window: DueWindow) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a calendar query over refill_schedule for ``window``."""
    due = RefillScheduleRow.due
    if window.undated:
        return [due.is_(None)]
    where: list[ColumnElement[bool]] = [due.is_not(None)]
    if window.start is not None:
        where.append(due >= window.start)
    if window.end is not None:
        where.append(due < window.end)
    return where
