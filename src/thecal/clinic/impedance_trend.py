"""Impedance history of a stimulator's contacts: a rolling mean per contact and the findings a
trend raises — a slow rise, an abrupt drop, a short, an open circuit (above a model's
threshold, or reported as open by the IPG or a printout: then not a number at all).

Why a rolling mean: the only quantitative impedance-trend rule published is the FDA's 2025
advice for calcifying defibrillation leads (review the most recent ~28-day average impedance,
never one reading); the window is borrowed for SCS leads as a design choice. A slow rise
suggests fibrosis, calcification or a developing fracture; a sudden drop an insulation breach
(cardiac teaching). The open and short thresholds of commercial SCS programmers are not public:
only the open IPG's are known, any other model gets an info finding naming what to enter.

Pure: readings and settings come in; nothing is read from a clock or a file.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pint

from thecal.therapy.compare import above, below
from thecal.therapy.findings import Code, Finding, Level
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity


@dataclass(frozen=True)
class Thresholds:
    """One IPG model's short (below) and open (above) thresholds, with sources."""

    model: str
    short_below: pint.Quantity | None
    open_above: pint.Quantity | None
    sources: Mapping[str, str]


@dataclass(frozen=True)
class TrendSettings:
    """``window`` (time) of the rolling mean; ``rise`` and ``drop`` (shares) that flag a
    trend; per-model thresholds; ``slope_errors`` for the replacement range; each sourced."""

    window: pint.Quantity
    rise: float
    drop: float
    thresholds: tuple[Thresholds, ...]
    slope_errors: float
    sources: Mapping[str, str]

    def for_model(self, model: str) -> Thresholds | None:
        key = model.strip().casefold()
        return next((t for t in self.thresholds if t.model.casefold() == key), None)


def _value(
    raw: Mapping[str, Any], where: str, key: str, dim: Dimension, sources: dict[str, str]
) -> pint.Quantity:
    if key not in raw:
        raise InputError(f"{where}.{key}", "is required", dim.example)
    q = parse_quantity(raw[key], f"{where}.{key}", dim)
    if not above(q, Q_(0, q.units)):
        raise InputError(f"{where}.{key}", "must be above zero", dim.example)
    src = raw.get(f"{key}_source")
    if not isinstance(src, str) or not src.strip():
        raise InputError(f"{where}.{key}_source", "every value needs a source")
    sources[f"{where}.{key}"] = src
    return q


def build_trend_settings(origin: str, data: Mapping[str, Any]) -> TrendSettings:
    """The settings from parsed ``stimulator_clinic.toml`` (InputError naming the field)."""
    sources: dict[str, str] = {}
    trend = data.get("trend", {})
    window = _value(trend, f"{origin}: trend", "window", Dimension.TIME, sources)
    rise = _value(trend, f"{origin}: trend", "rise", Dimension.DIMENSIONLESS, sources)
    drop = _value(trend, f"{origin}: trend", "drop", Dimension.DIMENSIONLESS, sources)
    if not below(drop.to(""), Q_(1, "")):
        raise InputError(f"{origin}: trend.drop", "must be below 100 %", "e.g. '30 %'")
    out: list[Thresholds] = []
    for i, raw in enumerate(data.get("thresholds", [])):
        where = f"{origin}: thresholds[{i}]"
        model = raw.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InputError(f"{where}.model", "is required", "an IPG model")
        own: dict[str, str] = {}
        short = (_value(raw, where, "short_below", Dimension.IMPEDANCE, own)
                 if "short_below" in raw else None)  # fmt: skip
        open_ = (_value(raw, where, "open_above", Dimension.IMPEDANCE, own)
                 if "open_above" in raw else None)  # fmt: skip
        if short is not None and open_ is not None and not below(short, open_):
            raise InputError(f"{where}.short_below", "must be below open_above")
        out.append(Thresholds(model, short, open_,
                              {k.rsplit(".", 1)[1]: v for k, v in own.items()}))  # fmt: skip
    errors = data.get("replacement", {}).get("slope_errors")
    if isinstance(errors, bool) or not isinstance(errors, int | float) or errors <= 0:
        raise InputError(f"{origin}: replacement.slope_errors", f"got {errors!r}", "e.g. 2")
    src = data.get("replacement", {}).get("slope_errors_source")
    if not isinstance(src, str) or not src.strip():
        raise InputError(f"{origin}: replacement.slope_errors_source", "needs a source")
    plain = {k.rsplit(".", 1)[1]: v for k, v in sources.items()}
    plain["slope_errors"] = src
    return TrendSettings(window.to("d"), float(rise.to("").magnitude),
                         float(drop.to("").magnitude), tuple(out), float(errors),
                         plain)  # fmt: skip


@dataclass(frozen=True)
class TrendPoint:
    """One reading of one contact and the rolling mean of the window ending at it."""

    at: datetime
    impedance: pint.Quantity
    mean: pint.Quantity


@dataclass(frozen=True)
class ContactTrend:
    """One contact's numeric readings with their rolling means, the times it read as an open
    circuit (not numbers: never in a mean), and its findings."""

    contact: str
    points: tuple[TrendPoint, ...]
    findings: tuple[Finding, ...]
    open_circuits: tuple[datetime, ...] = ()

    @property
    def open_now(self) -> bool:
        """The latest reading of this contact was an open circuit."""
        if not self.open_circuits:
            return False
        return not self.points or self.open_circuits[-1] >= self.points[-1].at

    @property
    def latest_at(self) -> datetime:
        """When this contact was last read (a number or an open circuit)."""
        times = [p.at for p in self.points[-1:]] + list(self.open_circuits[-1:])
        return max(times)


def rolling_means(
    readings: Sequence[tuple[datetime, pint.Quantity]], window: pint.Quantity
) -> tuple[TrendPoint, ...]:
    """Each reading (sorted by time) with the mean of the readings in ``(at - window, at]``
    (ohm). A reading exactly one window before another is outside that one's window."""
    span = timedelta(days=float(window.to("d").magnitude))
    ordered = sorted(readings, key=lambda r: r[0])
    out: list[TrendPoint] = []
    for i, (at, z) in enumerate(ordered):
        inside = [float(v.to("ohm").magnitude) for t, v in ordered[: i + 1] if t > at - span]
        out.append(TrendPoint(at, z.to("ohm"), Q_(sum(inside) / len(inside), "ohm")))
    return tuple(out)


def _trend_findings(
    contact: str, points: Sequence[TrendPoint], settings: TrendSettings, span: timedelta
) -> list[Finding]:
    out: list[Finding] = []
    last = points[-1]
    # Baseline: the lowest rolling mean of a window that does not overlap the latest one.
    earlier = [p for p in points if p.at <= last.at - span]
    if earlier:
        base = min(earlier, key=lambda p: p.mean.magnitude)
        limit = base.mean * (1 + settings.rise)
        if above(last.mean, limit):
            out.append(Finding(
                Level.SOFT, Code.STIM_IMPEDANCE_RISING,
                f"Contact {contact}: the {fmt(settings.window)} mean impedance rose from "
                f"{fmt(base.mean, 4)} ({base.at:%Y-%m-%d}) to {fmt(last.mean, 4)} "
                f"({last.at:%Y-%m-%d}), more than {settings.rise:.0%}. Consider fibrosis or "
                "calcification around the lead, a developing fracture or the connector; "
                "compare with an X-ray.",
                f"{settings.sources.get('window', '')}; rise: {settings.sources.get('rise', '')}",
                limit=limit, value=last.mean,
            ))  # fmt: skip
    before = points[:-1]
    if before:
        prior = before[-1].mean  # the rolling mean up to the reading before the latest
        floor = prior * (1 - settings.drop)
        if below(last.impedance, floor):
            out.append(Finding(
                Level.SOFT, Code.STIM_IMPEDANCE_DROP,
                f"Contact {contact}: {fmt(last.impedance, 4)} on {last.at:%Y-%m-%d}, an abrupt "
                f"drop of more than {settings.drop:.0%} from the {fmt(settings.window)} mean "
                f"{fmt(prior, 4)}. Possible insulation breach or short: re-measure, and "
                "consider switching the contact off until it is explained.",
                f"drop: {settings.sources.get('drop', '')}",
                limit=floor, value=last.impedance,
            ))  # fmt: skip
    return out


def _threshold_findings(contact: str, last: TrendPoint, t: Thresholds) -> list[Finding]:
    out: list[Finding] = []
    if t.short_below is not None and below(last.impedance, t.short_below):
        out.append(Finding(
            Level.HARD, Code.STIM_IMPEDANCE_SHORT,
            f"Contact {contact}: {fmt(last.impedance, 4)} on {last.at:%Y-%m-%d} is below "
            f"{fmt(t.short_below)}, the {t.model}'s short threshold: a short circuit. Do not "
            "stimulate through this contact; re-measure and check the lead's integrity.",
            t.sources.get("short_below", ""), limit=t.short_below, value=last.impedance,
        ))  # fmt: skip
    if t.open_above is not None and above(last.impedance, t.open_above):
        out.append(Finding(
            Level.HARD, Code.STIM_IMPEDANCE_OPEN,
            f"Contact {contact}: {fmt(last.impedance, 4)} on {last.at:%Y-%m-%d} is above "
            f"{fmt(t.open_above)}, the top of the {t.model}'s measurement range: an open "
            "circuit (lead fracture or a loose connector). Re-measure; check with an X-ray.",
            t.sources.get("open_above", ""), limit=t.open_above, value=last.impedance,
        ))  # fmt: skip
    return out


def _open_finding(contact: str, at: datetime) -> Finding:
    return Finding(
        Level.HARD, Code.STIM_IMPEDANCE_OPEN,
        f"Contact {contact}: read as an open circuit on {at:%Y-%m-%d} (above the range the "
        "stimulator can measure): a lead fracture or a loose connector. Do not rely on this "
        "contact; re-measure and check the lead with an X-ray.",
        "An open circuit reads above the measurement window (100 Ohm - 5 kOhm): OpenNerve "
        "'Getting Started' and 'IPG Logging Guide', CARSSCenter/OpenNerve-Implantable-Pulse-"
        "Generator; a sudden rise means fracture or dislodgement: "
        "https://crm-lab.wixsite.com/electronics-physics/lead-impedances",
    )  # fmt: skip


def contact_trends(
    readings: Mapping[str, Sequence[tuple[datetime, pint.Quantity]]],
    settings: TrendSettings,
    model: str,
    open_circuits: Mapping[str, Sequence[datetime]] | None = None,
) -> tuple[tuple[ContactTrend, ...], tuple[Finding, ...]]:
    """Each contact's rolling means and findings (edges: a mean or reading equal to its limit
    is not flagged), and the stimulator-wide info finding when ``model``'s open and short
    thresholds are not known.

    ``open_circuits``: the times each contact read as an open circuit. They are not numbers:
    they stay out of the means; when a contact's latest reading is one, its finding is the
    hard open-circuit finding alone (its older numbers describe a lead that is gone)."""
    span = timedelta(days=float(settings.window.to("d").magnitude))
    thresholds = settings.for_model(model)
    opens = open_circuits or {}
    trends: list[ContactTrend] = []
    for contact in sorted(set(readings) | set(opens)):
        points = rolling_means(readings.get(contact, ()), settings.window)
        opened = tuple(sorted(opens.get(contact, ())))
        if not points and not opened:
            continue
        trend = ContactTrend(contact, points, (), opened)
        if trend.open_now:
            found = [_open_finding(contact, opened[-1])]
        else:
            found = _trend_findings(contact, points, settings, span)
            if thresholds is not None:
                found += _threshold_findings(contact, points[-1], thresholds)
        trends.append(ContactTrend(contact, points, tuple(found), opened))
    extra: list[Finding] = []
    if trends and (thresholds is None or None in (thresholds.short_below, thresholds.open_above)):
        extra.append(Finding(
            Level.INFO, Code.STIM_INPUT_MISSING,
            f"Open-circuit and short thresholds for {model} are not public: those checks were "
            "not made. Enter this model's short and open-circuit impedance thresholds (from its "
            "labelling) in the clinic's stimulator settings.",
            "Numeric open/short impedance thresholds of SCS programmers are not public (the "
            "Axium manual MN0700 p.10 turns a low-impedance lead off without a number); "
            "known: OpenNerve firmware app_func_parameter.c",
        ))  # fmt: skip
    return tuple(trends), tuple(extra)
