"""The worklist: what needs a clinician's attention — open alarms (the implants' alarms read at
each interrogation among them), the hard findings of each patient's latest interrogation
compared with the record, the hard and soft findings of each patient's last refill, the
stimulators' findings (impedance trend, abrupt drop, short or open contact, battery
replacement), open assessments of urgency emergency, today or within 24 h, overdue refills, and
the link deliveries still uncertain (a program or refill sent whose acknowledgement was lost:
hard until the next interrogation settles it), and the pumps and stimulators whose battery is at
ERI or EOS with no pre-replacement checklist since (:mod:`thecal.clinic.worklist_replacement`).

Every item that needs a person is listed on its own line. The overdue refills alone are
summarised: ONE item with their count, the oldest due date and the calendar's overdue list
(which pages them), so that a clinic of 100,000 patients does not read and send every overdue
patient on each visit of the worklist (benchmarks/worklist_load.py). :func:`page_of` pages the
list with counts per kind for the API and the page."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

import pint

from thecal.clinic.assessment_workflow import URGENT
from thecal.clinic.calendar import RefillStatus, calendar_page
from thecal.clinic.delivery_settling import SOURCE as SETTLING_SOURCE
from thecal.clinic.model import Device, Interrogation
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.settings import ClinicSettings
from thecal.clinic.stimulator_workflow import StimulatorContext, summarise
from thecal.clinic.worklist_replacement import CODE as REPLACEMENT_CODE
from thecal.clinic.worklist_replacement import replacements_due
from thecal.decision import URGENCY_WORDS
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level
from thecal.units import InputError

UNCERTAIN_CODE = "LINK-DELIVERY-UNCERTAIN"  # as "REFILL-OVERDUE": a worklist code, not a finding's
# Sort order: critical device alarms first, then hard findings, then the rest.
_RANK = {"critical": 0, Level.HARD.value: 1, "overdue": 2, "non-critical": 3, Level.SOFT.value: 4}


@dataclass(frozen=True)
class WorkItem:
    """``kind`` is "alarm", "reconciliation", "refill-finding", "stimulator-finding",
    "assessment", "replacement", "link-delivery" or "refill-overdue"; ``ref_id`` the alarm,
    interrogation, refill, device, assessment or (for a delivery) patient it comes from.
    ``count`` is 1, except for the one "refill-overdue" item: the number of overdue refills it
    stands for (``patient_id`` None, ``since`` the oldest due date, ``ref_id`` the status the
    calendar filters on)."""

    patient_id: str | None
    kind: str
    level: str
    code: str
    message: str
    since: datetime
    source: str
    ref_id: str
    count: int = 1


@dataclass(frozen=True)
class WorklistPage:
    """Items ``offset`` to ``offset + limit`` of the worklist (in its order) with, for the
    whole list, the number of items (``total``), the number of things each kind stands for
    (``counts``: overdue refills counted one by one) and of items per level (``levels``)."""

    items: tuple[WorkItem, ...]
    total: int
    counts: dict[str, int]
    levels: dict[str, int]
    limit: int
    offset: int


def page_of(items: Sequence[WorkItem], limit: int, offset: int) -> WorklistPage:
    """The page of ``items`` from ``offset`` (InputError on a negative limit or offset)."""
    if limit < 0:
        raise InputError("worklist.limit", "must not be negative", "a whole number ≥ 0")
    if offset < 0:
        raise InputError("worklist.offset", "must not be negative", "a whole number ≥ 0")
    counts: dict[str, int] = {}
    levels: dict[str, int] = {}
    for i in items:
        counts[i.kind] = counts.get(i.kind, 0) + i.count
        levels[i.level] = levels.get(i.level, 0) + 1
    return WorklistPage(tuple(items[offset : offset + limit]), len(items), counts, levels,
                        limit, offset)  # fmt: skip


def _reconciliation(latest: Sequence[Interrogation]) -> list[WorkItem]:
    """Hard findings of each patient's latest interrogation. An implant alarm is already on
    the list as an open clinic alarm (with acknowledge and resolve), so it is not repeated."""
    items: list[WorkItem] = []
    for i in latest:
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
    repo: ClinicRepository, stimulation: StimulatorContext, settings: ClinicSettings, today: date,
    stimulators: Sequence[Device],
) -> list[WorkItem]:  # fmt: skip
    """Soft and hard findings of every stimulator in place, dated by its latest measurement."""
    items: list[WorkItem] = []
    for d in stimulators:
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


def _replacements(
    repo: ClinicRepository, catalog: DeviceCatalog | None, stimulation: StimulatorContext | None,
    latest: Sequence[Interrogation], stimulators: Sequence[Device],
) -> list[WorkItem]:  # fmt: skip
    """Pumps and stimulators at ERI or EOS with no checklist recorded since the reading."""
    return [
        WorkItem(r.device.patient_id, "replacement", r.level, REPLACEMENT_CODE[r.state],
                 r.message, r.reading_at, r.source, r.device.id)
        for r in replacements_due(repo, catalog, stimulation, latest, stimulators)
    ]  # fmt: skip


def _overdue(repo: ClinicRepository, today: date, soon: pint.Quantity) -> list[WorkItem]:
    """The overdue refills as ONE item: their count (the calendar's index) and the oldest."""
    page = calendar_page(repo, today, soon, (RefillStatus.OVERDUE,), limit=1)
    n = page.counts.get(RefillStatus.OVERDUE, 0)
    if n == 0 or not page.entries or page.entries[0].due is None:
        return []
    first = page.entries[0]
    due = first.due
    assert due is not None
    what = "refill is" if n == 1 else "refills are"
    return [WorkItem(
        None, "refill-overdue", "overdue", "REFILL-OVERDUE",
        f"{n:,} {what} overdue; the oldest was due {due:%Y-%m-%d %H:%M} ({first.display_name}, "
        f"{first.reason}). The calendar's overdue list shows each patient.",
        due, first.source, RefillStatus.OVERDUE.value, n,
    )]  # fmt: skip


def worklist(
    repo: ClinicRepository, today: date, soon: pint.Quantity, *,
    stimulation: StimulatorContext | None = None, settings: ClinicSettings | None = None,
    catalog: DeviceCatalog | None = None,
) -> tuple[WorkItem, ...]:  # fmt: skip
    """Open alarms, hard reconciliation findings, uncertain link deliveries, non-info findings
    of each patient's latest refill and (with ``stimulation`` and ``settings``) of each
    stimulator in place, urgent open assessments, batteries at ERI or EOS awaiting their
    checklist, and the overdue refills as one counted item; most severe first, then oldest
    first."""
    items: list[WorkItem] = []
    for a in repo.open_alarms():
        items.append(
            WorkItem(a.patient_id, "alarm", a.level, a.code, a.message, a.raised_at, "device", a.id)
        )
    latest = repo.latest_interrogations()
    stimulators = repo.stimulators_in_place() if stimulation is not None else ()
    items.extend(_reconciliation(latest))
    items.extend(_uncertain_deliveries(repo))
    for r in repo.latest_refill_findings():  # only the refills with findings, light rows
        for f in r.findings:
            if f.level is not Level.INFO:
                items.append(WorkItem(
                    r.patient_id, "refill-finding", f.level.value, f.code, f.message,
                    r.performed_at, f.source, r.refill_id,
                ))  # fmt: skip
    if stimulation is not None and settings is not None:
        items.extend(_stimulators(repo, stimulation, settings, today, stimulators))
    items.extend(_assessments(repo))
    items.extend(_replacements(repo, catalog, stimulation, latest, stimulators))
    items.extend(_overdue(repo, today, soon))
    items.sort(key=lambda i: (_RANK.get(i.level, 5), i.since))
    return tuple(items)
