"""Store an implant interrogation snapshot (status and log, JSON) for a patient — one
transaction, audited with who and when. Reading the implant is the caller's job (the
programmer service over the link); this only records what was read.

:func:`read_snapshot` reads a stored snapshot back for display (the history pages and the
API): times, reservoir, alarms and events as typed values, tolerant of a snapshot written by
an older or different programmer (a missing or unreadable part becomes None / empty)."""

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pint

from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import Device, Interrogation, User
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.workflows import pump_in_place
from thecal.devices.states import DeliveryState
from thecal.programmer.commands import quantity_from_json
from thecal.units import Q_, InputError, fmt, known_unit

Reconciler = Callable[[ClinicRepository, Interrogation, Device], Interrogation]
"""Inside the interrogation's transaction: the record with its reconciliation findings (and
anything the reconciliation writes, such as the clinic alarms raised from the implant's)."""


def record_interrogation(
    uow: UnitOfWork,
    clock: Clock,
    actor: User,
    patient_id: str,
    serial: str,
    status: dict[str, Any],
    log: Sequence[dict[str, Any]],
    reconcile_with: Reconciler | None = None,
) -> Interrogation:
    """Store the snapshot against the patient's pump in place, which must have ``serial`` (the
    implant that answered), with the findings of ``reconcile_with`` (the record compared in the
    same transaction; None: not reconciled). Viewers may not interrogate
    (:class:`PermissionDenied`); a serial that is not the patient's pump is an
    :class:`InputError` on ``device.serial``."""
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
        if reconcile_with is not None:
            record = reconcile_with(repo, record, device)
        repo.add_interrogation(record)
    return record


@dataclass(frozen=True)
class SnapshotAlarm:
    """An alarm in the stored status (the implant's alarm state at the interrogation)."""

    name: str
    critical: bool
    raised_at: datetime | None
    acknowledged: bool
    resolved: bool


@dataclass(frozen=True)
class SnapshotEvent:
    """One stored log event; ``values`` are display texts such as ``expected_before 1.2 mL``."""

    seq: int | None
    at: datetime | None  # device clock
    kind: str
    message: str
    values: tuple[str, ...]
    alarm: str | None


@dataclass(frozen=True)
class SnapshotView:
    """A stored interrogation as read back: who/when (clinic clock) and what the implant said
    (device clock). ``events`` are those read in that interrogation, in log (seq) order."""

    interrogation: Interrogation
    serial: str
    model: str
    device_time: datetime | None
    delivering: bool | None
    delivery: DeliveryState | None  # None: not in the snapshot (stored before it was) or unknown
    holds: tuple[str, ...]
    reservoir_estimate: pint.Quantity | None
    low_reservoir_threshold: pint.Quantity | None
    delivered_total: pint.Quantity | None
    alarms: tuple[SnapshotAlarm, ...]
    eri_at: datetime | None
    eos_at: datetime | None
    last_seq: int | None
    events: tuple[SnapshotEvent, ...]

    @property
    def active_alarms(self) -> tuple[SnapshotAlarm, ...]:
        """Alarms whose condition was not resolved at the interrogation."""
        return tuple(a for a in self.alarms if not a.resolved)

    @property
    def state(self) -> str:
        """``delivering``, ``not delivering (holds)`` or ``unknown`` (not in the snapshot)."""
        if self.delivering is None:
            return "unknown"
        if self.delivering:
            return "delivering"
        state = "" if self.delivery is None else f": {self.delivery.value}"
        return "not delivering" + state + (f" ({', '.join(self.holds)})" if self.holds else "")

    @property
    def summary(self) -> str:
        """One line for lists and the timeline: reservoir, delivery state, open alarms."""
        reservoir = fmt(self.reservoir_estimate) if self.reservoir_estimate is not None else "—"
        names = ", ".join(a.name for a in self.active_alarms) or "none"
        return f"reservoir {reservoir}; {self.state}; alarms: {names}"


_DELIVERY_STATES = frozenset(d.value for d in DeliveryState)


def _delivery(value: Any) -> DeliveryState | None:
    """A known delivery state, else None (snapshots stored before the state was recorded)."""
    return DeliveryState(value) if isinstance(value, str) and value in _DELIVERY_STATES else None


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _quantity(value: Any) -> pint.Quantity | None:
    try:
        return None if value is None else quantity_from_json(value, "status")
    except ValueError:  # CommandError: not a {"value", "unit"} the programmer writes
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _value_text(value: Any) -> str:
    """``[name, magnitude, unit]`` (a pint unit) → ``name 1.2 mL``; anything else as text."""
    if isinstance(value, list | tuple) and len(value) == 3:
        name, magnitude, unit = value
        # A unit from the allow-list only (one lookup): stored text never reaches pint's parser.
        known = known_unit(unit) if isinstance(unit, str) else None
        number = isinstance(magnitude, int | float) and not isinstance(magnitude, bool)
        # False for NaN, infinity and an integer beyond float range alike.
        if known is None or not number or not abs(magnitude) <= sys.float_info.max:
            return f"{name} {magnitude} {unit}"
        return f"{name} {fmt(Q_(float(magnitude), known))}"
    return str(value)


def _alarm(a: Any) -> SnapshotAlarm:
    a = a if isinstance(a, dict) else {"name": str(a)}
    return SnapshotAlarm(str(a.get("name", a.get("condition", "?"))), a.get("critical") is True,
                         _time(a.get("raised_at")), a.get("acknowledged") is True,
                         a.get("resolved") is True)  # fmt: skip


def _event(e: Any) -> SnapshotEvent:
    e = e if isinstance(e, dict) else {"message": str(e)}
    values = e.get("values")
    return SnapshotEvent(
        _int(e.get("seq")), _time(e.get("at")), str(e.get("kind", "")), str(e.get("message", "")),
        tuple(_value_text(v) for v in values) if isinstance(values, list) else (),
        str(e["alarm"]) if e.get("alarm") else None,
    )  # fmt: skip


def read_snapshot(interrogation: Interrogation) -> SnapshotView:
    """The stored status and log of ``interrogation`` as typed values (see the module doc)."""
    s = interrogation.status
    holds, alarms = s.get("holds"), s.get("alarms")
    delivering = s.get("delivering")
    return SnapshotView(
        interrogation,
        str(s.get("serial", "")),
        str(s.get("model", "")),
        _time(s.get("device_time")),
        delivering if isinstance(delivering, bool) else None,
        _delivery(s.get("delivery")),
        tuple(str(h) for h in holds) if isinstance(holds, list) else (),
        _quantity(s.get("reservoir_estimate")),
        _quantity(s.get("low_reservoir_threshold")),
        _quantity(s.get("delivered_total")),
        tuple(_alarm(a) for a in alarms) if isinstance(alarms, list) else (),
        _time(s.get("eri_at")),
        _time(s.get("eos_at")),
        _int(s.get("last_seq")),
        tuple(_event(e) for e in interrogation.log),
    )
