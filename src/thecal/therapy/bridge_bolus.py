"""Bridge bolus: the old fill still in the pump tubing and catheter when the concentration changes.

At a refill with a new concentration the reservoir holds the new fluid, but the pump's internal
tubing and the catheter still hold the old one. Until that dead volume has been pushed out, the
patient receives the OLD concentration at the NEW rate: too little drug when the concentration
goes up, too much when it goes down. A bridge program delivers the dead volume at the rate that
gives the intended dose with the old concentration, then switches to the new program
(ITB best practices, Saulino 2016).

The pump's internal volume is not public for the shipped pumps: it comes from the catalog when a
clinic has entered it there, else it is a required input.
"""

from dataclasses import dataclass, field

import pint

from thecal.therapy.admixture import Admixture, Ingredient
from thecal.therapy.bridge_findings import BRIDGE_SOURCE, bridge_findings
from thecal.therapy.compare import REL_TOL, equal
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.pump import PumpSpec
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt, mass_unit


@dataclass(frozen=True)
class DrugDuringClearing:
    """One drug while the dead volume clears at the new rate WITHOUT a bridge.

    Masses are in the drug's mass unit (mg or mcg); daily rates in that unit per day.
    ``difference`` = delivered − intended: negative is a shortfall, positive an excess.
    """

    drug: str
    old_concentration: pint.Quantity | None
    new_concentration: pint.Quantity | None
    delivered: pint.Quantity
    intended: pint.Quantity
    difference: pint.Quantity
    delivered_daily: pint.Quantity
    intended_daily: pint.Quantity

    @property
    def direction(self) -> str:
        """'shortfall', 'excess' or 'none'."""
        tol = REL_TOL * max(abs(self.intended.magnitude), abs(self.delivered.magnitude), 1.0)
        if self.difference.magnitude < -tol:
            return "shortfall"
        if self.difference.magnitude > tol:
            return "excess"
        return "none"


@dataclass(frozen=True)
class BridgeProgram:
    """Deliver ``volume`` (the dead volume, mL) at ``rate`` (mL/d) for ``duration`` (h), then
    switch to ``then_rate`` (mL/d, the new program).

    ``doses``: mass of each drug of the OLD fill delivered during the bridge.
    ``dose_rates``: each drug's rate during the bridge (mass/d); ``intended_dose_rates``: each
    drug's rate in the new program (mass/d; zero for a drug the new fill no longer holds).
    """

    target_drug: str
    intended_dose_rate: pint.Quantity
    old_concentration: pint.Quantity
    rate: pint.Quantity
    duration: pint.Quantity
    volume: pint.Quantity
    then_rate: pint.Quantity
    doses: dict[str, pint.Quantity]
    dose_rates: dict[str, pint.Quantity]
    intended_dose_rates: dict[str, pint.Quantity]
    formula: str


@dataclass(frozen=True)
class BridgeBolus:
    """Result of :func:`bridge_bolus`.

    ``needed`` is False when the drugs and concentrations did not change. ``dead_volume`` (mL) and
    ``clear_time`` (h) are None only in that case when the internal volume is unknown (it is not
    asked for when no bridge is needed).
    """

    needed: bool
    internal_volume: pint.Quantity | None
    internal_volume_source: str
    catheter_volume: pint.Quantity
    dead_volume: pint.Quantity | None
    dead_volume_formula: str
    new_rate: pint.Quantity
    clear_time: pint.Quantity | None
    drugs: tuple[DrugDuringClearing, ...] = ()
    program: BridgeProgram | None = None
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def bridge_bolus(
    old: Admixture,
    new: Admixture,
    new_rate: pint.Quantity,
    pump: PumpSpec,
    catheter_volume: pint.Quantity,
    internal_volume: pint.Quantity | None = None,
    target_drug: str | None = None,
) -> BridgeBolus:
    """Bridge bolus for a change from the ``old`` fill to the ``new`` fill.

    ``new_rate``: the new program's flow (volume/time, e.g. mL/d). ``catheter_volume``: volume of
    the implanted catheter (mL; entered, or length × volume per cm, see
    :func:`thecal.therapy.priming_bolus.catheter_volume`). ``internal_volume``: the pump tubing
    volume (mL); the entered value wins over the catalog, and one of the two is required when a
    bridge is needed. ``target_drug``: the drug whose intended dose the bridge holds; may be left
    out when the fills share exactly one drug.

    Dead volume (mL) = internal volume + catheter volume; clearing time (h) = dead volume ÷
    new rate; bridge rate (mL/d) = intended dose rate ÷ OLD concentration; bridge duration (h) =
    dead volume ÷ bridge rate. Raises :class:`InputError` for bad or missing input.
    """
    check_dimension(new_rate, "new_rate", Dimension.FLOW_RATE)
    if new_rate.magnitude <= 0:
        raise InputError("new_rate", "must be greater than zero", "a flow rate such as '0.2 mL/d'")
    rate = new_rate.to("mL/d")
    catheter = _non_negative_volume(catheter_volume, "catheter_volume")
    entered_internal = (
        None
        if internal_volume is None
        else _non_negative_volume(internal_volume, "internal_volume")
    )

    if not _changed(old, new):
        known = entered_internal is not None or pump.internal_volume is not None
        internal = (
            pump.require("internal_volume", entered_internal, "internal_volume").to("mL")
            if known
            else None
        )
        dead = None if internal is None else (internal + catheter).to("mL")
        return BridgeBolus(
            needed=False,
            internal_volume=internal,
            internal_volume_source=_internal_source(pump, entered_internal) if known else "",
            catheter_volume=catheter,
            dead_volume=dead,
            dead_volume_formula=_dead_formula(internal, catheter, pump, entered_internal),
            new_rate=rate,
            clear_time=None if dead is None else (dead / rate).to("h"),
            findings=(
                Finding(
                    Level.INFO,
                    Code.BRIDGE_NOT_NEEDED,
                    "Same drugs at the same concentrations as the old fill: the fluid left in the "
                    "pump tubing and catheter gives the same dose, so no bridge bolus is needed.",
                    BRIDGE_SOURCE,
                ),
            ),
        )

    internal = pump.require("internal_volume", entered_internal, "internal_volume").to("mL")
    dead = (internal + catheter).to("mL")
    clear_time = (dead / rate).to("h")
    formula = _dead_formula(internal, catheter, pump, entered_internal)
    drugs = _clearing(old, new, dead, rate)
    target = _target(old, new, target_drug)
    program = None if target is None else _program(old, new, target, dead, rate)
    findings = bridge_findings(drugs, program, dead, rate, clear_time, formula)
    return BridgeBolus(
        needed=True,
        internal_volume=internal,
        internal_volume_source=_internal_source(pump, entered_internal),
        catheter_volume=catheter,
        dead_volume=dead,
        dead_volume_formula=formula,
        new_rate=rate,
        clear_time=clear_time,
        drugs=drugs,
        program=program,
        findings=tuple(findings),
    )


# -- helpers ------------------------------------------------------------------------------------


def _non_negative_volume(q: pint.Quantity, name: str) -> pint.Quantity:
    check_dimension(q, name, Dimension.VOLUME)
    if q.magnitude < 0:
        raise InputError(name, "must not be negative", "a volume such as '0.1 mL'")
    return q.to("mL")


def _internal_source(pump: PumpSpec, entered: pint.Quantity | None) -> str:
    if entered is not None:
        return "entered by the clinician"
    return pump.source("internal_volume") or f"device catalog ({pump.model})"


def _dead_formula(
    internal: pint.Quantity | None,
    catheter: pint.Quantity,
    pump: PumpSpec,
    entered: pint.Quantity | None,
) -> str:
    if internal is None:
        return (
            f"dead volume = pump internal volume (not known for {pump.model}) + catheter volume "
            f"{fmt(catheter)}"
        )
    return (
        f"dead volume = pump internal volume {fmt(internal)} "
        f"({_internal_source(pump, entered)}) + catheter volume {fmt(catheter)} "
        f"= {fmt((internal + catheter).to('mL'))}"
    )


def _by_name(mix: Admixture) -> dict[str, Ingredient]:
    return {i.drug.name: i for i in mix.ingredients}


def _changed(old: Admixture, new: Admixture) -> bool:
    """True when a drug was added or removed or any concentration differs."""
    o, n = _by_name(old), _by_name(new)
    if set(o) != set(n):
        return True
    return any(not equal(o[k].concentration, n[k].concentration) for k in o)


def _clearing(
    old: Admixture, new: Admixture, dead: pint.Quantity, rate: pint.Quantity
) -> tuple[DrugDuringClearing, ...]:
    """Each drug while ``dead`` of the old fill is pushed out at the new ``rate``."""
    o, n = _by_name(old), _by_name(new)
    names = [*n, *(k for k in o if k not in n)]  # new fill's order, then drugs it dropped
    out: list[DrugDuringClearing] = []
    for name in names:
        old_c = o[name].concentration if name in o else None
        new_c = n[name].concentration if name in n else None
        unit = mass_unit(new_c if new_c is not None else o[name].concentration)
        zero_conc = Q_(0.0, f"{unit}/mL")
        oc = old_c if old_c is not None else zero_conc
        nc = new_c if new_c is not None else zero_conc
        delivered = (oc * dead).to(unit)
        intended = (nc * dead).to(unit)
        out.append(
            DrugDuringClearing(
                drug=name,
                old_concentration=old_c,
                new_concentration=new_c,
                delivered=delivered,
                intended=intended,
                difference=(delivered - intended).to(unit),
                delivered_daily=(oc * rate).to(f"{unit}/d"),
                intended_daily=(nc * rate).to(f"{unit}/d"),
            )
        )
    return tuple(out)


def _target(old: Admixture, new: Admixture, target_drug: str | None) -> str | None:
    """The drug whose dose the bridge holds; None when the fills share no drug."""
    o, n = _by_name(old), _by_name(new)
    common = [k for k in n if k in o]
    if target_drug is not None:
        name = new.ingredient(target_drug, "target_drug").drug.name
        if name not in o:
            raise InputError(
                "target_drug",
                f"{name} is not in the old fill; the bridge delivers the old fluid, so it can only "
                "hold the dose of a drug both fills contain",
                "one of: " + ", ".join(common) if common else "a drug in both fills",
            )
        return name
    if len(common) == 1:
        return common[0]
    if not common:
        return None
    raise InputError(
        "target_drug",
        "both fills hold several drugs; name the drug whose intended dose the bridge should hold",
        "one of: " + ", ".join(common),
    )


def _program(
    old: Admixture, new: Admixture, target: str, dead: pint.Quantity, rate: pint.Quantity
) -> BridgeProgram:
    o, n = _by_name(old), _by_name(new)
    old_c = o[target].concentration
    unit = mass_unit(n[target].concentration)
    intended = (n[target].concentration * rate).to(f"{unit}/d")
    # Old concentration, intended dose rate: rate = dose rate ÷ old concentration.
    bridge_rate = (intended / old_c).to("mL/d")
    duration = (dead / bridge_rate).to("h")
    doses: dict[str, pint.Quantity] = {}
    dose_rates: dict[str, pint.Quantity] = {}
    intended_rates: dict[str, pint.Quantity] = {}
    for name, ing in o.items():
        u = mass_unit(ing.concentration)
        doses[name] = (ing.concentration * dead).to(u)
        dose_rates[name] = (ing.concentration * bridge_rate).to(f"{u}/d")
    for name in [*n, *o]:
        if name in intended_rates:
            continue
        conc = n[name].concentration if name in n else o[name].concentration * 0
        intended_rates[name] = (conc * rate).to(f"{mass_unit(conc)}/d")
    formula = (
        f"bridge rate = intended {target} dose {fmt(intended)} ÷ old concentration {fmt(old_c)} "
        f"= {fmt(bridge_rate)}; duration = dead volume {fmt(dead)} ÷ {fmt(bridge_rate)} "
        f"= {fmt(duration)}"
    )
    return BridgeProgram(
        target_drug=target,
        intended_dose_rate=intended,
        old_concentration=old_c,
        rate=bridge_rate,
        duration=duration,
        volume=dead,
        then_rate=rate,
        doses=doses,
        dose_rates=dose_rates,
        intended_dose_rates=intended_rates,
        formula=formula,
    )
