"""What the pump can actually do: rate range, flex steps per day, and rounding to its step.

A rate is never rounded up: a dose the device cannot deliver exactly is delivered a little lower,
and the rounded value is shown (LoopKit's roundToSupported pattern)."""

import math

import pint

from thecal.therapy.compare import above, below
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.pump import PumpSpec
from thecal.therapy.schedule import BasalProgram, DayProgram, FlexStep
from thecal.units import ML_PER_DAY, Q_, fmt


def round_down(rate: pint.Quantity, resolution: pint.Quantity) -> pint.Quantity:
    """The largest multiple of ``resolution`` (flow) that is ≤ ``rate`` (flow), in mL/d."""
    r = rate.to(ML_PER_DAY).magnitude
    step = resolution.to(ML_PER_DAY).magnitude
    # A tiny tolerance so 0.3 / 0.1 does not floor to 2 by binary representation.
    return Q_(math.floor(r / step + 1e-9) * step, "mL/d")


def round_basal(basal: BasalProgram, pump: PumpSpec) -> tuple[BasalProgram, list[Finding]]:
    """Every basal rate rounded down to the pump's rate resolution, with an info finding for
    each rate that changed. Unchanged when the resolution is unknown (not public)."""
    if pump.rate_resolution is None:
        return basal, []
    findings: list[Finding] = []
    days: list[DayProgram] = []
    seen: set[tuple[float, float]] = set()
    for day in basal.days:
        steps: list[FlexStep] = []
        for step in day.steps:
            rounded = round_down(step.rate, pump.rate_resolution)
            before = step.rate.to(ML_PER_DAY).magnitude
            if abs(rounded.magnitude - before) > 1e-12 and (before, rounded.magnitude) not in seen:
                seen.add((before, rounded.magnitude))
                findings.append(
                    Finding(
                        Level.INFO,
                        Code.RATE_ROUNDED_DOWN,
                        f"The pump delivers in steps of {fmt(pump.rate_resolution.to('mL/d'))}: "
                        f"{fmt(step.rate.to('mL/d'))} is rounded down to {fmt(rounded)} "
                        "(never up).",
                        pump.source("rate_resolution") or "entered by the user",
                        limit=pump.rate_resolution,
                        value=rounded,
                    )
                )
            steps.append(FlexStep(step.start, rounded))
        days.append(DayProgram(tuple(steps)))
    return BasalProgram(tuple(days)), findings


def capability_findings(basal: BasalProgram, pump: PumpSpec) -> list[Finding]:
    """Hard findings for rates outside the pump's range and too many flex steps a day."""
    out: list[Finding] = []
    rates = {round(r.to(ML_PER_DAY).magnitude, 12): r for r in basal.rates()}
    for rate in rates.values():
        if rate.magnitude == 0:
            continue  # a 0 rate step is "off" for that period, not a rate to deliver
        if pump.min_rate is not None and below(rate, pump.min_rate):
            out.append(
                Finding(
                    Level.HARD,
                    Code.RATE_BELOW_PUMP_MINIMUM,
                    f"{fmt(rate.to('mL/d'))} is below the lowest rate {pump.model} can deliver "
                    f"({fmt(pump.min_rate.to('mL/d'))}). Use a lower concentration.",
                    pump.source("min_rate"),
                    limit=pump.min_rate,
                    value=rate,
                )
            )
        if pump.max_rate is not None and above(rate, pump.max_rate):
            out.append(
                Finding(
                    Level.HARD,
                    Code.RATE_ABOVE_PUMP_MAXIMUM,
                    f"{fmt(rate)} is above the highest rate {pump.model} can deliver "
                    f"({fmt(pump.max_rate)}).",
                    pump.source("max_rate"),
                    limit=pump.max_rate,
                    value=rate,
                )
            )
    if pump.max_rate is None and any(r.magnitude > 0 for r in rates.values()):
        out.append(
            Finding(
                Level.INFO,
                Code.RATE_RANGE_UNKNOWN,
                f"The highest rate {pump.model} can deliver is not public, so Thecal cannot "
                "check this rate against it. Enter the pump's maximum rate, from its labelling, in "
                "the device catalog.",
                "Device catalog: the maximum flow rate of this pump is not public (no value is "
                "guessed)",
                value=max(rates.values(), key=lambda q: q.to(ML_PER_DAY).magnitude),
            )
        )
    if pump.max_steps_per_day is not None:
        most = max(len(d.steps) for d in basal.days)
        if most > pump.max_steps_per_day:
            out.append(
                Finding(
                    Level.HARD,
                    Code.FLEX_TOO_MANY_STEPS,
                    f"The flex schedule has {most} steps in a day; {pump.model} allows "
                    f"{pump.max_steps_per_day}.",
                    pump.source("max_steps_per_day"),
                    limit=Q_(pump.max_steps_per_day, ""),
                    value=Q_(most, ""),
                )
            )
    return out
