"""The worklist: what needs a clinician's attention — open alarms (the implants' alarms read at
each interrogation among them), the hard findings of each patient's latest interrogation
compared with the record, the hard and soft findings of each patient's last refill, the
stimulators' findings (impedance trend, abrupt drop, short or open contact, battery
replacement), open assessments of urgency emergency, today or within 24 h, overdue refills, and
the link deliveries still uncertain (a program or refill sent whose acknowledgement was lost:
hard until the next interrogation settles it)."""

from dataclasses import dataclass
from datetime import date, datetime, time

import pint

from thecal.clinic.assessment_workflow import URGENT
from thecal.clinic.calendar import RefillStatus, calendar_page
from thecal.clinic.delivery_settling import SOURCE as SETTLING_SOURCE
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.settings import ClinicSettings
from thecal.clinic.stimulator_workflow import StimulatorContext, summarise
from thecal.decision import URGENCY_WORDS
from thecal.therapy.findings import Code, Level

UNCERTAIN_CODE = "LINK-DELIVERY-UNCERTAIN"  # as "REFILL-OVERDUE": a worklist code, not a finding's
# Sort order: critical device alarms first, then hard findings, then the rest.
_RANK = {"critical": 0, Level.HARD.value: 1, "overdue": 2, "non-critical": 3, Level.SOFT.value: 4}


@dataclass(frozen=True)
class WorkItem:
    """``kind`` is "alarm", "reconciliation", "refill-finding", "stimulator-finding",
    "refill-overdue" or "link-delivery"; ``ref_id`` the alarm, interrogation, refill, device
    or (for a delivery) patient it comes from."""

    patient_id: str
    kind: str
    level: str
    code: str
    message: str
    since: datetime
    source: str
    ref_id: str


def _reconciliation(repo: ClinicRepository) -> list[WorkItem]:
    """Hard findings of each patient's latest interrogation. An implant alarm is already on
    the list as an open clinic alarm (with acknowledge and resolve), so it is not repeated."""
    items: list[WorkItem] = []
    for i in repo.latest_interrogations():
        for f in i.findings:
            if f.level is Level.HARD and f.code != Code.IMPLANT_ALARM.value:
                items.append(WorkItem(i.patient_id, "reconciliation", f.level.value, f.code,
                                      f.message, i.at, f.source, i.id))  # fmt: skip
    return items


def _uncertain_deliveries(repo: ClinicRepository) -> list[WorkItem]:
    """Each delivery still uncertain, hard: the pump may run what the record does not have."""
    return [
        WorkItem(d.patient_id, "link-delivery", Level.HARD.value, UNCERTAIN_CODE,
                 f"A {d.what} sent to the pump at {d.at:%Y-%m-%d %H:%M} by {d.by} got no "
                 "acknowledgement: the pump may or may not have taken it. Interrogate the pump "
                 "before anything else.", d.at, SETTLING_SOURCE, d.patient_id)
        for d in repo.unsettled_link_deliveries()
    ]  # fmt: skip


def _stimulators(
    repo: ClinicRepository, stimulation: StimulatorContext, settings: ClinicSettings, today: date
) -> list[WorkItem]:
    """Soft and hard findings of every stimulator in place, dated by its latest measurement."""
    items: list[WorkItem] = []
    for d in repo.stimulators_in_place():
        s = summarise(repo, stimulation, settings, d, today)
        times = [x.at for x in s.impedances[-1:]] + [b.at for b in s.batteries[-1:]]
        since = max(times) if times else datetime.combine(d.implanted_on, time())
        for f in s.findings:
            if f.level is not Level.INFO:
                items.append(WorkItem(d.patient_id, "stimulator-finding", f.level.value,
                                      f.code.value, f.message, since, f.source, d.id))  # fmt: skip
    return items


def _assessments(repo: ClinicRepository) -> list[WorkItem]:
    """Open assessments whose urgency is emergency, today or within 24 h: hard, with the
    urgency in words and the first prompt (the record's result, as stored)."""
    items: list[WorkItem] = []
    for a in repo.open_assessments(URGENT):
        prompts = a.result.get("prompts") or [{"text": "see the assessment", "source": ""}]
        words = URGENCY_WORDS.get(a.urgency, a.urgency)
        items.append(WorkItem(
            a.patient_id, "assessment", Level.HARD.value,
            f"ASSESSMENT-{a.urgency.upper().replace('_', '-')}",
            f"Open assessment, urgency {words} (by {a.by}): {prompts[0]['text']}",
            a.at, str(prompts[0].get("source", "")), a.id,
        ))  # fmt: skip
    return items


def worklist(
    repo: ClinicRepository, today: date, soon: pint.Quantity, *,
    stimulation: StimulatorContext | None = None, settings: ClinicSettings | None = None,
) -> tuple[WorkItem, ...]:  # fmt: skip
    """Open alarms, hard reconciliation findings, non-info findings of each patient's latest
    refill and (with ``stimulation`` and ``settings``) of each stimulator in place, and overdue
    refills; most severe first, then oldest first."""
    items: list[WorkItem] = []
    for a in repo.open_alarms():
        items.append(
            WorkItem(a.patient_id, "alarm", a.level, a.code, a.message, a.raised_at, "device", a.id)
        )
    items.extend(_reconciliation(repo))
    items.extend(_uncertain_deliveries(repo))
    for r in repo.latest_refill_findings():  # only the refills with findings, light rows
        for f in r.findings:
            if f.level is not Level.INFO:
                items.append(WorkItem(
                    r.patient_id, "refill-finding", f.level.value, f.code, f.message,
                    r.performed_at, f.source, r.refill_id,
                ))  # fmt: skip
    if stimulation is not None and settings is not None:
        items.extend(_stimulators(repo, stimulation, settings, today))
    items.extend(_assessments(repo))
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
