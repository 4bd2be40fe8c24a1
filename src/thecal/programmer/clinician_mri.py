"""MRI checklists before and after a scan (pure; "before" writes nothing to the implant).

Sources: Medtronic SynchroMed II MRI guidelines; TGA recall notice (a pump is never programmed
to "stopped" as MRI preparation; a valve-gated pump must be emptied before the scan).
"""

from dataclasses import dataclass

from thecal.devices.log import EventKind
from thecal.programmer.clinician_session import (
    Session,
)
from thecal.programmer.commands import Op
from thecal.therapy.pump import PumpKind


@dataclass(frozen=True)
class ChecklistItem:
    text: str
    done: bool
    required: bool = True


def mri_ready(items: tuple[ChecklistItem, ...]) -> bool:
    """Every required checklist item is done (only then may a checklist say "ready")."""
    return all(i.done for i in items if i.required)


def _stopped_by_clinician(s: Session) -> bool:
    # From the implant's own log (device protocol), not from simulator hold strings.
    marks = [
        e.kind for e in s.cache.events if e.kind in (EventKind.PUMP_STOPPED, EventKind.PUMP_RESUMED)
    ]
    return bool(marks) and marks[-1] is EventKind.PUMP_STOPPED


def mri_before(s: Session, emptied: bool) -> tuple[ChecklistItem, ...]:
    """Before an MRI (read-only: nothing is written to the implant).

    A valve-gated pump must be emptied (a magnet opens both valves and dumps the
    reservoir): ``emptied`` is the clinician's statement that the whole reservoir was
    withdrawn; without it the checklist is not ready (:func:`mri_ready`). A pump is never
    programmed to "stopped" as MRI preparation (Medtronic SynchroMed II MRI guidelines; TGA
    recall notice): one that is stopped by a
    clinician is flagged, not ready. Active alarms are listed: a peristaltic pump that is
    alarming when the scan starts resumes only after a post-MRI interrogation."""
    s.interrogate()
    st, spec = s.status, s.spec
    items = [ChecklistItem(f"interrogated {st.serial} ({st.model})", True)]
    if spec.kind is PumpKind.VALVE_GATED:
        items.append(
            ChecklistItem(
                "valve-gated pump: withdraw the whole reservoir before the scan "
                "(the magnet opens the valves)",
                emptied,
            )
        )
    stopped = _stopped_by_clinician(s)
    items.append(
        ChecklistItem(
            "pump not programmed to 'stopped' for the scan (never stop it as MRI preparation)"
            + (": it is stopped now — resume it or review why" if stopped else ""),
            not stopped,
        )
    )
    alarms = ", ".join(a.condition.name for a in st.alarms if not a.resolved)
    items.append(
        ChecklistItem(
            "no active alarm"
            + (
                f" (active: {alarms}; a pump alarming at the scan resumes only after a "
                "post-MRI interrogation)"
                if alarms
                else ""
            ),
            not alarms,
            required=False,
        )
    )
    items.append(ChecklistItem("plan a post-MRI interrogation", True))
    return tuple(items)


def mri_after(s: Session) -> tuple[ChecklistItem, ...]:
    """After an MRI: post-MRI resume, interrogate, confirm delivery resumed."""
    reply = s.require(s.send(Op.POST_MRI_RESUME))
    s.interrogate()
    st = s.status
    return (
        ChecklistItem("post-MRI resume sent", reply.processed),
        ChecklistItem("interrogated after the scan", True),
        ChecklistItem(
            "delivery resumed" + ("" if st.delivering else f" (holds: {', '.join(st.holds)})"),
            st.delivering,
        ),
    )


__all__ = ["ChecklistItem", "mri_after", "mri_before", "mri_ready"]
