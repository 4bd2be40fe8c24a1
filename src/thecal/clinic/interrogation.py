"""Store an implant interrogation snapshot (status and log, JSON) for a patient — one
transaction, audited with who and when. Reading the implant is the caller's job (the
programmer service over the link); this only records what was read."""

from collections.abc import Sequence
from typing import Any

from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import Interrogation, User
from thecal.clinic.ports import Clock, UnitOfWork
from thecal.clinic.workflows import pump_in_place
from thecal.units import InputError


def record_interrogation(
    uow: UnitOfWork,
    clock: Clock,
    actor: User,
    patient_id: str,
    serial: str,
    status: dict[str, Any],
    log: Sequence[dict[str, Any]],
) -> Interrogation:
    """Store the snapshot against the patient's pump in place, which must have ``serial`` (the
    implant that answered). Viewers may not interrogate (:class:`PermissionDenied`); a serial
    that is not the patient's pump is an :class:`InputError` on ``device.serial``."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "interrogate implants")
    at = clock()
    with uow.transaction(actor.username, at, "interrogation") as repo:
        device = pump_in_place(repo, patient_id)
        if device is None or device.serial != serial:
            raise InputError(
                "device.serial", f"implant {serial!r} is not this patient's pump in place",
                "the serial of the patient's implanted pump",
            )  # fmt: skip
        record = Interrogation(patient_id, device.id, at, dict(status), tuple(log), actor.username)
        repo.add_interrogation(record)
    return record
