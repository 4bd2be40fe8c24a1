"""What a scenario run returns: the merged log (and how it is merged), the clinical actions'
reports, the samples."""

from dataclasses import dataclass
from datetime import datetime

import pint

from thecal.devices.alarms import ALARMS, AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.pump import DeviceStatus
from thecal.implant.device import SimulatedPump
from thecal.implant.plant import PlantTruth
from thecal.therapy.findings import Finding, blocks

Values = tuple[tuple[str, pint.Quantity], ...]


@dataclass(frozen=True)
class LogEntry:
    """One line of the merged log. ``source`` is ``"device"`` (the pump's own log, what a
    programmer reads) or ``"scenario"`` (what happened outside the pump: faults, clinicians'
    hands, the truth a pump cannot see). ``seq`` is the device log's sequence number."""

    time: datetime
    source: str
    kind: str
    message: str
    seq: int | None = None
    device_time: datetime | None = None
    alarm: AlarmCondition | None = None
    values: Values = ()


@dataclass(frozen=True)
class ActionReport:
    """What a clinical action did and what the therapy core said about it. ``index`` is the
    action's position in ``actions`` (-1: the initial program at start)."""

    index: int
    kind: str
    time: datetime
    summary: str
    findings: tuple[Finding, ...] = ()
    values: Values = ()
    sent: bool = True

    @property
    def blocked(self) -> bool:
        return blocks(self.findings)


@dataclass(frozen=True)
class AlarmPeriod:
    """An alarm from raised to cleared (``end`` None: still active at the end)."""

    condition: AlarmCondition
    critical: bool
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class TimeSeries:
    """Samples taken at scenario events (before and after each action or fault) and at most
    every ``step`` in between — never per minute. Quantities are numpy arrays in mL."""

    times: tuple[datetime, ...]
    reservoir_true: pint.Quantity
    reservoir_estimate: pint.Quantity
    left_pump: pint.Quantity
    to_csf: pint.Quantity
    commanded: pint.Quantity
    step: pint.Quantity


@dataclass(frozen=True)
class ScenarioResult:
    title: str
    model: str
    serial: str
    seed: int
    flow_bias: float
    start: datetime
    end: datetime
    log: tuple[LogEntry, ...]
    reports: tuple[ActionReport, ...]
    status: DeviceStatus  # the firmware's view at the end (no telemetry session)
    truth: PlantTruth
    series: TimeSeries
    doses_to_csf: tuple[tuple[str, pint.Quantity], ...]
    doses_left_pump: tuple[tuple[str, pint.Quantity], ...]
    alarm_periods: tuple[AlarmPeriod, ...]

    def findings(self) -> tuple[Finding, ...]:
        """Every finding of every clinical action, in order."""
        return tuple(f for r in self.reports for f in r.findings)

    def device_events(self, kind: EventKind) -> tuple[LogEntry, ...]:
        return tuple(e for e in self.log if e.source == "device" and e.kind == kind.value)


def alarm_periods(log: tuple[LogEntry, ...], end: datetime) -> tuple[AlarmPeriod, ...]:
    """Alarm periods from the device log: raised -> cleared (acknowledged and resolved)."""
    open_: dict[AlarmCondition, datetime] = {}
    out: list[AlarmPeriod] = []
    for e in log:
        if e.source != "device" or e.alarm is None:
            continue
        if e.kind == EventKind.ALARM_RAISED.value and e.alarm not in open_:
            open_[e.alarm] = e.time
        elif e.kind == EventKind.ALARM_CLEARED.value and e.alarm in open_:
            out.append(AlarmPeriod(e.alarm, ALARMS[e.alarm].critical, open_.pop(e.alarm), e.time))
    for c, t in open_.items():
        out.append(AlarmPeriod(c, ALARMS[c].critical, t, None))
    return tuple(sorted(out, key=lambda p: (p.start, p.condition)))


def merge_log(pump: SimulatedPump, scenario: list[tuple[int, LogEntry]]) -> tuple[LogEntry, ...]:
    """Device entries in sequence, each scenario entry placed after the device entries that
    existed when it was written (so a cause comes before its effects)."""
    out: list[LogEntry] = []
    pending = iter(scenario)
    nxt = next(pending, None)
    for e in pump.events():
        while nxt is not None and nxt[0] < e.seq:
            out.append(nxt[1])
            nxt = next(pending, None)
        out.append(
            LogEntry(
                e.sim_time,
                "device",
                e.kind.value,
                e.message,
                e.seq,
                e.at,
                e.alarm,
                tuple(e.quantities().items()),
            )
        )
    while nxt is not None:
        out.append(nxt[1])
        nxt = next(pending, None)
    return tuple(out)
