"""Dose changes against the previous program: step size (absolute and %), time since the last
change, increases per week — and the starting dose, only when the program is a start."""

from collections.abc import Mapping
from datetime import datetime, timedelta

import pint

from thecal.therapy.compare import above, above_count, below
from thecal.therapy.drugs import Bound, Drug
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.proposal import PreviousProgram
from thecal.units import Q_
from thecal.units import fmt as _fmt

WEEK = timedelta(days=7)


def titration_findings(
    drug: Drug,
    new_daily: pint.Quantity,
    old_daily: pint.Quantity | None,
    at: datetime,
    previous: PreviousProgram | None,
    context: Mapping[str, str],
) -> list[Finding]:
    """Findings for changing ``drug`` from ``old_daily`` to ``new_daily`` (mass/d) at ``at``.

    ``old_daily`` None means there is no earlier dose to compare with: nothing is checked here
    (a start is judged by :func:`start_dose_findings`, which knows whether this IS a start).
    Decreases are never limited here: a lower dose is always allowed by these rules."""
    out: list[Finding] = []
    if old_daily is None:
        return out
    step = (new_daily - old_daily).to(new_daily.units)
    if step.magnitude <= 0:
        return out
    for lim in drug.limits_for(Bound.TITRATION_STEP_MAX, context):
        if above(step, lim.value):
            out.append(
                Finding(
                    lim.level,
                    Code.TITRATION_STEP_ABOVE_LIMIT,
                    f"{drug.name} increase of {_fmt(step)} ({_fmt(old_daily)} → {_fmt(new_daily)}) "
                    f"is larger than the allowed step of {_fmt(lim.value)}.",
                    lim.source,
                    drug.name,
                    lim.value,
                    step,
                )
            )
    if old_daily.magnitude > 0:
        percent = (step / old_daily).to("percent")
        for lim in drug.limits_for(Bound.TITRATION_PERCENT_MAX, context):
            if above(percent, lim.value):
                out.append(
                    Finding(
                        lim.level,
                        Code.TITRATION_PERCENT_ABOVE_LIMIT,
                        f"{drug.name} increase of {percent.magnitude:.0f} % is more than the "
                        f"{lim.value.to('percent').magnitude:.0f} % allowed per step.",
                        lim.source,
                        drug.name,
                        lim.value.to("percent"),
                        percent,
                    )
                )
    if previous is not None:
        since = Q_((at - previous.started).total_seconds() / 3600.0, "h")
        for lim in drug.limits_for(Bound.INCREASE_INTERVAL_MIN, context):
            if below(since, lim.value):
                out.append(
                    Finding(
                        lim.level,
                        Code.TITRATION_TOO_SOON,
                        f"{drug.name} was last changed {since.to('h').magnitude:.0f} h ago; "
                        f"wait at least {_fmt(lim.value.to('h'))} between increases.",
                        lim.source,
                        drug.name,
                        lim.value.to("h"),
                        since,
                    )
                )
        recent = [t for t in previous.earlier_increases if at - WEEK < t <= at]
        count = len(recent) + 1
        for lim in drug.limits_for(Bound.INCREASES_PER_WEEK_MAX, context):
            if above_count(count, lim.value.to("").magnitude):
                out.append(
                    Finding(
                        lim.level,
                        Code.TITRATION_TOO_FREQUENT,
                        f"This would be {drug.name} increase number {count} in 7 days; at most "
                        f"{lim.value.to('').magnitude:.0f} a week.",
                        lim.source,
                        drug.name,
                        lim.value,
                        Q_(count, ""),
                    )
                )
    return out


def start_dose_findings(
    drug: Drug, new_daily: pint.Quantity, start: bool | None, context: Mapping[str, str]
) -> list[Finding]:
    """Starting-dose limits for ``drug`` at ``new_daily`` (mass/d).

    ``start`` True: this program starts the drug (new patient, new drug, first program after an
    implant) — each limit at its own level. False: a maintenance program whose previous program
    is not recorded — none (a refill is not a start). None: not stated — each limit exceeded is
    shown as information, saying the level it would have at a start. The limit itself is
    allowed (``above``)."""
    if start is False:
        return []
    out: list[Finding] = []
    for lim in drug.limits_for(Bound.START_DOSE_MAX, context):
        if not above(new_daily, lim.value):
            continue
        message = (
            f"Starting {drug.name} at {_fmt(new_daily)} is above the starting dose limit of "
            f"{_fmt(lim.value)}."
        )
        level = lim.level
        if start is None:
            level = Level.INFO
            message = (
                f"{drug.name} {_fmt(new_daily)} is above the starting dose limit of "
                f"{_fmt(lim.value)}. It is not recorded whether this program starts the drug: if "
                f"it does, this is a {lim.level.value} limit."
            )
        out.append(
            Finding(
                level, Code.START_DOSE_ABOVE_LIMIT, message, lim.source, drug.name, lim.value,
                new_daily,
            )
        )  # fmt: skip
    return out
