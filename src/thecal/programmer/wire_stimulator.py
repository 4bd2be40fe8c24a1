"""A spinal cord stimulator's data on the wire (pure, strict both ways): its
:class:`~thecal.devices.stimulator.StimulatorStatus` and
:class:`~thecal.devices.stimulator.ImpedanceReport` (programs:
:mod:`thecal.programmer.wire_stim_program`).

Quantities are ``{"value", "unit"}`` (UCUM), times naive ISO 8601 device times. The status is
the firmware's view only (no simulation time, no true impedance).
"""

from typing import Any

from thecal.devices.identity import BatteryState
from thecal.devices.stimulator import (
    ImpedanceReading,
    ImpedanceReport,
    ReadingFlag,
    StimulatorStatus,
    TherapyState,
)
from thecal.programmer.commands import (
    CommandError,
    quantity_from_json,
    quantity_json,
    time_from_json,
)
from thecal.programmer.wire_device import alarm_from_json, alarm_to_json
from thecal.programmer.wire_read import (
    read_bool,
    read_enum,
    read_int,
    read_list,
    read_obj,
    read_opt_time,
    read_str,
    time_text,
)
from thecal.programmer.wire_stim_program import stim_program_from_json, stim_program_to_json
from thecal.stimulation.catalog import BatteryKind
from thecal.units import Dimension, InputError, check_dimension

READING_KINDS = ("monopolar", "bipolar", "area")


def impedance_to_json(r: ImpedanceReport) -> dict[str, Any]:
    return {
        "at": r.at.isoformat(),
        "readings": [
            [x.label, x.kind, quantity_json(x.impedance), x.flag.value] for x in r.readings
        ],
    }


def _dim(value: Any, field: str, dim: Dimension) -> Any:
    q = quantity_from_json(value, field)
    try:
        check_dimension(q, field, dim)
    except InputError as exc:
        raise CommandError(field, exc.message) from None
    return q


def impedance_from_json(value: Any, field: str = "impedance") -> ImpedanceReport:
    d = read_obj(value, field)
    readings = []
    for i, row in enumerate(read_list(d.get("readings"), field + ".readings")):
        where = f"{field}.readings[{i}]"
        cells = read_list(row, where)
        if len(cells) != 4:
            raise CommandError(where, "expected [label, kind, impedance, flag]")
        kind = read_str(cells[1], where + ".kind")
        if kind not in READING_KINDS:
            raise CommandError(where + ".kind", f"unknown kind {kind[:20]!r}")
        readings.append(
            ImpedanceReading(
                read_str(cells[0], where + ".label"),
                kind,
                _dim(cells[2], where + ".impedance", Dimension.IMPEDANCE),
                read_enum(ReadingFlag, cells[3], where + ".flag"),
            )
        )
    return ImpedanceReport(time_from_json(d.get("at"), field + ".at"), tuple(readings))


def stim_status_to_json(s: StimulatorStatus) -> dict[str, Any]:
    """The clinician's view: therapy state, groups and running program, amplitudes and the
    firmware's safe maxima, battery, the last impedance test, alarms."""
    return {
        "family": "spinal cord stimulator",
        "serial": s.serial,
        "model": s.model,
        "device_time": s.device_time.isoformat(),
        "therapy": s.therapy.value,
        "delivery": s.delivery.value,
        "group": s.group,
        "groups": list(s.groups),
        "program": None if s.program is None else stim_program_to_json(s.program),
        "amplitudes": [[a, quantity_json(q)] for a, q in s.amplitudes],
        "safe_max": [[a, None if q is None else quantity_json(q)] for a, q in s.safe_max],
        "disabled_contacts": list(s.disabled_contacts),
        "battery_kind": s.battery_kind.value,
        "battery_voltage": quantity_json(s.battery_voltage),
        "battery_state": s.battery_state.value,
        "depleted": s.depleted,
        "last_impedance": None if s.last_impedance is None else impedance_to_json(s.last_impedance),
        "alarms": [alarm_to_json(a) for a in s.alarms],
        "eri_at": time_text(s.eri_at),
        "eos_at": time_text(s.eos_at),
        "last_seq": s.last_seq,
    }


def read_amplitudes(value: Any, field: str, *, optional: bool) -> list[tuple[str, Any]]:
    """``[[area, current], ...]`` (``optional``: a current may be null)."""
    out: list[tuple[str, Any]] = []
    for i, row in enumerate(read_list(value, field)):
        cells = read_list(row, f"{field}[{i}]")
        if len(cells) != 2:
            raise CommandError(f"{field}[{i}]", "expected [area, amplitude]")
        q = cells[1]
        out.append(
            (
                read_str(cells[0], f"{field}[{i}].area"),
                None if optional and q is None else _dim(q, f"{field}[{i}]", Dimension.CURRENT),
            )
        )
    return out


def stim_status_from_json(value: Any, field: str = "status") -> StimulatorStatus:
    """Strict inverse of :func:`stim_status_to_json` (``delivery`` must follow ``therapy``)."""
    d = read_obj(value, field)
    if d.get("family") != "spinal cord stimulator":
        raise CommandError(field + ".family", "not a spinal cord stimulator's status")
    therapy = read_enum(TherapyState, d.get("therapy"), field + ".therapy")
    imp = d.get("last_impedance")
    program = d.get("program")
    status = StimulatorStatus(
        serial=read_str(d.get("serial"), field + ".serial"),
        model=read_str(d.get("model"), field + ".model"),
        device_time=time_from_json(d.get("device_time"), field + ".device_time"),
        therapy=therapy,
        group=None if d.get("group") is None else read_str(d["group"], field + ".group"),
        groups=tuple(
            read_str(g, f"{field}.groups[{i}]")
            for i, g in enumerate(read_list(d.get("groups"), field + ".groups"))
        ),
        program=None if program is None else stim_program_from_json(program, field + ".program"),
        amplitudes=tuple(
            read_amplitudes(d.get("amplitudes"), field + ".amplitudes", optional=False)
        ),
        safe_max=tuple(read_amplitudes(d.get("safe_max"), field + ".safe_max", optional=True)),
        disabled_contacts=tuple(
            read_str(c, f"{field}.disabled_contacts[{i}]")
            for i, c in enumerate(
                read_list(d.get("disabled_contacts"), field + ".disabled_contacts")
            )
        ),
        battery_kind=read_enum(BatteryKind, d.get("battery_kind"), field + ".battery_kind"),
        battery_voltage=_dim(
            d.get("battery_voltage"), field + ".battery_voltage", Dimension.VOLTAGE
        ),
        battery_state=read_enum(BatteryState, d.get("battery_state"), field + ".battery_state"),
        depleted=read_bool(d.get("depleted"), field + ".depleted"),
        last_impedance=None if imp is None else impedance_from_json(imp, field + ".last_impedance"),
        alarms=tuple(
            alarm_from_json(a, f"{field}.alarms[{i}]")
            for i, a in enumerate(read_list(d.get("alarms"), field + ".alarms"))
        ),
        eri_at=read_opt_time(d.get("eri_at"), field + ".eri_at"),
        eos_at=read_opt_time(d.get("eos_at"), field + ".eos_at"),
        last_seq=read_int(d.get("last_seq"), field + ".last_seq"),
    )
    if d.get("delivery") != status.delivery.value:
        raise CommandError(field + ".delivery", "contradicts the therapy state")
    return status


__all__ = [
    "impedance_from_json",
    "impedance_to_json",
    "read_amplitudes",
    "stim_status_from_json",
    "stim_status_to_json",
]
