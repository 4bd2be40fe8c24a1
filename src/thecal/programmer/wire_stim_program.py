"""A stimulation program (one group) on the wire (pure, strict both ways).

::

    {"title": "...", "areas": [{"name": "back", "mode": "current",
      "amplitude": {"value": 3.0, "unit": "mA"}, "pulse_width": {"value": 300.0, "unit": "us"},
      "waveform": {"kind": "tonic", "rate": {...Hz}, "pulses_per_burst": 1, "burst_rate": null},
      "contacts": [{"lead": "L1", "index": 3, "polarity": "cathode", "fraction": 1.0}, ...],
      "impedance": null, "cycling": null, "patient_min": {...mA}, "patient_max": {...mA}}]}

Decoding checks the shape only — every quantity finite with its dimension, 1 to 4 areas with
distinct names, shares in (0, 1], amplitudes not negative, durations and rates above zero —
and names the field. Whether the program is *safe* (Shannon k on every contact, the IPG's
ranges) is the stimulator firmware's own gate, applied when the group is committed.
"""

from typing import Any

from thecal.programmer.commands import CommandError, Qty, quantity_from_json, quantity_json
from thecal.programmer.wire_read import (
    read_enum,
    read_float,
    read_int,
    read_list,
    read_obj,
    read_str,
)
from thecal.stimulation.program import (
    CASE,
    MAX_AREAS,
    Area,
    ContactSetting,
    Cycling,
    Mode,
    Polarity,
    Program,
    Waveform,
    WaveformKind,
)
from thecal.therapy.compare import above_count, below
from thecal.units import Q_, Dimension, InputError, check_dimension

MAX_CONTACTS_PER_AREA = 33
"""Contacts one area may name: 32 on the largest paddles plus the case (a shape bound
against an oversized document, not a device value)."""


def _q(q: Qty | None) -> dict[str, Any] | None:
    return None if q is None else quantity_json(q)


def stim_program_to_json(p: Program) -> dict[str, Any]:
    """A stimulation :class:`Program` as JSON (full floats: a read-back compares equal)."""
    return {
        "title": p.title,
        "areas": [
            {
                "name": a.name,
                "mode": a.mode.value,
                "amplitude": quantity_json(a.amplitude),
                "pulse_width": quantity_json(a.pulse_width),
                "waveform": {
                    "kind": a.waveform.kind.value,
                    "rate": quantity_json(a.waveform.rate),
                    "pulses_per_burst": a.waveform.pulses_per_burst,
                    "burst_rate": _q(a.waveform.burst_rate),
                },
                "contacts": [
                    {
                        "lead": c.lead,
                        "index": c.index,
                        "polarity": c.polarity.value,
                        "fraction": c.fraction,
                    }
                    for c in a.contacts
                ],
                "impedance": _q(a.impedance),
                "cycling": None
                if a.cycling is None
                else {"on": quantity_json(a.cycling.on), "off": quantity_json(a.cycling.off)},
                "patient_min": _q(a.patient_min),
                "patient_max": _q(a.patient_max),
            }
            for a in p.areas
        ],
    }


def _quantity(value: Any, field: str, dim: Dimension, *, positive: bool) -> Qty:
    q = quantity_from_json(value, field)
    try:
        check_dimension(q, field, dim)
    except InputError as exc:
        raise CommandError(field, exc.message) from None
    zero = Q_(0.0, q.units)
    # A duration or rate of 0 (or less) is no pulse at all; an amplitude may be 0 (off).
    if below(q, zero) or (positive and not above_count(float(q.magnitude), 0.0)):
        raise CommandError(
            field, "must be greater than zero" if positive else "must not be negative"
        )
    return q


def _opt(d: dict[str, Any], key: str, field: str, dim: Dimension, positive: bool) -> Qty | None:
    value = d.get(key)
    return None if value is None else _quantity(value, f"{field}.{key}", dim, positive=positive)


def _contact(value: Any, field: str) -> ContactSetting:
    d = read_obj(value, field)
    _keys(d, {"lead", "index", "polarity", "fraction"}, field)
    lead = read_str(d.get("lead"), field + ".lead")
    index = d.get("index")
    if lead == CASE:
        if index is not None:
            raise CommandError(field + ".index", "the case has no contact number")
    elif read_int(index, field + ".index") < 0:
        raise CommandError(field + ".index", "must not be negative")
    fraction = read_float(d.get("fraction"), field + ".fraction")
    if not (above_count(fraction, 0.0) and not above_count(fraction, 1.0)):
        raise CommandError(field + ".fraction", "must be a share above 0 and at most 1")
    polarity = read_enum(Polarity, d.get("polarity"), field + ".polarity")
    return ContactSetting(lead, index, polarity, fraction)


def _keys(d: dict[str, Any], allowed: set[str], field: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise CommandError(f"{field}.{extra[0]}", "unexpected key")


def _area(value: Any, field: str) -> Area:
    d = read_obj(value, field)
    _keys(
        d,
        {
            "name",
            "mode",
            "amplitude",
            "pulse_width",
            "waveform",
            "contacts",
            "impedance",
            "cycling",
            "patient_min",
            "patient_max",
        },
        field,
    )
    mode = read_enum(Mode, d.get("mode"), field + ".mode")
    amp_dim = Dimension.CURRENT if mode is Mode.CURRENT else Dimension.VOLTAGE
    w = read_obj(d.get("waveform"), field + ".waveform")
    _keys(w, {"kind", "rate", "pulses_per_burst", "burst_rate"}, field + ".waveform")
    ppb = read_int(w.get("pulses_per_burst"), field + ".waveform.pulses_per_burst")
    if ppb < 1:
        raise CommandError(field + ".waveform.pulses_per_burst", "must be at least 1")
    waveform = Waveform(
        read_enum(WaveformKind, w.get("kind"), field + ".waveform.kind"),
        _quantity(w.get("rate"), field + ".waveform.rate", Dimension.FREQUENCY, positive=True),
        ppb,
        _opt(w, "burst_rate", field + ".waveform", Dimension.FREQUENCY, True),
    )
    contacts = read_list(d.get("contacts"), field + ".contacts")
    if not 1 <= len(contacts) <= MAX_CONTACTS_PER_AREA:
        raise CommandError(field + ".contacts", f"expected 1 to {MAX_CONTACTS_PER_AREA}")
    cyc = d.get("cycling")
    cycling = None
    if cyc is not None:
        c = read_obj(cyc, field + ".cycling")
        _keys(c, {"on", "off"}, field + ".cycling")
        cycling = Cycling(
            _quantity(c.get("on"), field + ".cycling.on", Dimension.TIME, positive=True),
            _quantity(c.get("off"), field + ".cycling.off", Dimension.TIME, positive=True),
        )
    return Area(
        read_str(d.get("name"), field + ".name"),
        mode,
        _quantity(d.get("amplitude"), field + ".amplitude", amp_dim, positive=False),
        _quantity(d.get("pulse_width"), field + ".pulse_width", Dimension.TIME, positive=True),
        waveform,
        tuple(_contact(x, f"{field}.contacts[{i}]") for i, x in enumerate(contacts)),
        _opt(d, "impedance", field, Dimension.IMPEDANCE, True),
        cycling,
        _opt(d, "patient_min", field, amp_dim, False),
        _opt(d, "patient_max", field, amp_dim, False),
    )


def stim_program_from_json(value: Any, field: str = "program") -> Program:
    """Strict inverse of :func:`stim_program_to_json`; raises :class:`CommandError` naming
    the field."""
    d = read_obj(value, field)
    _keys(d, {"title", "areas"}, field)
    areas = read_list(d.get("areas"), field + ".areas")
    if not 1 <= len(areas) <= MAX_AREAS:
        raise CommandError(field + ".areas", f"expected 1 to {MAX_AREAS} areas")
    decoded = tuple(_area(a, f"{field}.areas[{i}]") for i, a in enumerate(areas))
    names = [a.name for a in decoded]
    if len(set(names)) != len(names):
        raise CommandError(field + ".areas", "two areas have the same name")
    return Program(read_str(d.get("title", ""), field + ".title"), decoded)


__all__ = ["MAX_CONTACTS_PER_AREA", "stim_program_from_json", "stim_program_to_json"]
