"""A refill with a new concentration, computed for the refill wizard (pure: no I/O, no clock).

The new fill holds the same drugs at other concentrations. The program that keeps the same
daily dose of the schedule's drug runs at rate × old concentration ÷ new concentration (a
program written as a daily dose keeps it as is), and the fluid of the old fill still in the
pump tubing and catheter is bridged by :func:`~thecal.therapy.bridge_bolus.bridge_bolus`
(ITB best practices, Saulino 2016). A drug change is not handled here: it is a new
prescription on the program form (:mod:`thecal.therapy.drug_change`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pint

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.bridge_bolus import BridgeBolus, bridge_bolus
from thecal.therapy.compare import equal
from thecal.therapy.delivery import DeliveryModel, hours
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_, Dimension, InputError, fmt, mass_unit, parse_quantity

FIELD = "refill.concentration"
CATHETER = "refill.catheter_volume"
INTERNAL = "refill.internal_volume"


@dataclass(frozen=True)
class ConcentrationChange:
    """``plan``: the new program (new admixture, same daily dose of ``drug``); ``old_rate`` and
    ``new_rate`` (mL/d) the basal rates at the plan's start; ``rate_formula`` the arithmetic;
    ``concentrations``: (drug, old, new) per drug; ``bridge``: the bridge bolus."""

    plan: PlanFile
    drug: str
    concentrations: tuple[tuple[str, pint.Quantity, pint.Quantity], ...]
    old_rate: pint.Quantity
    new_rate: pint.Quantity
    daily_dose: pint.Quantity
    rate_formula: str
    bridge: BridgeBolus


def entered_concentrations(form: Mapping[str, str], plan: PlanFile) -> dict[str, pint.Quantity]:
    """The new concentrations typed in ``form`` (``conc:<drug>``, blank: unchanged), each a
    concentration with its unit; a drug the prescription does not hold is refused."""
    drugs = {i.drug for i in plan.admixture}
    out: dict[str, pint.Quantity] = {}
    for key, text in form.items():
        if not key.startswith("conc:") or not text.strip():
            continue
        drug = key.removeprefix("conc:")
        if drug not in drugs:
            raise InputError(FIELD, f"{drug!r} is not in the prescribed admixture",
                             "a new drug is a new prescription: use the program form")  # fmt: skip
        q = parse_quantity(text, f"{FIELD}.{drug}", Dimension.CONCENTRATION)
        if q.magnitude <= 0:
            raise InputError(f"{FIELD}.{drug}", "must be greater than zero", "e.g. '25 mg/mL'")
        out[drug] = q
    return out


def concentration_change(
    plan: PlanFile,
    new: Mapping[str, pint.Quantity],
    library: DrugLibrary,
    catalog: DeviceCatalog,
    *,
    catheter_volume: pint.Quantity | None = None,
    internal_volume: pint.Quantity | None = None,
) -> ConcentrationChange | None:
    """The new program and bridge when ``new`` changes a concentration of ``plan`` (None when
    every concentration is the same). ``catheter_volume``, ``internal_volume`` (mL): entered
    values win over the prescription's and the catalog's; one is required for the bridge.
    Only a continuous program is rescaled here (steps and periodic boluses: the program form).
    Raises :class:`InputError` naming the field."""
    old = {i.drug: parse_quantity(i.concentration, FIELD, Dimension.CONCENTRATION)
           for i in plan.admixture}  # fmt: skip
    if all(equal(q, old[d]) for d, q in new.items()):
        return None
    s = plan.schedule
    if s.mode != "continuous" or s.steps or s.periodic or s.single:
        raise InputError(FIELD, "this program has steps or timed boluses",
                         "change the concentration on the program form")  # fmt: skip
    drug = s.drug or plan.admixture[0].drug
    old_c, new_c = old[drug], new.get(drug, old[drug])
    factor = float((old_c / new_c).to("").magnitude)
    # The new program is built as typed quantities (never text for another module to parse)
    # and written as a file only for display and storage.
    typed = plan.to_typed()
    mix = tuple(replace(i, concentration=new.get(i.drug, i.concentration)) for i in typed.admixture)
    sched = typed.schedule
    if sched.rate is not None:
        sched = replace(sched, rate=(sched.rate * factor).to(sched.rate.units))
    bolus = typed.patient_bolus
    if bolus is not None and bolus.volume is not None:
        bolus = replace(bolus, volume=(bolus.volume * factor).to(bolus.volume.units))
    new_typed = replace(typed, admixture=mix, schedule=sched, patient_bolus=bolus)
    new_plan = PlanFile.from_typed(new_typed)
    before, after = (
        resolve(typed, library, catalog),
        resolve(new_typed, library, catalog),
    )
    start = hours(plan.at)
    old_rate = Q_(DeliveryModel(before.schedule).rate_at(start), "mL/h").to("mL/d")
    new_rate = Q_(DeliveryModel(after.schedule).rate_at(start), "mL/h").to("mL/d")
    dose = (old_c * old_rate).to(f"{mass_unit(old_c)}/d")
    formula = (
        f"daily dose of {drug} = {fmt(old_rate)} × {fmt(old_c)} = {fmt(dose)}; new rate = "
        f"{fmt(dose)} ÷ {fmt(new_c)} = {fmt(new_rate)}"
    )
    catheter = catheter_volume if catheter_volume is not None else after.catheter_volume()
    if catheter is None:
        raise InputError(CATHETER, "is needed for the bridge bolus (the concentration changes)",
                         "the implanted catheter volume, e.g. '0.13 mL'")  # fmt: skip
    if internal_volume is None and after.pump.internal_volume is None:
        raise InputError(INTERNAL, f"is needed for the bridge bolus: the internal volume of "
                         f"{after.pump.model} is not public",
                         "the pump tubing volume from the labelling, e.g. '0.2 mL'")  # fmt: skip
    if new_rate.magnitude <= 0:
        raise InputError(FIELD, "the program's rate at its start is 0: no bridge can be "
                         "computed", "change the program on the program form")  # fmt: skip
    bridge = bridge_bolus(before.admixture, after.admixture, new_rate, after.pump, catheter,
                          internal_volume, drug)  # fmt: skip
    concs = tuple((d, old[d], new.get(d, old[d])) for d in old)
    return ConcentrationChange(new_plan, drug, concs, old_rate, new_rate, dose, formula, bridge)


def optional_volume(form: Mapping[str, str], key: str, field: str) -> pint.Quantity | None:
    """The volume typed in ``form[key]`` (mL), or None when blank."""
    text = form.get(key, "").strip()
    return parse_quantity(text, field, Dimension.VOLUME) if text else None


__all__ = [
    "ConcentrationChange",
    "concentration_change",
    "entered_concentrations",
    "optional_volume",
]
