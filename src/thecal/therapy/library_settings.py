"""The drug library's institution-wide settings (not tied to one drug) and how one layer's
``[settings]`` table is checked and applied over the layers before it."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pint

from thecal.therapy.admixture import MAX_DRUGS
from thecal.therapy.findings import Level
from thecal.therapy.library_collector import Collector
from thecal.therapy.schedule import MAX_STEPS_PER_DAY
from thecal.units import Dimension


@dataclass(frozen=True)
class RestartRule:
    """After an interruption of at least ``min_interruption``, propose restarting opioids at
    ``restart_fraction`` of the previous daily dose. Institution data: no shipped default."""

    min_interruption: pint.Quantity
    restart_fraction: float
    source: str


@dataclass(frozen=True)
class Settings:
    """Institution-wide settings that are not tied to one drug."""

    unlabelled_level: Level = Level.INFO
    unlabelled_source: str = ""
    discrepancy_threshold: pint.Quantity | None = None
    discrepancy_source: str = ""
    refill_margin: pint.Quantity | None = None
    max_refill_interval: pint.Quantity | None = None
    max_refill_interval_source: str = ""
    restart_rules: tuple[RestartRule, ...] = ()
    tolerance_source: str = ""
    opioid_naive_source: str = ""
    # Institution: an interruption shorter than this is not counted (no restart finding). No
    # shipped value: no intrathecal source gives one (see drugs.toml).
    restart_min_interruption: pint.Quantity | None = None
    restart_min_interruption_source: str = ""
    # Shipped product choice: with no institution minimum, a reduced restart dose is proposed
    # from this interruption on; shorter ones ask for a clinician's decision without a cut.
    tolerance_loss_after: pint.Quantity | None = None
    tolerance_loss_after_source: str = ""
    # Step-change guard: the band (fraction) around each slip factor; None = guard off.
    slip_tolerance: float | None = None
    slip_source: str = ""
    # How far above the reservoir's capacity a withdrawn residual may be read before it is
    # refused as physically impossible (None: no allowance, the capacity itself is the limit).
    withdrawn_tolerance: pint.Quantity | None = None
    withdrawn_tolerance_source: str = ""
    # The least volume expected to have been delivered since the last fill for the pump's
    # accuracy band (a percentage of it) to be assessed; below it the refill reports volumes
    # only. None: no minimum (the percentage is assessed on any volume above zero).
    accuracy_min_delivered: pint.Quantity | None = None
    accuracy_min_delivered_source: str = ""
    # Plan-format limits (product choices, shipped in drugs.toml with their reasons): the most
    # drugs in one admixture and the most flex steps in one day program; at the limit is
    # accepted, one more refused. Defaults equal the shipped values for callers without a library.
    max_admixture_drugs: int = MAX_DRUGS
    max_admixture_drugs_source: str = ""
    max_flex_steps_per_day: int = MAX_STEPS_PER_DAY
    max_flex_steps_per_day_source: str = ""


_SETTINGS_KEYS = {
    "unlabelled_level",
    "unlabelled_source",
    "discrepancy_threshold",
    "discrepancy_source",
    "refill_margin",
    "max_refill_interval",
    "max_refill_interval_source",
    "restart_rules",
    "tolerance_source",
    "opioid_naive_source",
    "restart_min_interruption",
    "restart_min_interruption_source",
    "tolerance_loss_after",
    "tolerance_loss_after_source",
    "slip_tolerance",
    "slip_source",
    "withdrawn_tolerance",
    "withdrawn_tolerance_source",
    "accuracy_min_delivered",
    "accuracy_min_delivered_source",
    "max_admixture_drugs",
    "max_admixture_drugs_source",
    "max_flex_steps_per_day",
    "max_flex_steps_per_day_source",
}


def read_settings(c: Collector, raw: Any, base: Settings) -> Settings:
    """``base`` with one layer's ``[settings]`` applied; errors collected in ``c``."""
    if not isinstance(raw, Mapping):
        c.error("settings", "must be a table")
        return base
    c.unknown_keys("settings", raw, _SETTINGS_KEYS)
    out = base
    if "unlabelled_level" in raw:
        level = raw["unlabelled_level"]
        if level not in ("info", "soft"):
            c.error("settings.unlabelled_level", f"got {level!r}", "'info' or 'soft'")
        else:
            out = replace(out, unlabelled_level=Level(level))
    for key, dim in (
        ("discrepancy_threshold", Dimension.VOLUME),
        ("refill_margin", Dimension.TIME),
        ("max_refill_interval", Dimension.TIME),
        ("restart_min_interruption", Dimension.TIME),
        ("tolerance_loss_after", Dimension.TIME),
        ("withdrawn_tolerance", Dimension.VOLUME),
        ("accuracy_min_delivered", Dimension.VOLUME),
    ):
        if key in raw:
            q = c.quantity(f"settings.{key}", raw[key], dim)
            if q is not None:
                if q.magnitude < 0:
                    c.error(f"settings.{key}", "must not be negative")
                else:
                    out = replace(out, **{key: q})  # type: ignore[arg-type]
    for key in (
        "unlabelled_source",
        "discrepancy_source",
        "max_refill_interval_source",
        "tolerance_source",
        "opioid_naive_source",
        "restart_min_interruption_source",
        "tolerance_loss_after_source",
        "slip_source",
        "withdrawn_tolerance_source",
        "accuracy_min_delivered_source",
        "max_admixture_drugs_source",
        "max_flex_steps_per_day_source",
    ):
        if key in raw:
            text = c.text(f"settings.{key}", raw[key], required=True)
            if text:
                out = replace(out, **{key: text})  # type: ignore[arg-type]
    if "slip_tolerance" in raw:
        tol = c.quantity("settings.slip_tolerance", raw["slip_tolerance"], Dimension.DIMENSIONLESS)
        if tol is not None:
            # Below 100 %: the x10 band [10 / (1 + t), 10 (1 + t)] must stay clear of x1.
            if not 0 <= tol.to("").magnitude < 1:
                c.error("settings.slip_tolerance", "must be from 0 to below 100 %", "'50 %'")
            else:
                out = replace(out, slip_tolerance=float(tol.to("").magnitude))
    if out.slip_tolerance is not None and not out.slip_source:
        c.error("settings.slip_source", "is required with a slip tolerance")
    if out.max_refill_interval is not None and not out.max_refill_interval_source:
        c.error("settings.max_refill_interval_source", "is required with a maximum interval")
    for key in ("restart_min_interruption", "tolerance_loss_after"):
        # A layer that sets the value states its own source (never inherits an earlier one).
        if key in raw and f"{key}_source" not in raw:
            c.error(f"settings.{key}_source", f"is required with {key}")
    if out.withdrawn_tolerance is not None and not out.withdrawn_tolerance_source:
        c.error("settings.withdrawn_tolerance_source", "is required with a tolerance")
    if "accuracy_min_delivered" in raw and "accuracy_min_delivered_source" not in raw:
        # A layer that sets the minimum states its own source (never inherits one).
        c.error("settings.accuracy_min_delivered_source", "is required with the minimum")
    for key in ("max_admixture_drugs", "max_flex_steps_per_day"):
        if key in raw:
            value = raw[key]
            # bool is an int in Python: refuse it explicitly.
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                c.error(f"settings.{key}", f"got {value!r}", "a whole number >= 1")
            else:
                out = replace(out, **{key: value})  # type: ignore[arg-type]
            # A layer that sets the value states its own source (never inherits one).
            if f"{key}_source" not in raw:
                c.error(f"settings.{key}_source", f"is required with {key}")
    if "restart_rules" in raw:
        out = replace(out, restart_rules=_restart_rules(c, raw["restart_rules"]))
    return out


def _restart_rules(c: Collector, raw: Any) -> tuple[RestartRule, ...]:
    if not isinstance(raw, list):
        c.error("settings.restart_rules", "must be a list of tables")
        return ()
    rules: list[RestartRule] = []
    for i, item in enumerate(raw):
        path = f"settings.restart_rules[{i}]"
        if not isinstance(item, Mapping):
            c.error(path, "must be a table")
            continue
        c.unknown_keys(path, item, {"min_interruption", "restart_fraction", "source"})
        gap = c.quantity(f"{path}.min_interruption", item.get("min_interruption"), Dimension.TIME)
        frac = c.quantity(
            f"{path}.restart_fraction", item.get("restart_fraction"), Dimension.DIMENSIONLESS
        )
        source = c.text(f"{path}.source", item.get("source"), required=True)
        if frac is not None and not 0 < frac.to("").magnitude < 1:
            c.error(f"{path}.restart_fraction", "must be between 0 and 100 %", "e.g. '50 %'")
            continue
        if gap is not None and frac is not None and source:
            rules.append(RestartRule(gap, float(frac.to("").magnitude), source))
    return tuple(sorted(rules, key=lambda r: r.min_interruption.to("h").magnitude))
