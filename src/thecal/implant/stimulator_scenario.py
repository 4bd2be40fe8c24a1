"""Run a stimulator scenario: build the virtual IPG, write its groups at start, play the events
(each repeated ``every`` until ``until``), and return the log, every impedance report, battery
samples and the final status and truth. Pure: no I/O, no wall clock.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pint

from thecal.devices.log import EventKind
from thecal.devices.refusals import CommandResult
from thecal.devices.stimulator import ImpedanceReport, StimulatorStatus
from thecal.implant.firmware import SimLogEvent
from thecal.implant.stimulator_build import build
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.implant.stimulator_scenario_file import (
    Charge,
    ContactFault,
    Event,
    ImpedanceTest,
    Migration,
    MriMode,
    Relocation,
    Repair,
    SelectGroup,
    SetAmplitude,
    Stimulation,
    StimulatorScenario,
    WriteGroup,
)
from thecal.stimulation.catalog import StimulatorCatalog
from thecal.therapy.delivery import hours
from thecal.units import Dimension, InputError, parse_quantity

MAX_OCCURRENCES = 200_000
"""Most times one event (or the battery readings) may occur in a run: a guard against a file
asking for an event every second for years (simulation resource, not a device value)."""

SAMPLE_EVERY = timedelta(days=7)
"""Battery and impedance truth sampled weekly for plots (simulation output, not a device value)."""


@dataclass(frozen=True)
class EventReport:
    """One scenario event as it happened: what was asked and what the device answered."""

    index: int  # -1: the groups written at start
    time: datetime
    kind: str
    summary: str
    result: CommandResult | None


@dataclass(frozen=True)
class Sample:
    """Truth at one time: the cell's reading, its used share, and each contact's impedance."""

    time: datetime
    voltage: pint.Quantity
    used: float
    impedances: tuple[tuple[str, pint.Quantity], ...]


@dataclass(frozen=True)
class StimulatorResult:
    title: str
    model: str
    serial: str
    start: datetime
    end: datetime
    log: tuple[SimLogEvent, ...]
    reports: tuple[EventReport, ...]
    impedance: tuple[ImpedanceReport, ...]
    samples: tuple[Sample, ...]
    status: StimulatorStatus
    uncovered: tuple[str, ...]  # leads that migrated off target (truth)

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.log]


def _when(value: datetime | str, start: datetime, field: str) -> datetime:
    if isinstance(value, datetime):
        return value
    span = parse_quantity(value, field, Dimension.TIME)
    return start + timedelta(hours=float(span.to("h").magnitude))


def _times(ev: Event, i: int, start: datetime, end: datetime) -> Iterator[datetime]:
    t = _when(ev.at, start, f"events[{i}].at")
    if ev.every is None:
        yield t
        return
    step = parse_quantity(ev.every, f"events[{i}].every", Dimension.TIME).to("h").magnitude
    if not step > 0:
        raise InputError(f"events[{i}].every", "must be greater than zero", "e.g. '1 d'")
    stop = _when(ev.until, start, f"events[{i}].until") if ev.until is not None else end
    span_h = (min(stop, end) - t).total_seconds() / 3600
    if span_h / float(step) > MAX_OCCURRENCES:
        raise InputError(f"events[{i}].every", f"repeats more than {MAX_OCCURRENCES:,} times",
                         "a longer interval or a shorter span")  # fmt: skip
    n = 0
    while (at := t + timedelta(hours=float(step) * n)) <= min(stop, end):
        yield at
        n += 1


def _action(
    ev: Event, groups: Mapping[str, Any], i: int
) -> Callable[[SimulatedStimulator], tuple[str, CommandResult | None]]:
    """What the event does to the device: returns a summary and the device's answer."""
    f = f"events[{i}]"

    def run(d: SimulatedStimulator) -> tuple[str, CommandResult | None]:
        if isinstance(ev, ImpedanceTest):
            report, result = d.impedance_test()
            return f"{len(report.readings) if report else 0} readings", result
        if isinstance(ev, WriteGroup):
            if ev.group not in groups:
                raise InputError(f"{f}.group", f"no group {ev.group!r}", ", ".join(groups))
            return f"group {ev.group!r}", d.write_group(ev.group, groups[ev.group])
        if isinstance(ev, SelectGroup):
            return f"group {ev.group!r}", d.select_group(ev.group, patient=ev.patient)
        if isinstance(ev, SetAmplitude):
            amp = parse_quantity(ev.amplitude, f"{f}.amplitude", Dimension.CURRENT)
            return f"{ev.area}: {amp:~P}", d.set_amplitude(ev.area, amp, patient=ev.patient)
        if isinstance(ev, Stimulation):
            who = "patient" if ev.patient else "clinician"
            if ev.kind == "stimulation_on":
                return who, d.stimulation_on(patient=ev.patient)
            return who, d.stimulation_off(patient=ev.patient)
        if isinstance(ev, Charge):
            dur = parse_quantity(ev.duration, f"{f}.duration", Dimension.TIME)
            return f"{dur:~P}", d.charge(dur)
        if isinstance(ev, MriMode):
            if ev.kind in ("mri_mode_on", "mri_mode_off"):
                return "", d.mri_mode(ev.kind == "mri_mode_on")
            if ev.kind == "mri_scan":
                d.mri_exposure()
                return "scan", None
            if ev.kind == "acknowledge":
                return "all alarms", d.acknowledge_alarm()
            return d.interrogate().therapy.value, None
        return _fault(d, ev, f), None

    return run


def _fault(d: SimulatedStimulator, ev: Event, f: str) -> str:
    """Faults and surgery act on the plant only (the firmware learns of them by measuring)."""
    t = d.firmware.now
    if isinstance(ev, ContactFault):
        ohm = parse_quantity(ev.impedance, f"{f}.impedance", Dimension.IMPEDANCE)
        d.plant.fault(ev.contact, float(ohm.to("ohm").magnitude), t)
        return f"{ev.contact}: {ohm:~P}"
    if isinstance(ev, Repair):
        d.plant.fault(ev.contact, None, t)
        return ev.contact
    if isinstance(ev, Migration):
        d.plant.uncovered.add(ev.lead)
        return f"lead {ev.lead} moved: coverage lost"
    if isinstance(ev, Relocation):
        ohm = parse_quantity(ev.case_impedance, f"{f}.case_impedance", Dimension.IMPEDANCE)
        rise = parse_quantity(ev.case_rise_per_year, f"{f}.case_rise_per_year", Dimension.IMPEDANCE)
        d.plant.relocate_case(float(ohm.to("ohm").magnitude), float(rise.to("ohm").magnitude), t)
        return f"new pocket, case {ohm:~P}"
    raise AssertionError(ev.kind)  # the file model has no other kind


def run_stimulator_scenario(
    sc: StimulatorScenario,
    catalog: StimulatorCatalog,
    mri: Sequence[Mapping[str, Any]],
    until: datetime | None = None,
) -> StimulatorResult:
    """Run ``sc`` to ``until`` (default: the file's). Raises :class:`InputError` naming the
    scenario field on bad input."""
    built = build(sc, catalog, mri)
    d, groups = built.device, dict(built.groups)
    end = until or _when(sc.until, sc.start, "until")
    if end <= sc.start:
        raise InputError("until", "must be after start")
    if (end - sc.start).total_seconds() / 3600 / d.firmware.cell.check_h > MAX_OCCURRENCES:
        raise InputError("battery.check_interval", f"more than {MAX_OCCURRENCES:,} readings "
                         "in this run", "e.g. '1 d'")  # fmt: skip
    reports: list[EventReport] = []
    impedance: list[ImpedanceReport] = []
    samples: list[Sample] = []
    for name, program in built.groups:
        reports.append(EventReport(-1, sc.start, "write_group", name, d.write_group(name, program)))
    for i, ev in enumerate(sc.events):
        act = _action(ev, groups, i)
        for at in _times(ev, i, sc.start, end):

            def go(dev: SimulatedStimulator, act: Any = act, i: int = i, k: str = ev.kind) -> None:
                summary, result = act(dev)
                reports.append(EventReport(i, dev.now, k, summary, result))
                if k == "impedance_test" and result is not None and result.state_changed:
                    assert dev.firmware.last_report is not None  # the test just made one
                    impedance.append(dev.firmware.last_report)

            d.schedule(at, go, ev.kind)

    def sample(dev: SimulatedStimulator) -> None:
        p, cell = dev.plant, dev.firmware.cell
        samples.append(
            Sample(
                dev.now,
                cell.voltage(p.used_j) * _V,
                p.used_j / cell.energy_j,
                tuple((k, c.value * _OHM) for k, c in p.contacts.items()),
            )
        )

    t = sc.start
    while t <= end:
        d.schedule(t, sample, "sample")
        t += SAMPLE_EVERY
    d.advance(end)
    if not samples or hours(end) > hours(samples[-1].time):
        sample(d)
    return StimulatorResult(
        sc.title, d.capabilities.model, d.serial, sc.start, end, d.events(), tuple(reports),
        tuple(impedance), tuple(samples), d.interrogate(), tuple(sorted(d.plant.uncovered)),
    )  # fmt: skip


_V = parse_quantity("1 V", "", Dimension.VOLTAGE)
_OHM = parse_quantity("1 Ohm", "", Dimension.IMPEDANCE)
