"""Battery of a stimulator: replacement planning for a primary-cell IPG from the measured drain,
and the recharge history of a rechargeable one.

A primary cell's end of service (EOS) is projected where the least-squares line through the
voltage readings reaches the catalog's EOS voltage; the range uses the slope plus and minus
``slope_errors`` standard errors (a product choice in the clinic's stimulator settings), the
line pivoting on the readings' mean point. Without the EOS voltage (not public for commercial
IPGs) or with fewer than 3 readings there is no projection: an info finding names what to enter.

Pure: readings, the catalog entry and ``today`` come in.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pint

from thecal.clinic.stimulator_model import BatteryReading
from thecal.stimulation.catalog import BatteryKind, IpgSpec
from thecal.therapy.compare import above
from thecal.therapy.findings import Code, Finding, Level
from thecal.units import Q_, fmt

MIN_READINGS = 3  # a slope and its standard error need n - 2 >= 1 degrees of freedom


@dataclass(frozen=True)
class Drain:
    """The least-squares line through the voltage readings: ``slope`` (V/d) with its standard
    error, through the mean point (``mean_at``, ``mean_voltage``)."""

    slope: pint.Quantity
    slope_error: pint.Quantity
    mean_at: datetime
    mean_voltage: pint.Quantity
    readings: int


@dataclass(frozen=True)
class BatteryOutlook:
    """What the clinic shows for a stimulator's battery: the latest reading, the drain and
    the projected EOS (``earliest`` / ``nominal`` / ``latest``: dates, None when not
    projected; ``latest`` None also when the slope's range reaches zero drain), the
    catalog's typical longevity from the implant date, recharge sessions, and findings."""

    kind: BatteryKind | None
    latest: BatteryReading | None
    drain: Drain | None
    eos_voltage: pint.Quantity | None
    earliest: date | None
    nominal: date | None
    latest_eos: date | None
    typical_end: date | None
    recharges: int
    findings: tuple[Finding, ...]


def fit_drain(readings: Sequence[BatteryReading]) -> Drain | None:
    """The least-squares voltage line over time (None: fewer than 3 voltage readings).
    Worked example in the tests: 3.6 V, 3.5 V, 3.4 V at days 0, 100, 200 -> -0.001 V/d."""
    points = [(r.at, float(r.voltage.to("V").magnitude)) for r in readings if r.voltage is not None]
    if len(points) < MIN_READINGS:
        return None
    t0 = points[0][0]
    xs = [(t - t0).total_seconds() / 86400 for t, _ in points]
    ys = [v for _, v in points]
    n = len(points)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None  # every reading at the same time: no slope
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    residual = sum((y - (my + slope * (x - mx))) ** 2 for x, y in zip(xs, ys, strict=True))
    error = math.sqrt(residual / (n - 2) / sxx)
    return Drain(Q_(slope, "V/d"), Q_(error, "V/d"), t0 + timedelta(days=mx), Q_(my, "V"), n)


def _reaches(drain: Drain, slope: float, eos: pint.Quantity) -> date | None:
    """When the line with ``slope`` (V/d) through the mean point reaches ``eos``."""
    if slope >= 0:
        return None  # not falling: never reaches EOS on this line
    days = float((eos - drain.mean_voltage).to("V").magnitude) / slope
    try:
        return (drain.mean_at + timedelta(days=days)).date()
    except OverflowError:
        return None


def battery_outlook(
    readings: Sequence[BatteryReading],
    ipg: IpgSpec | None,
    model: str,
    implanted_on: date,
    today: date,
    slope_errors: float,
    slope_errors_source: str,
    replacement_lead: pint.Quantity,
    replacement_lead_source: str,
) -> BatteryOutlook:
    """The battery outlook of a stimulator ``model`` (catalog entry ``ipg``, None: not in the
    catalog). A projected earliest EOS on or before ``today + replacement_lead`` is a soft
    finding (plan the replacement now), a later one info."""
    ordered = sorted(readings, key=lambda r: (r.at, r.id))
    latest = ordered[-1] if ordered else None
    kind = ipg.battery if ipg is not None else None
    eos = ipg.get("eos_voltage") if ipg is not None else None
    typical = ipg.get("longevity_typical") if ipg is not None else None
    typical_end = (
        implanted_on + timedelta(days=float(typical.to("d").magnitude)) if typical else None
    )
    recharges = sum(1 for r in ordered if r.recharge)
    findings: list[Finding] = []
    drain = fit_drain(ordered)
    earliest = nominal = latest_eos = None
    if kind is BatteryKind.RECHARGEABLE:
        return BatteryOutlook(kind, latest, drain, eos, None, None, None, typical_end,
                              recharges, ())  # fmt: skip
    missing = []
    if ipg is None:
        missing.append(f"the stimulator catalog entry for {model!r}")
    elif kind is None:
        missing.append("the IPG's battery kind (primary or rechargeable) in the stimulator catalog")
    if eos is None:
        missing.append(
            "the IPG's end-of-service voltage (from its labelling) in the stimulator catalog"
        )
    if drain is None:
        missing.append(f"at least {MIN_READINGS} voltage readings")
    if missing:
        typical_text = (
            f" The catalog's typical longevity ({fmt(typical)}) puts the end near "
            f"{typical_end:%Y-%m-%d}, a registry median, not this patient's drain."
            if typical_end and typical is not None
            else ""
        )
        findings.append(Finding(
            Level.INFO, Code.STIM_INPUT_MISSING,
            f"Replacement of {model} not projected from the measured drain: enter "
            f"{', '.join(missing)}.{typical_text}",
            (ipg.source("longevity_typical") if ipg and typical else "")
            or "Stimulator catalog: vendor values that are not public are required inputs",
        ))  # fmt: skip
    else:
        assert drain is not None and eos is not None  # in ``missing`` otherwise
        slope = float(drain.slope.to("V/d").magnitude)
        spread = slope_errors * float(drain.slope_error.to("V/d").magnitude)
        nominal = _reaches(drain, slope, eos)
        earliest = _reaches(drain, slope - spread, eos)
        latest_eos = _reaches(drain, slope + spread, eos)
        if nominal is not None and earliest is not None:
            horizon = today + timedelta(days=float(replacement_lead.to("d").magnitude))
            soon = not above(Q_(earliest.toordinal(), ""), Q_(horizon.toordinal(), ""))
            until = f"{latest_eos:%Y-%m-%d}" if latest_eos else "an open end (the drain may be ~0)"
            findings.append(Finding(
                Level.SOFT if soon else Level.INFO, Code.STIM_REPLACEMENT_PROJECTED,
                f"{model}: end of service ({fmt(eos)}) projected between {earliest:%Y-%m-%d} "
                f"and {until} (nominal {nominal:%Y-%m-%d}) from {drain.readings} readings, "
                f"drain {fmt(drain.slope.to('mV/d'), 3)}."
                + (" Plan the replacement now." if soon else ""),
                f"{ipg.source('eos_voltage') if ipg else ''}; range: {slope_errors_source}; "
                f"lead time: {replacement_lead_source}",
            ))  # fmt: skip
    return BatteryOutlook(kind, latest, drain, eos, earliest, nominal, latest_eos, typical_end,
                          recharges, tuple(findings))  # fmt: skip
