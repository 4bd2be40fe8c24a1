"""Priming bolus: moving drug to the catheter tip after implant or catheter revision.

After an implant, or a revision (a calcified catheter segment spliced out and replaced by a new
one, as in the case report in Pain Medicine Case Reports 2024;8(6)), part of the fluid path holds
no drug. At the basal rate the drug would take hours to days to reach the tip; a priming bolus
delivers that volume first. The programmer's priming-volume calculation was recalled (2013/2016),
so the volume is always shown with its formula. Labelling warns that drug and non-drug fluid mix
at priming flow rates.

Catheter volume per cm and the pump's internal volume come from the catalog when public
(Prometra catheter: 0.0026 mL/cm, Prometra II manual p.33) and are required inputs otherwise.
"""

from dataclasses import dataclass, field

import pint

from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.pump import CatheterSpec, PumpSpec
from thecal.units import Dimension, InputError, check_dimension, fmt

# Priming bolus after implant or catheter revision (Medtronic labelling).
PRIMING_SOURCE = "Medtronic reference guide; FDA recall notices"
# The programmer's priming-volume recall (FDA recall notices 2013/2016) and its lesson.
PRIMING_RECALL_SOURCE = (
    "FDA recall notices: priming volume miscalculated (recall 2013/2016); priming and bridge "
    "volumes computed from recorded catheter length and model, shown with the formula"
)

_VPL_EXPECTED = "the volume per cm from the catheter labelling, such as '0.0026 mL/cm'"


@dataclass(frozen=True)
class CatheterVolume:
    """A catheter volume (mL) with the formula that produced it and where its numbers are from."""

    volume: pint.Quantity
    formula: str
    source: str


@dataclass(frozen=True)
class PrimingBolus:
    """Result of :func:`priming_bolus`.

    ``volume`` (mL) = catheter part + pump tubing (when included). ``time_to_tip`` (h) and
    ``time_to_tip_days`` (d): how long the basal rate alone takes to bring drug to the tip.
    """

    catheter: CatheterVolume
    internal_volume: pint.Quantity | None
    internal_volume_source: str
    volume: pint.Quantity
    formula: str
    basal_rate: pint.Quantity
    time_to_tip: pint.Quantity
    time_to_tip_days: pint.Quantity
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def catheter_volume_per_length(
    catheter: CatheterSpec,
    entered: pint.Quantity | None = None,
    where: str = "catheter.volume_per_length",
) -> pint.Quantity:
    """Volume per length (mL/cm) of ``catheter``: the ``entered`` value wins, else the catalog's.

    Raises :class:`InputError` naming ``where`` when neither exists (e.g. Medtronic catheters:
    the value is not public)."""
    if entered is not None:
        return _positive(entered, where, Dimension.VOLUME_PER_LENGTH, "mL/cm")
    if catheter.volume_per_length is None:
        raise InputError(
            where,
            f"the volume per cm of {catheter.model} is not public and was not entered",
            _VPL_EXPECTED,
        )
    return catheter.volume_per_length.to("mL/cm")


def implanted_catheter_volume(
    catheter: CatheterSpec,
    trimmed_length: pint.Quantity,
    volume_per_length: pint.Quantity | None = None,
) -> CatheterVolume:
    """Volume (mL) of an implanted catheter cut to size:
    (full length − trimmed length) × volume per cm (Prometra II manual p.33).

    ``trimmed_length`` is the length cut off the catheter (cm), as in the manual's formula.
    ``volume_per_length`` overrides the catalog value. Raises :class:`InputError` when the catalog
    lacks the full length or volume per cm, or the trimmed length is outside 0…full length."""
    vpl = catheter_volume_per_length(catheter, volume_per_length)
    if catheter.full_length is None:
        raise InputError(
            "catheter.full_length",
            f"the catalog has no full length for {catheter.model}",
            "a catheter model whose catalog entry has a full length, or enter the catheter volume",
        )
    check_dimension(trimmed_length, "catheter.trimmed_length", Dimension.LENGTH)
    full = catheter.full_length.to("cm")
    trimmed = trimmed_length.to("cm")
    if trimmed.magnitude < 0 or trimmed > full:
        raise InputError(
            "catheter.trimmed_length",
            f"{fmt(trimmed)} is outside 0 to the catheter's full length {fmt(full)}",
            f"the length cut off, between 0 cm and {fmt(full)}",
        )
    volume = ((full - trimmed) * vpl).to("mL")
    formula = (
        f"implanted catheter volume = ({fmt(full)} full length − {fmt(trimmed)} trimmed) × "
        f"{fmt(vpl)} = {fmt(volume)}"
    )
    source = catheter.source if volume_per_length is None else "entered by the clinician"
    return CatheterVolume(volume, formula, source)


def catheter_volume(
    volume_per_length: pint.Quantity | None,
    length: pint.Quantity | None,
    entered_volume: pint.Quantity | None,
    where: str = "catheter",
) -> CatheterVolume:
    """Catheter volume (mL): the ``entered_volume`` wins; else ``length`` × ``volume_per_length``.

    Raises :class:`InputError` naming ``{where}.volume_per_length`` when the volume per cm is
    needed but missing (not public for some catheters), or ``{where}.length`` when neither a
    length nor a volume was given."""
    if entered_volume is not None:
        v = _positive(entered_volume, f"{where}.volume", Dimension.VOLUME, "mL")
        return CatheterVolume(v, f"catheter volume {fmt(v)} (entered)", "entered by the clinician")
    if length is None:
        raise InputError(
            f"{where}.length",
            "neither the catheter length nor the catheter volume was entered",
            "a length such as '40 cm' (with the volume per cm) or a volume such as '0.1 mL'",
        )
    ln = _positive(length, f"{where}.length", Dimension.LENGTH, "cm")
    if volume_per_length is None:
        raise InputError(
            f"{where}.volume_per_length",
            "the catheter's volume per cm was not entered and is not in the catalog (it is not "
            "public for some catheters, e.g. Medtronic)",
            _VPL_EXPECTED,
        )
    vpl = _positive(volume_per_length, f"{where}.volume_per_length", Dimension.VOLUME_PER_LENGTH)
    vpl = vpl.to("mL/cm")
    v = (ln * vpl).to("mL")
    return CatheterVolume(
        v, f"catheter volume = {fmt(ln)} × {fmt(vpl)} = {fmt(v)}", "catheter length × volume per cm"
    )


def priming_bolus(
    catheter_volume_per_length: pint.Quantity | None,
    new_length: pint.Quantity | None,
    entered_catheter_volume: pint.Quantity | None,
    include_pump_tubing: bool,
    pump: PumpSpec,
    internal_volume: pint.Quantity | None,
    basal_rate: pint.Quantity,
) -> PrimingBolus:
    """Priming volume (mL) and the time (h, d) the basal rate alone needs to bring drug to the tip.

    Catheter part = ``entered_catheter_volume`` (mL) if given, else ``new_length`` (cm) ×
    ``catheter_volume_per_length`` (mL/cm). ``new_length`` is the catheter length that holds no
    drug yet, up to the tip: the implanted length after an implant; after a revision the new
    segment plus the catheter beyond it. With ``include_pump_tubing`` (new or emptied pump) the
    pump's internal volume is added: the entered ``internal_volume`` wins, else the catalog's;
    one of them is required. ``basal_rate``: flow (e.g. mL/d), greater than zero.
    """
    check_dimension(basal_rate, "basal_rate", Dimension.FLOW_RATE)
    if basal_rate.magnitude <= 0:
        raise InputError(
            "basal_rate", "must be greater than zero", "a flow rate such as '0.25 mL/d'"
        )
    basal = basal_rate.to("mL/d")
    cath = catheter_volume(catheter_volume_per_length, new_length, entered_catheter_volume)

    internal: pint.Quantity | None = None
    internal_source = ""
    if include_pump_tubing:
        entered = (
            None
            if internal_volume is None
            else _positive(internal_volume, "internal_volume", Dimension.VOLUME, "mL", zero=True)
        )
        internal = pump.require("internal_volume", entered, "internal_volume").to("mL")
        internal_source = (
            "entered by the clinician"
            if entered is not None
            else pump.source("internal_volume") or f"device catalog ({pump.model})"
        )

    total = cath.volume if internal is None else (cath.volume + internal).to("mL")
    if internal is None:
        formula = f"priming volume = {cath.formula}"
    else:
        formula = (
            f"priming volume = {cath.formula} + pump internal volume {fmt(internal)} "
            f"({internal_source}) = {fmt(total)}"
        )
    # Without a priming bolus the basal flow has to push the whole drug-free volume out first.
    days = (total / basal).to("d")
    hours = days.to("h")

    findings = (
        Finding(
            Level.INFO,
            Code.PRIMING_VOLUME,
            f"Priming: {formula}. Without a priming bolus, at the basal rate {fmt(basal)} the drug "
            f"reaches the catheter tip after about {fmt(hours, 3)} ({fmt(days, 3)}).",
            PRIMING_RECALL_SOURCE,
            value=total,
        ),
        Finding(
            Level.INFO,
            Code.PRIMING_MIXING,
            "Labelling warns that at priming flow rates the drug mixes with the fluid already in "
            "the catheter: drug can reach the tip earlier than calculated, followed by a period "
            "of lower concentration. Watch the patient during and after the priming bolus.",
            PRIMING_SOURCE,
        ),
    )
    return PrimingBolus(
        catheter=cath,
        internal_volume=internal,
        internal_volume_source=internal_source,
        volume=total,
        formula=formula,
        basal_rate=basal,
        time_to_tip=hours,
        time_to_tip_days=days,
        findings=findings,
    )


def _positive(
    q: pint.Quantity, where: str, dim: Dimension, unit: str | None = None, zero: bool = False
) -> pint.Quantity:
    check_dimension(q, where, dim)
    if q.magnitude < 0 or (q.magnitude == 0 and not zero):
        raise InputError(
            where, "must not be negative" if zero else "must be greater than zero", dim.example
        )
    return q.to(unit) if unit else q
