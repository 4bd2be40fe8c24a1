"""Clinic alarms from the implant: each alarm an interrogation reads becomes a clinic
:class:`~thecal.clinic.model.Alarm` (once: the same device, alarm code and time raised is the
same alarm), which a clinician acknowledges (who, when) and resolves (who, when, why). Every
write is audited in the unit of work; a viewer may do neither."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.interrogation import SnapshotView
from thecal.clinic.model import Alarm, Device, User
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.units import InputError

# A resolution says why in a few sentences; longer text is refused, not cut.
MAX_RESOLUTION = 2000


def alarms_from_snapshot(
    repo: ClinicRepository, view: SnapshotView, device: Device
) -> tuple[Alarm, ...]:
    """Add a clinic alarm for each alarm the implant reports as not resolved that the clinic
    does not have yet (same device, code and time raised); returns those added. The code is
    the implant's alarm name; the time raised is the implant's (its clock), else the reading's."""
    known = {(a.device_id, a.code, a.raised_at) for a in repo.alarms_for(device.patient_id)}
    added: list[Alarm] = []
    for a in view.active_alarms:
        raised = a.raised_at or view.interrogation.at
        if (device.id, a.name, raised) in known:
            continue
        kind = "critical" if a.critical else "non-critical"
        alarm = Alarm(
            device.patient_id, a.name, kind,
            f"Pump {device.serial} ({device.model}) reports a {kind} alarm {a.name}, raised "
            f"{raised:%Y-%m-%d %H:%M} by the pump's clock; read at the interrogation of "
            f"{view.interrogation.at:%Y-%m-%d %H:%M}.",
            raised, device.id,
        )  # fmt: skip
        repo.add_alarm(alarm)
        known.add((device.id, a.name, raised))
        added.append(alarm)
    return tuple(added)


def _open_alarm(repo: ClinicRepository, alarm_id: str) -> Alarm:
    for a in repo.open_alarms():
        if a.id == alarm_id:
            return a
    raise NotFoundError("alarm", alarm_id)


def acknowledge_alarm(uow: UnitOfWork, clock: Clock, actor: User, alarm_id: str) -> Alarm:
    """Record that ``actor`` saw the open alarm now (the first acknowledgement is kept: a
    second one changes nothing). PermissionDenied for a viewer; NotFoundError when no open
    alarm has ``alarm_id``."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "acknowledge alarms")
    at = clock()
    with uow.transaction(actor.username, at, "alarm acknowledged") as repo:
        alarm = _open_alarm(repo, alarm_id)
        if alarm.acknowledged_at is not None:
            return alarm
        alarm = replace(alarm, acknowledged_at=at, acknowledged_by=actor.username)
        repo.update_alarm(alarm)
    return alarm


def resolve_alarm(uow: UnitOfWork, clock: Clock, actor: User, alarm_id: str, why: str) -> Alarm:
    """Close the open alarm now with ``why`` (required, at most MAX_RESOLUTION characters);
    one not yet acknowledged is acknowledged by the same user at the same time.
    PermissionDenied for a viewer; InputError on ``alarm.resolution``; NotFoundError when no
    open alarm has ``alarm_id`` (a resolved alarm stays resolved)."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "resolve alarms")
    text = why.strip()
    if not text:
        raise InputError("alarm.resolution", "is required", "why the alarm is resolved")
    if len(text) > MAX_RESOLUTION:
        raise InputError("alarm.resolution", f"is longer than {MAX_RESOLUTION} characters",
                         f"at most {MAX_RESOLUTION} characters")  # fmt: skip
    at = clock()
    with uow.transaction(actor.username, at, "alarm resolved") as repo:
        alarm = _open_alarm(repo, alarm_id)
        alarm = replace(
            alarm, cleared_at=at, cleared_by=actor.username, resolution=text,
            acknowledged_at=alarm.acknowledged_at or at,
            acknowledged_by=alarm.acknowledged_by or actor.username,
        )  # fmt: skip
        repo.update_alarm(alarm)
    return alarm


@dataclass(frozen=True)
class AlarmList:
    """The alarms of one read: ``alarms`` (open, or a patient's all) with ``names`` by
    patient id."""

    alarms: tuple[Alarm, ...]
    names: dict[str, str]


@dataclass(frozen=True)
class AlarmServices:
    """The alarm workflows on the services' unit of work and clock
    (:attr:`thecal.clinic.services.ClinicServices.alarms`)."""

    uow: UnitOfWork
    clock: Clock

    def list(self, *, patient_id: str | None = None) -> AlarmList:
        """Every open alarm, oldest first; with ``patient_id`` that patient's alarms, open and
        resolved (NotFoundError: no such patient)."""
        with self.uow.reader() as repo:
            if patient_id is None:
                found: Sequence[Alarm] = repo.open_alarms()
            else:
                repo.get_patient(patient_id)
                found = repo.alarms_for(patient_id)
            ids = {a.patient_id for a in found}
            names = {pid: repo.get_patient(pid).display_name for pid in ids}
        return AlarmList(tuple(found), names)

    def acknowledge(self, *, actor: User, alarm_id: str) -> Alarm:
        """See :func:`acknowledge_alarm`."""
        return acknowledge_alarm(self.uow, self.clock, actor, alarm_id)

    def resolve(self, *, actor: User, alarm_id: str, why: str) -> Alarm:
        """See :func:`resolve_alarm`."""
        return resolve_alarm(self.uow, self.clock, actor, alarm_id, why)
