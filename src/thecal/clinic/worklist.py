"""The worklist: what needs a clinician's attention — open alarms, the hard and soft findings of
each patient's last refill, and overdue refills."""

from dataclasses import dataclass
from datetime import date, datetime

import pint

from thecal.clinic.calendar import RefillStatus, calendar_page
from thecal.clinic.ports import ClinicRepository
from thecal.therapy.findings import Level

# Sort order: critical device alarms first, then hard findings, then the rest.
_RANK = {"critical": 0, Level.HARD.value: 1, "overdue": 2, "non-critical": 3, Level.SOFT.value: 4}


@dataclass(frozen=True)
class WorkItem:
    """``kind`` is "alarm", "refill-finding" or "refill-overdue"; ``ref_id`` the alarm or
    refill record it comes from."""

    patient_id: str
    kind: str
    level: str
    code: str
    message: str
    since: datetime
    source: str
    ref_id: str


def worklist(repo: ClinicRepository, today: date, soon: pint.Quantity) -> tuple[WorkItem, ...]:
    """Open alarms, non-info findings of each patient's latest refill, and overdue refills;
    most severe first, then oldest first."""
    items: list[WorkItem] = []
    for a in repo.open_alarms():
        items.append(
            WorkItem(a.patient_id, "alarm", a.level, a.code, a.message, a.raised_at, "device", a.id)
        )
    for r in repo.latest_refills():
        for f in r.findings:
            if f.level is not Level.INFO:
                items.append(WorkItem(
                    r.patient_id, "refill-finding", f.level.value, f.code, f.message,
                    r.performed_at, f.source, r.id,
                ))  # fmt: skip
    overdue = calendar_page(repo, today, soon, (RefillStatus.OVERDUE,), limit=None).entries
    for e in overdue:
        if e.due is not None:
            items.append(WorkItem(
                e.patient_id, "refill-overdue", "overdue", "REFILL-OVERDUE",
                f"{e.display_name}: refill was due {e.due:%Y-%m-%d %H:%M} ({e.reason}).",
                e.due, e.source, e.patient_id,
            ))  # fmt: skip
    items.sort(key=lambda i: (_RANK.get(i.level, 5), i.since))
    return tuple(items)
