"""What the printable refill session record shows of a concentration change: the notes (old
and new concentrations, old and new rate with the arithmetic, the bridge bolus and what was
done with it), the program change recorded with the refill, and what the pump said to the
program and to the bridge bolus (read only)."""

from dataclasses import dataclass

from thecal.clinic.implant_link_model import LinkDelivery
from thecal.clinic.model import ProgramChange, RefillRecord
from thecal.clinic.ports import UnitOfWork
from thecal.clinic.refill_program import REASON, notes_of


@dataclass(frozen=True)
class SessionChange:
    """``change``: the program change stored with the refill (None: the pump did not confirm
    the program, the prescription did not change); ``program``, ``bridge``: the deliveries
    over the link (None: not sent)."""

    notes: tuple[tuple[str, str], ...]
    change: ProgramChange | None
    program: LinkDelivery | None
    bridge: LinkDelivery | None

    def note(self, name: str) -> str:
        return next((v for k, v in self.notes if k == name), "")


def session_change(
    uow: UnitOfWork, *, patient_id: str, refill: RefillRecord
) -> SessionChange | None:
    """The concentration change made with ``refill`` (None: the refill kept the program).
    The program change and the program's delivery were stored in the refill's transaction
    (the same time); the bridge's delivery names the refill."""
    at = refill.performed_at
    with uow.reader() as repo:
        changes = repo.program_changes_for(patient_id)
        deliveries = repo.link_deliveries_for(patient_id)
    change = next((c for c in changes if c.at == at and c.reason.startswith(REASON)), None)
    program = next((d for d in deliveries if d.what == "program" and d.at == at), None)
    bridge = next(
        (d for d in deliveries if d.what == "bridge" and ("refill", refill.id) in d.payload), None
    )
    if change is not None:
        notes = notes_of(change.reason)
    elif program is not None:
        notes = tuple((k, v) for k, v in program.payload if k != "plan")
    else:
        return None
    return SessionChange(notes, change, program, bridge)


__all__ = ["SessionChange", "session_change"]
