"""Reconciliation: what an interrogated implant says, compared with the clinic's record at the
time of the reading. Pure: the caller reads the snapshot and the record; nothing here reads a
clock, a file or the database.

Five comparisons, each a :class:`~thecal.therapy.findings.Finding` with a stable code:

- **Clock drift** (``RECON-CLOCK-DRIFT``): the pump's clock minus the clinic's clock at the
  reading. A drift strictly above ``clock_drift_soft`` is soft, strictly above
  ``clock_drift_hard`` hard; a drift exactly on a threshold is not flagged (compare.above).
- **Reservoir** (``RECON-RESERVOIR``, soft): the pump's reservoir estimate against the volume
  the record expects (last fill and every prescription since, the therapy core's
  :func:`~thecal.therapy.reservoir.expected_volume`). Flagged when the difference is outside
  the pump's labelled accuracy band applied to the volume expected to have been delivered
  (over-infusion side: pump shows less; under-delivery side: pump shows more; a band the
  catalog does not give is not checked) or strictly above the drug library's refill
  discrepancy threshold. On the edge: not flagged.
- **Program** (``RECON-PROGRAM-UNKNOWN`` hard, ``RECON-PROGRAM-PREVIOUS`` soft,
  ``RECON-NO-PROGRAM`` hard): the implant's active program against the current prescription
  (drugs, concentrations, basal rates step by step, each drug's basal daily dose, boluses, the
  patient bolus). Equal to the current version: nothing. Equal to an earlier version: soft (the
  last change did not reach the pump). Equal to none: hard — a program that is not in the
  record is running in the patient.
- **Model** (``RECON-PUMP-MODEL``, hard): the model the implant reports is not the model of
  the pump in place in the record.
- **Alarms** (``IMPLANT-ALARM``): each alarm the implant reports as not resolved; critical ones
  hard, the others soft.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pint

from thecal.clinic.interrogation import SnapshotView
from thecal.devices.pump import Program
from thecal.therapy.compare import above, above_count, equal
from thecal.therapy.findings import Code, Finding, Level, ordered
from thecal.therapy.plan import ResolvedPlan
from thecal.therapy.pump import PumpSpec
from thecal.therapy.reservoir import ExpectedVolume
from thecal.therapy.schedule import DayProgram, Schedule
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity

_SNAPSHOT = "the implant's own status, read by the programmer at the interrogation"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ReconciliationSettings:
    """Clock drift thresholds (times, positive, soft <= hard) with their sources."""

    clock_drift_soft: pint.Quantity
    clock_drift_soft_source: str
    clock_drift_hard: pint.Quantity
    clock_drift_hard_source: str


def build_reconciliation_settings(origin: str, data: Mapping[str, Any]) -> ReconciliationSettings:
    """Parse ``[reconciliation]``; each value needs ``<name>_source``. :class:`InputError`
    naming ``<origin>: reconciliation.<field>``."""
    out: list[tuple[pint.Quantity, str]] = []
    for name in ("clock_drift_soft", "clock_drift_hard"):
        where = f"{origin}: reconciliation.{name}"
        raw, source = data.get(name), data.get(f"{name}_source")
        if not isinstance(raw, str):
            raise InputError(where, "is required", "a duration such as '15 min'")
        value = parse_quantity(raw, where, Dimension.TIME)
        if not value.magnitude > 0:
            raise InputError(where, "must be positive", "a duration > 0")
        if not isinstance(source, str) or not source.strip():
            raise InputError(where + "_source", "every value needs a source")
        out.append((value, source))
    (soft, soft_src), (hard, hard_src) = out
    if above(soft, hard):
        raise InputError(f"{origin}: reconciliation.clock_drift_soft",
                         f"{fmt(soft)} is above clock_drift_hard {fmt(hard)}",
                         "at most clock_drift_hard")  # fmt: skip
    return ReconciliationSettings(soft, soft_src, hard, hard_src)


@dataclass(frozen=True)
class RecordAtReading:
    """The record at the reading: the clinic's clock (``clinic_time``); the current
    prescription (``version``, ``prescribed``; None: none yet) and the earlier ones as
    (version, plan); the expected reservoir (None: not computable, ``expected_note`` says why);
    the pump's catalog entry; the library's refill discrepancy threshold (mL) and its source; the
    pump model the record has in place."""

    clinic_time: datetime
    version: int | None
    prescribed: ResolvedPlan | None
    earlier: tuple[tuple[int, ResolvedPlan], ...]
    expected: ExpectedVolume | None
    expected_note: str
    pump: PumpSpec | None
    discrepancy_threshold: pint.Quantity | None
    discrepancy_source: str
    device_model: str = ""


def _duration_text(seconds: float) -> str:
    """A drift for a nurse: years, days, hours or minutes, whichever reads best."""
    s = abs(seconds)
    for unit, size in (("years", 365.25 * 86400.0), ("days", 86400.0), ("h", 3600.0)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s / 60.0:.0f} min"


def check_clock(
    device_time: datetime | None, clinic_time: datetime, settings: ReconciliationSettings | None
) -> list[Finding]:
    """Clock drift (see the module doc). No device time or no thresholds: an info finding."""
    if device_time is None or settings is None:
        why = "the snapshot has no pump time" if device_time is None else "no thresholds set"
        return [Finding(Level.INFO, Code.RECON_CLOCK_DRIFT,
                        f"The pump's clock was not compared with the clinic's: {why}.",
                        _SNAPSHOT)]  # fmt: skip
    drift_s = (device_time - clinic_time).total_seconds()
    drift = Q_(abs(drift_s), "s")
    for limit, source, level in (
        (settings.clock_drift_hard, settings.clock_drift_hard_source, Level.HARD),
        (settings.clock_drift_soft, settings.clock_drift_soft_source, Level.SOFT),
    ):
        if above(drift, limit):
            unit = "d" if not above(Q_(1, "d"), limit) else "min"  # 1 d, 1057 d; 15 min, 16 min
            side = "ahead of" if drift_s > 0 else "behind"
            return [Finding(
                level, Code.RECON_CLOCK_DRIFT,
                f"The pump's clock is {_duration_text(drift_s)} {side} the clinic's (pump "
                f"{device_time:%Y-%m-%d %H:%M}, clinic {clinic_time:%Y-%m-%d %H:%M}; more than "
                f"{fmt(limit)}). The pump runs its flex schedule and dates its log and alarms "
                "by its own clock: set the pump's clock with the programmer, then check the "
                "schedule's times and the refill date.",
                source, limit=limit.to(unit), value=drift.to(unit),
            )]  # fmt: skip
    return []


def check_reservoir(reported: pint.Quantity | None, record: RecordAtReading) -> list[Finding]:
    """The pump's reservoir estimate against the record's expected volume (module doc)."""
    if reported is None or record.expected is None:
        why = "the snapshot has no reservoir estimate" if reported is None else record.expected_note
        return [Finding(Level.INFO, Code.RECON_RESERVOIR,
                        f"The reservoir was not compared with the record: {why}.",
                        _SNAPSHOT)]  # fmt: skip
    pump_ml = reported.to("mL")
    expected = record.expected.volume.to("mL")
    delivered = record.expected.delivered.to("mL")
    diff = pump_ml - expected  # positive: the pump believes more is left than the record
    pump = record.pump
    band_name = "accuracy_under" if diff.magnitude > 0 else "accuracy_over"
    band: float | None = None if pump is None else getattr(pump, band_name)
    limit, source = None, ""
    # The band is a fraction of what was delivered: 15 % of 8 mL delivered = 1.2 mL.
    if (
        band is not None and pump is not None and delivered.magnitude > 0
        and above_count(abs(diff.magnitude) / delivered.magnitude, band)
    ):  # fmt: skip
        limit, source = Q_(band * delivered.magnitude, "mL"), pump.source(band_name)
    threshold = record.discrepancy_threshold
    if limit is None and threshold is not None and above(abs(diff), threshold.to("mL")):
        limit, source = threshold.to("mL"), record.discrepancy_source
    if limit is None:
        return []
    if diff.magnitude > 0:
        meaning = (
            "The pump believes more is left than the record: its low-reservoir alarm may come "
            "too late and the pump may run empty without warning (withdrawal). Check the fill "
            "volume entered at the last refill and the programmed rate."
        )
    else:
        meaning = (
            "The pump believes less is left than the record: a higher rate or a bolus not in "
            "the record, or a wrong fill volume entered. Assess the patient for overdose "
            "signs and check the program and the bolus log."
        )
    return [Finding(
        Level.SOFT, Code.RECON_RESERVOIR,
        f"The pump estimates {fmt(pump_ml)} in the reservoir; the record expects "
        f"{fmt(expected)} ({fmt(delivered)} delivered since the last fill), a difference of "
        f"{fmt(abs(diff))}, more than {fmt(limit)}. {meaning}",
        source, limit=limit, value=abs(diff),
    )]  # fmt: skip


def _day_volume(day: DayProgram) -> pint.Quantity:
    """The basal volume one day program delivers (mL): each step's rate for its share of 24 h."""
    starts = [s.start for s in day.steps]
    ends = [*starts[1:], None]
    total = 0.0
    for step, end in zip(day.steps, ends, strict=True):
        a = step.start.hour * 60 + step.start.minute
        b = 24 * 60 if end is None else end.hour * 60 + end.minute
        total += float(step.rate.to("mL/d").magnitude) * (b - a) / (24 * 60)
    return Q_(total, "mL")


def _mean_daily_volume(schedule: Schedule) -> pint.Quantity:
    days = schedule.basal.days
    return Q_(sum(float(_day_volume(d).magnitude) for d in days) / len(days), "mL/d")


def _same(a: pint.Quantity, b: pint.Quantity) -> bool:
    return a.dimensionality == b.dimensionality and equal(a, b)


def _steps_text(day: DayProgram) -> str:
    return ", ".join(f"{s.start:%H:%M} {fmt(s.rate.to('mL/d'))}" for s in day.steps)


def _schedule_differences(implant: Schedule, record: Schedule) -> list[str]:
    out: list[str] = []
    for name, a, b in zip(_WEEKDAYS, implant.basal.days, record.basal.days, strict=False):
        pairs = zip(a.steps, b.steps, strict=False)
        same = len(a.steps) == len(b.steps) and all(
            x.start == y.start and _same(x.rate, y.rate) for x, y in pairs
        )
        if not same:
            out.append(f"basal rate on {name}: pump {_steps_text(a)}, record {_steps_text(b)}")
            break  # one day is enough to show; the daily doses below cover the rest
    if len(implant.periodic) != len(record.periodic) or not all(
        _same(x.volume, y.volume) and _same(x.every, y.every) and _same(x.duration, y.duration)
        and x.first.time() == y.first.time()
        for x, y in zip(implant.periodic, record.periodic, strict=False)
    ):  # fmt: skip
        out.append(f"periodic boluses: pump {len(implant.periodic)}, record "
                   f"{len(record.periodic)}, or their volume, interval or time differ")  # fmt: skip
    if len(implant.single) != len(record.single) or not all(
        _same(x.volume, y.volume) and x.at == y.at
        for x, y in zip(implant.single, record.single, strict=False)
    ):
        out.append(f"single boluses: pump {len(implant.single)}, record {len(record.single)}, "
                   "or their volume or time differ")  # fmt: skip
    return out


def program_differences(implant: Program, record: ResolvedPlan) -> list[str]:
    """What differs between the implant's program and a prescription, each as a line for a
    nurse (drug, concentration, basal rate, basal daily dose per drug, boluses). Empty: same."""
    out: list[str] = []
    pump_drugs = {i.drug.name: i.concentration for i in implant.admixture.ingredients}
    rec_drugs = {i.drug.name: i.concentration for i in record.admixture.ingredients}
    for drug in sorted(set(pump_drugs) ^ set(rec_drugs)):
        where = "the pump's program only" if drug in pump_drugs else "the record only"
        out.append(f"{drug} is in {where}")
    for drug in sorted(set(pump_drugs) & set(rec_drugs)):
        if not _same(pump_drugs[drug], rec_drugs[drug]):
            out.append(f"{drug} concentration: pump {fmt(pump_drugs[drug])}, record "
                       f"{fmt(rec_drugs[drug])}")  # fmt: skip
    out.extend(_schedule_differences(implant.schedule, record.schedule))
    pump_flow, rec_flow = _mean_daily_volume(implant.schedule), _mean_daily_volume(record.schedule)
    for drug in sorted(set(pump_drugs) & set(rec_drugs)):
        a, b = pump_drugs[drug] * pump_flow, rec_drugs[drug] * rec_flow
        unit = (rec_drugs[drug] * Q_(1, "mL/d")).to_reduced_units().units
        a_d, b_d = a.to(unit), b.to(unit)
        if not _same(a_d, b_d):
            out.append(f"{drug} basal daily dose: pump {fmt(a_d)}, record {fmt(b_d)}")
    ptb_a, ptb_b = implant.patient_bolus, record.program.patient_bolus
    if (ptb_a is None) != (ptb_b is None) or (
        ptb_a is not None and ptb_b is not None and not (
            _same(ptb_a.volume, ptb_b.volume) and _same(ptb_a.lockout, ptb_b.lockout)
            and ptb_a.max_per_day == ptb_b.max_per_day
        )
    ):  # fmt: skip
        out.append("patient bolus settings differ (volume, lockout or maximum a day)")
    return out


def check_program(
    implant: Program | None, unreadable: str | None, record: RecordAtReading
) -> list[Finding]:
    """The implant's active program against the prescriptions (module doc). ``unreadable``:
    why the snapshot's program could not be read (an unknown drug, a malformed document)."""
    current = record.prescribed
    if unreadable is not None:
        return [Finding(Level.HARD, Code.RECON_PROGRAM_NOT_IN_RECORD,
                        f"The pump's program could not be read ({unreadable}), so it cannot be "
                        "matched with the record. Interrogate again; if it persists, reprogram "
                        "the pump from the current prescription.", _SNAPSHOT)]  # fmt: skip
    if implant is None:
        if current is None:
            return []
        return [Finding(Level.HARD, Code.RECON_NO_PROGRAM,
                        f"The pump has no program but prescription version {record.version} is in "
                        "force: the patient is not receiving the prescribed drug. Program the "
                        "pump and assess for withdrawal.", _SNAPSHOT)]  # fmt: skip
    if current is None:
        return [Finding(Level.HARD, Code.RECON_PROGRAM_NOT_IN_RECORD,
                        "The pump runs a program but the record has no prescription: record "
                        "the prescription, or reprogram the pump.", _SNAPSHOT)]  # fmt: skip
    diffs = program_differences(implant, current)
    if not diffs:
        return []
    detail = "; ".join(diffs)
    for version, plan in sorted(record.earlier, key=lambda e: -e[0]):
        if not program_differences(implant, plan):
            return [Finding(
                Level.SOFT, Code.RECON_PROGRAM_PREVIOUS,
                f"The pump still runs prescription version {version}, not the current version "
                f"{record.version}: {detail}. The last program change did not reach the pump: "
                "program the pump with the current prescription.", _SNAPSHOT,
            )]  # fmt: skip
    return [Finding(
        Level.HARD, Code.RECON_PROGRAM_NOT_IN_RECORD,
        f"The pump runs a program that is in no prescription of the record (compared with "
        f"version {record.version}: {detail}). Find out who programmed it and why, assess the "
        "patient, and either record it as a prescription or reprogram the pump.", _SNAPSHOT,
    )]  # fmt: skip


def check_model(view: SnapshotView, record: RecordAtReading) -> list[Finding]:
    """The model the implant reports against the pump the record has in place (same serial)."""
    if not view.model or not record.device_model:
        return []
    if view.model.strip().casefold() == record.device_model.strip().casefold():
        return []
    return [Finding(Level.HARD, Code.RECON_PUMP_MODEL,
                    f"The implant reports model {view.model}, the record has a "
                    f"{record.device_model} with this serial: the record's device or the implant "
                    "answering is wrong. Correct the record before programming or refilling "
                    "(reservoir size and accuracy differ between models).",
                    _SNAPSHOT)]  # fmt: skip


def check_alarms(view: SnapshotView) -> list[Finding]:
    """Each alarm the implant reports as not resolved: critical hard, the others soft."""
    out: list[Finding] = []
    for a in view.active_alarms:
        when = f", raised {a.raised_at:%Y-%m-%d %H:%M} (pump clock)" if a.raised_at else ""
        ack = "acknowledged" if a.acknowledged else "not acknowledged"
        level = Level.HARD if a.critical else Level.SOFT
        kind = "critical" if a.critical else "non-critical"
        out.append(Finding(level, Code.IMPLANT_ALARM,
                           f"The pump reports a {kind} alarm: {a.name}{when}; {ack}. Find and "
                           "treat its cause; it is on the clinic's alarm list.",
                           _SNAPSHOT))  # fmt: skip
    return out


def reconcile(
    view: SnapshotView,
    implant: Program | None,
    unreadable: str | None,
    record: RecordAtReading,
    settings: ReconciliationSettings | None,
) -> tuple[Finding, ...]:
    """Every reconciliation finding of one interrogation, hard first (module doc)."""
    return ordered([
        *check_model(view, record),
        *check_program(implant, unreadable, record),
        *check_alarms(view),
        *check_clock(view.device_time, record.clinic_time, settings),
        *check_reservoir(view.reservoir_estimate, record),
    ])  # fmt: skip


def blocking(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """The hard findings: what the worklist shows."""
    return tuple(f for f in findings if f.level is Level.HARD)
