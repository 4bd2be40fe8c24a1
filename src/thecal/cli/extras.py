"""Bridge and priming boluses for ``plan show``.

Bridge bolus: when the plan has a [previous] program with other drugs or concentrations, the old
fluid still fills the pump tubing and the catheter. It is computed when both volumes are known
(the pump's internal volume is not public for the shipped pumps: enter ``pump.internal_volume``);
otherwise the output says what is missing. A first fill of a new pump holds no old fluid.

Priming bolus: computed when the plan has a [priming] section; missing inputs are an error there,
because the user asked for it.
"""

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from thecal.cli import output as o
from thecal.therapy.bridge_bolus import BridgeBolus, bridge_bolus
from thecal.therapy.delivery import DeliveryModel, hours
from thecal.therapy.findings import Finding
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan
from thecal.therapy.priming_bolus import PrimingBolus, priming_bolus
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity


@dataclass
class Extras:
    bridge: BridgeBolus | None = None
    priming: PrimingBolus | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> tuple[Finding, ...]:
        out: list[Finding] = []
        if self.bridge is not None:
            out += self.bridge.findings
        if self.priming is not None:
            out += self.priming.findings
        return tuple(out)


def basal_rate_at_start(resolved: ResolvedPlan) -> o.Qty:
    """The basal rate (mL/d) running when the plan starts (``plan.at``)."""
    model = DeliveryModel(resolved.schedule)
    return Q_(model.rate_at(hours(resolved.plan.at)), "mL/h").to("mL/d")


def compute_extras(resolved: ResolvedPlan, library: DrugLibrary) -> Extras:
    extras = Extras()
    _bridge(resolved, extras)
    _priming(resolved, extras)
    return extras


def _bridge(resolved: ResolvedPlan, extras: Extras) -> None:
    previous = resolved.program.previous
    if previous is None or resolved.plan.previous is None:
        return
    if resolved.plan.previous.admixture is None:
        return  # same fill: nothing to bridge
    fill = resolved.fill
    if fill is not None and fill.first_fill:
        extras.notes.append("Bridge bolus: not needed, a new pump holds none of the old fill.")
        return
    try:
        catheter = resolved.catheter_volume()
    except InputError as exc:
        extras.notes.append(f"Bridge bolus not computed: {exc}.")
        return
    if catheter is None:
        extras.notes.append(
            "Bridge bolus not computed: enter the catheter volume ([catheter] volume, or length "
            "with the volume per cm)."
        )
        return
    if resolved.pump.internal_volume is None:
        extras.notes.append(
            f"Bridge bolus not computed: the internal volume of {resolved.pump.model} is not "
            "public; enter pump.internal_volume from the labelling."
        )
        return
    rate = basal_rate_at_start(resolved)
    if rate.magnitude <= 0:
        extras.notes.append("Bridge bolus not computed: the basal rate at the start is 0.")
        return
    drug = resolved.plan.schedule.drug
    extras.bridge = bridge_bolus(
        previous.admixture, resolved.admixture, rate, resolved.pump, catheter, None, drug
    )
    if not resolved.schedule.basal.is_continuous:
        extras.notes.append(
            f"Bridge bolus computed at the basal rate running at {o.stamp(resolved.plan.at)} "
            f"({fmt(rate)}); the flex schedule changes it later."
        )


_PRIMING_FIELDS = {
    "catheter.length": "priming.new_catheter_length",
    "catheter.volume": "priming.catheter_volume",
    "internal_volume": "pump.internal_volume",
}


def _priming(resolved: ResolvedPlan, extras: Extras) -> None:
    entry = resolved.plan.priming
    if entry is None:
        return
    cat = resolved.plan.catheter
    vpl = None
    if cat is not None and cat.volume_per_length is not None:
        vpl = parse_quantity(
            cat.volume_per_length, "catheter.volume_per_length", Dimension.VOLUME_PER_LENGTH
        )
    elif resolved.catheter is not None:
        vpl = resolved.catheter.volume_per_length
        if vpl is not None and entry.catheter_volume is None:
            extras.notes.append(
                f"Volume per cm of the {resolved.catheter.model}: {fmt(vpl)} "
                f"({resolved.catheter.source})."
            )
    length = (
        parse_quantity(entry.new_catheter_length, "priming.new_catheter_length", Dimension.LENGTH)
        if entry.new_catheter_length
        else None
    )
    volume = (
        parse_quantity(entry.catheter_volume, "priming.catheter_volume", Dimension.VOLUME)
        if entry.catheter_volume
        else None
    )
    try:
        extras.priming = priming_bolus(
            vpl,
            length,
            volume,
            entry.include_pump_tubing,
            resolved.pump,
            None,
            basal_rate_at_start(resolved),
        )
    except InputError as exc:
        raise InputError(
            _PRIMING_FIELDS.get(exc.field, exc.field), exc.message, exc.expected
        ) from exc


# --- output ----------------------------------------------------------------------------------


def bridge_json(b: BridgeBolus) -> dict[str, Any]:
    p = b.program
    return {
        "needed": b.needed,
        "internal_volume": o.q(b.internal_volume),
        "internal_volume_source": b.internal_volume_source,
        "catheter_volume": o.q(b.catheter_volume),
        "dead_volume": o.q(b.dead_volume),
        "dead_volume_formula": b.dead_volume_formula,
        "new_rate": o.q(b.new_rate),
        "clear_time": o.q(b.clear_time),
        "drugs": [
            {
                "drug": d.drug,
                "old_concentration": o.q(d.old_concentration),
                "new_concentration": o.q(d.new_concentration),
                "delivered": o.q(d.delivered),
                "intended": o.q(d.intended),
                "difference": o.q(d.difference),
                "direction": d.direction,
                "delivered_daily": o.q(d.delivered_daily),
                "intended_daily": o.q(d.intended_daily),
            }
            for d in b.drugs
        ],
        "program": None
        if p is None
        else {
            "target_drug": p.target_drug,
            "rate": o.q(p.rate),
            "duration": o.q(p.duration),
            "volume": o.q(p.volume),
            "then_rate": o.q(p.then_rate),
            "doses": {k: o.q(v) for k, v in p.doses.items()},
            "dose_rates": {k: o.q(v) for k, v in p.dose_rates.items()},
            "formula": p.formula,
        },
    }


def priming_json(p: PrimingBolus) -> dict[str, Any]:
    return {
        "volume": o.q(p.volume),
        "formula": p.formula,
        "catheter_volume": o.q(p.catheter.volume),
        "catheter_formula": p.catheter.formula,
        "catheter_source": p.catheter.source,
        "internal_volume": o.q(p.internal_volume),
        "internal_volume_source": p.internal_volume_source,
        "basal_rate": o.q(p.basal_rate),
        "time_to_tip": o.q(p.time_to_tip),
        "time_to_tip_days": o.q(p.time_to_tip_days),
    }


def extras_json(extras: Extras) -> dict[str, Any]:
    return {
        "bridge_bolus": bridge_json(extras.bridge) if extras.bridge else None,
        "priming_bolus": priming_json(extras.priming) if extras.priming else None,
        "notes": list(extras.notes),
    }


def render_extras(out: Console, extras: Extras) -> None:
    b = extras.bridge
    if b is not None:
        o.heading(out, "Bridge bolus")
        out.print(f"  {o.text(b.dead_volume_formula)}")
        if b.clear_time is not None:
            out.print(
                f"  without a bridge the old fluid takes {fmt(b.clear_time)} to clear at "
                f"{fmt(b.new_rate)}"
            )
        for d in b.drugs:
            out.print(
                f"    {o.text(d.drug)}: {fmt(d.delivered_daily)} instead of "
                f"{fmt(d.intended_daily)} while clearing ({d.direction})"
            )
        if b.program is not None:
            p = b.program
            out.print(
                f"  [bold]bridge: {fmt(p.rate)} for {fmt(p.duration)}, then {fmt(p.then_rate)}"
                "[/bold]"
            )
            out.print(f"  [dim]{o.text(p.formula)}[/dim]")
    p2 = extras.priming
    if p2 is not None:
        o.heading(out, "Priming bolus")
        out.print(f"  [bold]{o.text(p2.formula)}[/bold]")
        out.print(f"  [dim]{o.text(p2.catheter.source)}[/dim]")
        out.print(
            f"  without a priming bolus the drug reaches the tip after about "
            f"{fmt(p2.time_to_tip, 3)} ({fmt(p2.time_to_tip_days, 3)}) at {fmt(p2.basal_rate)}"
        )
    for note in extras.notes:
        out.print(f"  [dim]{o.text(note)}[/dim]")
