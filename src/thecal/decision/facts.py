"""The facts a rule can test, derived from a :class:`Presentation`, each with its kind.

Rules never see the model directly: they name facts from :data:`FACTS`, so the loader can refuse
an unknown fact or a comparison of the wrong kind before any patient is assessed, and every fact
says itself in words with its value (the ``because`` of an output item).
"""

from dataclasses import dataclass
from typing import Any

import pint

from thecal.decision.presentation import (
    OPIOIDS,
    Alarm,
    ImpedanceTrend,
    Interrogation,
    IntraoperativeFinding,
    Occasion,
    PocketFinding,
    Presentation,
    SymptomKind,
    Trend,
)
from thecal.therapy.compare import above, below
from thecal.units import Q_, Dimension, fmt


@dataclass(frozen=True)
class Kind:
    """``flag`` (yes/no), ``quantity`` (of ``dimension``), ``count``, ``choice`` (one of
    ``values``) or ``set`` (any of ``values``)."""

    kind: str
    values: tuple[str, ...] = ()
    dimension: Dimension | None = None
    unit: str | None = None  # for quantities outside the dosing unit table


def _values(literal: Any) -> tuple[str, ...]:
    return tuple(literal.__args__)


_TIME = Kind("quantity", dimension=Dimension.TIME)
_TREND = Kind("choice", _values(Trend))

FACTS: dict[str, Kind] = {
    "occasion": Kind("choice", _values(Occasion)),
    "device": Kind("choice", ("intrathecal_pump", "stimulator")),
    "dwell_time": _TIME,
    "drugs": Kind("set", (*sorted(OPIOIDS), "baclofen", "ziconotide", "bupivacaine", "clonidine")),
    "opioid_in_pump": Kind("flag"),
    "time_on_intrathecal_opioid": _TIME,
    "dose_trend": _TREND,
    "concentration_trend": _TREND,
    "loss_of_effect": Kind("flag"),
    "time_since_implant": _TIME,
    "time_since_trial": _TIME,
    "time_since_refill": _TIME,
    "time_since_program_change": _TIME,
    "cancer": Kind("flag"),
    "spinal_metastases": Kind("flag"),
    "dialysis": Kind("flag"),
    "ckd_stage": Kind("count"),
    "calcium_phosphate_product": Kind("quantity", unit="mg2/dL2"),
    "interrogation": Kind("choice", _values(Interrogation)),
    "alarms": Kind("set", _values(Alarm)),
    "low_residual_count": Kind("count"),
    "high_residual_count": Kind("count"),
    "impedance_trend": Kind("choice", _values(ImpedanceTrend)),
    "impedance_below_minimum": Kind("flag"),
    "symptoms": Kind("set", _values(SymptomKind)),
    "pocket_findings": Kind("set", _values(PocketFinding)),
    "intraoperative_findings": Kind("set", _values(IntraoperativeFinding)),
}

LAB_UNITS = {"mg2/dL2": "milligram ** 2 / deciliter ** 2"}


def _words(name: str) -> str:
    return name.replace("_", " ")


def say(name: str, value: Any) -> str:
    """A fact in words with its value: 'dwell time 14 a', 'dialysis: yes'."""
    if isinstance(value, bool):
        return f"{_words(name)}: {'yes' if value else 'no'}"
    if isinstance(value, pint.Quantity):
        return f"{_words(name)} {_show(value)}"
    if isinstance(value, frozenset):
        return f"{_words(name)}: {', '.join(sorted(value)) or 'none'}"
    return f"{_words(name)}: {value}"


def _show(q: pint.Quantity) -> str:
    if q.dimensionless:
        return f"{q.magnitude:g}"
    if str(q.units) == LAB_UNITS["mg2/dL2"]:
        return f"{q.magnitude:g} mg2/dL2"
    return fmt(q)


def _ca_x_p(p: Presentation) -> pint.Quantity | None:
    c = p.comorbidities
    if c.calcium_phosphate_product is not None:
        return c.calcium_phosphate_product
    if c.calcium is not None and c.phosphate is not None:
        return (c.calcium * c.phosphate).to(LAB_UNITS["mg2/dL2"])
    return None


def residual_counts(p: Presentation) -> tuple[int, int]:
    """How many of the most recent refills in a row had a withdrawn volume below (first) or
    above (second) the expected one by more than the accuracy band (the band itself allowed)."""
    band = p.accuracy_band.to("dimensionless").magnitude if p.accuracy_band is not None else 0.0

    def streak(outside: Any) -> int:
        n = 0
        for r in reversed(p.residuals):
            if not outside(r):
                break
            n += 1
        return n

    low = streak(lambda r: below(r.withdrawn, r.expected * (1 - band)))
    high = streak(lambda r: above(r.withdrawn, r.expected * (1 + band)))
    return low, high


def facts_of(p: Presentation) -> dict[str, Any]:
    """Every fact of :data:`FACTS` for ``p`` (``None`` where the presentation does not say)."""
    low, high = residual_counts(p)
    c = p.comorbidities
    facts: dict[str, Any] = {
        "occasion": p.occasion,
        "device": p.device,
        "dwell_time": p.dwell_time,
        "drugs": frozenset(p.drugs),
        "opioid_in_pump": bool(OPIOIDS & set(p.drugs)),
        "time_on_intrathecal_opioid": p.time_on_intrathecal_opioid,
        "dose_trend": p.dose_trend,
        "concentration_trend": p.concentration_trend,
        "loss_of_effect": p.loss_of_effect,
        "time_since_implant": p.time_since_implant,
        "time_since_trial": p.time_since_trial,
        "time_since_refill": p.time_since_refill,
        "time_since_program_change": p.time_since_program_change,
        "cancer": c.cancer or c.spinal_metastases,
        "spinal_metastases": c.spinal_metastases,
        "dialysis": c.dialysis,
        "ckd_stage": c.ckd_stage,
        "calcium_phosphate_product": _ca_x_p(p),
        "interrogation": p.interrogation,
        "alarms": frozenset(p.alarms),
        "low_residual_count": low,
        "high_residual_count": high,
        "impedance_trend": p.impedance_trend,
        "impedance_below_minimum": p.impedance_below_minimum,
        "symptoms": frozenset(s.kind for s in p.symptoms),
        "pocket_findings": frozenset(p.pocket_findings),
        "intraoperative_findings": frozenset(p.intraoperative_findings),
    }
    assert facts.keys() == FACTS.keys()
    return facts


def limit_quantity(kind: Kind, text: Any, field: str) -> pint.Quantity:
    """A rule's limit for a quantity fact (raises ValueError naming what to write)."""
    from thecal.decision.presentation import parse_lab
    from thecal.units import InputError, parse_quantity

    if kind.unit is not None:
        return parse_lab(text, kind.unit)
    assert kind.dimension is not None
    try:
        return parse_quantity(text, field, kind.dimension)
    except InputError as exc:
        raise ValueError(exc.message) from None


__all__ = ["FACTS", "Q_", "Kind", "facts_of", "limit_quantity", "residual_counts", "say"]
