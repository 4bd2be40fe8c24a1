"""A change of drug at refill: the old fill still in the pump tubing and catheter.

When a refill changes the drugs (morphine → hydromorphone), the reservoir holds the new fluid but
the pump's internal tubing and the catheter still hold the old one. Until the new drug reaches
the catheter tip, the patient receives the OLD drug at the NEW program's rate — an overdose when
the new program's volume is larger (a weaker new drug), and a delay before the new drug acts.
A bridge at the same drug (:mod:`thecal.therapy.bridge_bolus`) cannot hold a dose across drugs,
so the clinician sees the old drug's dose meanwhile and the delay, with the formula
(ITB best practices, Saulino 2016).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pint

from thecal.therapy.admixture import Admixture, Ingredient
from thecal.therapy.bridge_bolus import (
    _by_name,
    _dead_formula,
    _non_negative_volume,
)
from thecal.therapy.bridge_findings import BRIDGE_SOURCE
from thecal.therapy.compare import above, equal
from thecal.therapy.delivery import daily_dose
from thecal.therapy.drugs import Bound
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.proposal import ProgramProposal
from thecal.therapy.pump import PumpSpec
from thecal.units import Dimension, check_dimension, fmt, mass_unit

RESERVOIR_NOTE = (
    "The reservoir drains at the program's rate from the fill: the new fluid leaving it pushes "
    "the old fluid out of the tubing and catheter, so the refill date already counts this "
    "volume once (it is not drawn from the reservoir a second time)."
)


@dataclass(frozen=True)
class DrugChange:
    """A refill with another drug: the old fill in the pump tubing and catheter reaches the
    patient at the NEW program's rate until the new drug reaches the catheter tip.

    ``new_rate`` (mL/d): the new program's daily volume. ``old_dose_rates``: each old drug's
    rate meanwhile (mass/d) = old concentration × new rate. ``dead_volume`` (mL), ``delay``
    (h) = dead volume ÷ new rate and ``old_doses`` (mass) = old concentration × dead volume
    are None when the pump's internal volume or the catheter volume is not known."""

    new_rate: pint.Quantity
    dead_volume: pint.Quantity | None
    dead_volume_formula: str
    delay: pint.Quantity | None
    old_dose_rates: dict[str, pint.Quantity]
    old_doses: dict[str, pint.Quantity] | None
    findings: tuple[Finding, ...]


def drug_change(
    old: Admixture,
    new: Admixture,
    new_rate: pint.Quantity,
    pump: PumpSpec,
    catheter_volume: pint.Quantity | None,
    context: Mapping[str, str],
    internal_volume: pint.Quantity | None = None,
) -> DrugChange | None:
    """What the old fill does after a refill that changes the drugs (None when both fills hold
    the same drugs: a concentration change is :func:`bridge_bolus`'s job).

    Each old drug the new fill does not hold at the same concentration gets a finding: SOFT for
    an opioid whose rate meanwhile is above one of its daily limits for ``context`` (the
    patient's conditions), else INFO; plus one INFO finding for the delay before the new drugs
    arrive. ``internal_volume`` (mL) entered wins over the catalog. Units as :func:`bridge_bolus`.
    """
    if set(_by_name(old)) == set(_by_name(new)):
        return None
    check_dimension(new_rate, "new_rate", Dimension.FLOW_RATE)
    rate = new_rate.to("mL/d")
    catheter = (
        None
        if catheter_volume is None
        else _non_negative_volume(catheter_volume, "catheter_volume")
    )
    entered = (
        None
        if internal_volume is None
        else _non_negative_volume(internal_volume, "internal_volume")
    )
    internal = entered if entered is not None else pump.internal_volume
    dead = None if internal is None or catheter is None else (internal.to("mL") + catheter).to("mL")
    if dead is None:
        formula = (
            "dead volume = pump internal volume "
            + (
                fmt(internal)
                if internal is not None
                else f"(not public for {pump.model}, not entered)"
            )
            + " + catheter volume "
            + (fmt(catheter) if catheter is not None else "(not entered)")
        )
    else:
        formula = _dead_formula(internal, catheter, pump, entered)  # type: ignore[arg-type]
    delay = None if dead is None or rate.magnitude <= 0 else (dead / rate).to("h")
    n = _by_name(new)
    rates: dict[str, pint.Quantity] = {}
    doses: dict[str, pint.Quantity] = {}
    findings: list[Finding] = []
    for name, ing in _by_name(old).items():
        if name in n and equal(n[name].concentration, ing.concentration):
            continue  # the same fluid for this drug: nothing changes for it
        unit = mass_unit(ing.concentration)
        rates[name] = (ing.concentration * rate).to(f"{unit}/d")
        if dead is not None:
            doses[name] = (ing.concentration * dead).to(unit)
        findings.append(
            _old_drug_finding(ing, rates[name], doses.get(name), delay, rate, formula, context)
        )
    arriving = ", ".join(k for k in n if k not in _by_name(old)) or ", ".join(n)
    wait = (
        f"{fmt(delay)} (delay = dead volume {fmt(dead)} ÷ new rate {fmt(rate)})"
        if delay is not None and dead is not None
        else f"an unknown time ({formula}; delay = dead volume ÷ new rate {fmt(rate)})"
    )
    findings.append(
        Finding(
            Level.INFO,
            Code.DRUG_CHANGE_CLEARING,
            f"Drug change at refill: {arriving} reaches the catheter tip only after {wait}. "
            + RESERVOIR_NOTE,
            BRIDGE_SOURCE,
        )
    )
    return DrugChange(
        rate, dead, formula, delay, rates, doses if dead is not None else None, tuple(findings)
    )


def _old_drug_finding(
    ing: Ingredient,
    rate_meanwhile: pint.Quantity,
    dose: pint.Quantity | None,
    delay: pint.Quantity | None,
    rate: pint.Quantity,
    formula: str,
    context: Mapping[str, str],
) -> Finding:
    drug = ing.drug
    ctx = {**context, "dilution": ing.dilution}
    over = [
        lim
        for lim in drug.limits_for(Bound.DAILY_DOSE_MAX, ctx)
        if above(rate_meanwhile, lim.value)
    ]
    lowest = (
        min(over, key=lambda lim: lim.value.to(rate_meanwhile.units).magnitude) if over else None
    )
    soft = drug.is_opioid and lowest is not None
    total = (
        f"{fmt(dose)} in {fmt(delay)}"
        if dose is not None and delay is not None
        else "for an unknown time"
    )
    message = (
        f"The pump tubing and catheter still hold the old {drug.name} {fmt(ing.concentration)}: "
        f"after the refill it reaches the patient at the new program's rate, {drug.name} "
        f"{fmt(rate_meanwhile)} ({total}; rate = old concentration {fmt(ing.concentration)} × "
        f"new rate {fmt(rate)}; {formula})."
    )
    if lowest is not None:
        message += f" That is above the daily limit of {fmt(lowest.value)}" + (
            f" ({lowest.note})." if lowest.note else "."
        )
    if soft:
        message += " Consider a bridge or a lower rate until the new drug arrives."
    return Finding(
        Level.SOFT if soft else Level.INFO,
        Code.DRUG_CHANGE_CLEARING,
        message,
        BRIDGE_SOURCE + (f"; {lowest.source}" if lowest is not None else ""),
        drug.name,
        lowest.value if lowest is not None else None,
        rate_meanwhile,
    )


def drug_change_at_refill(program: ProgramProposal) -> list[Finding]:
    """Findings of :func:`drug_change` for a refill that starts ``program``: the old fill is
    ``program.previous``'s admixture (none recorded: nothing to say), the rate the new program's
    daily volume (the highest weekday: the fastest clearing, the highest old-drug rate), the
    catheter volume ``program.catheter_volume``, the internal volume the catalog's."""
    if program.previous is None:
        return []
    rate = daily_dose(program.schedule, program.admixture).nominal_volume
    if not rate.magnitude > 0:
        return []  # nothing moves: the old fluid stays in the catheter
    found = drug_change(
        program.previous.admixture, program.admixture, rate, program.pump,
        program.catheter_volume, program.patient.context(),
    )  # fmt: skip
    return [] if found is None else list(found.findings)
