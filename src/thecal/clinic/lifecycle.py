"""Device lifecycle: procedures place and remove devices, within rules a device's history
must obey (a device is removed once, never before it was placed, never in the future; a
patient has at most one drug pump in place; each procedure kind places/removes what it says).
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from thecal.clinic.errors import LifecycleError, PermissionDenied
from thecal.clinic.model import Device, DeviceKind, Procedure, ProcedureKind, User
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork

_PUMPS = (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP)


def check_procedure(
    procedure: Procedure,
    placed: Sequence[Device],
    removed: Sequence[Device],
    current: Sequence[Device],
    today: date,
) -> None:
    """Raise :class:`LifecycleError` unless ``procedure`` may place ``placed`` and remove
    ``removed`` given the patient's devices ``current`` (all of them, in place or not)."""
    on = procedure.performed_on
    if on > today:
        raise LifecycleError("procedure.performed_on", f"{on} is in the future", f"<= {today}")
    kind = procedure.kind
    if kind is ProcedureKind.EXPLANT and (placed or not removed):
        raise LifecycleError("procedure.removed", "an explant removes devices and places none")
    if kind in (ProcedureKind.IMPLANT, ProcedureKind.TRIAL) and (removed or not placed):
        raise LifecycleError("procedure.placed", f"a {kind.value} places devices and removes none")
    if kind is ProcedureKind.TRIAL and not any(d.kind is DeviceKind.TRIAL_PUMP for d in placed):
        raise LifecycleError("procedure.placed", "a trial places an external trial pump")
    if kind is ProcedureKind.REPLACEMENT and not (
        any(d.kind is DeviceKind.PUMP for d in removed)
        and any(d.kind is DeviceKind.PUMP for d in placed)
    ):
        raise LifecycleError(
            "procedure.placed", "a replacement removes a pump and places a new one"
        )
    if kind is ProcedureKind.REVISION and not (placed or removed):
        raise LifecycleError("procedure.placed", "a revision places or removes a device")
    ids = [d.id for d in removed] + [d.id for d in placed]
    if len(set(ids)) != len(ids):
        raise LifecycleError("procedure.removed", "a device is listed twice in one procedure")
    known = {d.id: d for d in current}
    for d in removed:
        stored = known.get(d.id)
        if stored is None or stored.patient_id != procedure.patient_id:
            raise LifecycleError("procedure.removed", f"device {d.id} is not this patient's")
        if stored.removed_on is not None:
            raise LifecycleError(
                "procedure.removed",
                f"{stored.model} {stored.serial or stored.id} was already removed on "
                f"{stored.removed_on}",
            )
        if on < stored.implanted_on:
            raise LifecycleError(
                "procedure.performed_on",
                f"{on} is before {stored.model} was placed ({stored.implanted_on})",
            )
    for d in placed:
        if d.patient_id != procedure.patient_id:
            raise LifecycleError("procedure.placed", f"device {d.id} belongs to another patient")
        if d.id in known:
            raise LifecycleError("procedure.placed", f"device {d.id} was placed before")
        if d.implanted_on != on or d.removed_on is not None:
            raise LifecycleError(
                "procedure.placed", f"a placed device starts in place on the procedure date {on}"
            )
        if d.serial and any(
            c.serial == d.serial and c.model == d.model and c.in_place for c in current
        ):
            raise LifecycleError("procedure.placed", f"{d.model} {d.serial} is already in place")
    removed_ids = {d.id for d in removed}
    pumps_after = [
        d for d in current if d.kind in _PUMPS and d.in_place and d.id not in removed_ids
    ] + [d for d in placed if d.kind in _PUMPS]
    if len(pumps_after) > 1:
        raise LifecycleError(
            "procedure.placed", "a patient has at most one drug pump in place at a time"
        )


def record_procedure(
    uow: UnitOfWork,
    clock: Clock,
    actor: User,
    procedure: Procedure,
    placed: Sequence[Device] = (),
    reason: str = "",
) -> Procedure:
    """Record ``procedure``: add the ``placed`` devices, mark ``procedure.removed`` as removed
    on the procedure date, store the procedure — one transaction, audited as ``actor``."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "record procedures")
    now = clock()
    procedure = replace(procedure, placed=tuple(d.id for d in placed), by=actor.username)
    with uow.transaction(actor.username, now, reason or f"{procedure.kind.value} recorded") as repo:
        current = repo.devices_for(procedure.patient_id)
        removed = [_find(repo, i) for i in procedure.removed]
        check_procedure(procedure, placed, removed, current, now.date())
        for d in removed:
            repo.update_device(replace(d, removed_on=procedure.performed_on))
        for d in placed:
            repo.add_device(d)
        repo.add_procedure(procedure)
    return procedure


def _find(repo: ClinicRepository, device_id: str) -> Device:
    return repo.get_device(device_id)
