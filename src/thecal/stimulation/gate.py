"""The stimulation gate: per contact charge, charge density and Shannon k at the programmed
amplitude and at the top of the patient's range, device ranges, voltage compliance and the
battery projection, as findings.

Hard (refused): k above the institution's limit on any contact (programmed amplitude or the
top of the patient's range), a setting outside the IPG's range, a pulse or burst that cannot
fit in its period. Soft (a clinical warning, a reason needed): charge density above the
labelled warning (30 uC/cm2 per phase), an amplitude the available voltage cannot drive.
Info: a value not public and not given, so a check could not be made (named).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pint

from thecal.stimulation.battery import (
    ENERGY_SOURCE,
    AreaLoad,
    battery_drain,
    energy_per_pulse,
    stored_energy,
    time_to_empty,
)
from thecal.stimulation.catalog import BatteryKind, IpgSpec, Limits
from thecal.stimulation.charge import SHANNON_SOURCE, ContactCharge, contact_charges
from thecal.stimulation.compliance import (
    COMPLIANCE_SOURCE,
    delivered_current,
    programmed_current,
    required_voltage,
)
from thecal.stimulation.program import Area, Program
from thecal.stimulation.ranges import period_findings, range_findings
from thecal.therapy.compare import above, above_count
from thecal.therapy.findings import Code, Finding, Level, Verdict, deduplicated, ordered
from thecal.units import Q_, fmt

_BATTERY_INPUTS = ("capacity", "cell_voltage", "efficiency", "quiescent_power")


@dataclass(frozen=True)
class AreaResult:
    """One area: contacts at the programmed amplitude and at the top of the patient's range
    (None without a range), and the current delivered at the programmed amplitude."""

    index: int
    area: Area
    programmed: tuple[ContactCharge, ...]
    patient_top: tuple[ContactCharge, ...] | None
    delivered: pint.Quantity
    limited: bool
    load: AreaLoad | None


@dataclass(frozen=True)
class BatteryProjection:
    """Drain and time to empty: the longevity of a primary cell or the recharge interval of a
    rechargeable one (None: no drain)."""

    kind: BatteryKind
    drain: pint.Quantity
    stored: pint.Quantity
    time_to_empty: pint.Quantity | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class StimulationCheck(Verdict):
    program: Program
    ipg: IpgSpec
    areas: tuple[AreaResult, ...]
    battery: BatteryProjection | None
    findings: tuple[Finding, ...]


def _limit_source(limits: Limits, key: str) -> str:
    return limits.sources.get(key, "")


def charge_findings(
    area: Area, contacts: tuple[ContactCharge, ...], limits: Limits, at_top: bool
) -> list[Finding]:
    """k above the institution's limit (hard) and density above the labelled warning (soft)
    on each contact. Edges: k equal to the limit passes, D equal to the warning passes."""
    out: list[Finding] = []
    codes = (
        (Code.STIM_PATIENT_SHANNON_K_ABOVE_LIMIT, Code.STIM_PATIENT_CHARGE_DENSITY_WARNING)
        if at_top
        else (Code.STIM_SHANNON_K_ABOVE_LIMIT, Code.STIM_CHARGE_DENSITY_WARNING)
    )
    when = "at the top of the patient's range" if at_top else "as programmed"
    for c in contacts:
        where = (
            f"Area {area.name!r}, contact {c.contact.label} ({c.contact.polarity.value}, "
            f"{c.contact.fraction:.0%}) {when}: {fmt(c.current)} for "
            f"{fmt(area.pulse_width.to('us'))} puts {fmt(c.charge, 3)} per phase on "
            f"{fmt(c.area, 3)}, {fmt(c.density, 3)}"
        )
        if c.k is not None and above_count(c.k, limits.shannon_k):
            out.append(Finding(
                Level.HARD, codes[0],
                f"{where} (Shannon k {c.k:.2f}), above your institution's limit k = "
                f"{limits.shannon_k:g}: risk of tissue damage. Lower the amplitude or pulse "
                "width, or share the current over more contacts.",
                f"{_limit_source(limits, 'shannon_k')}; {SHANNON_SOURCE}",
                limit=Q_(limits.shannon_k, ""), value=Q_(c.k, ""),
            ))  # fmt: skip
        if above(c.density, limits.charge_density_warning):
            out.append(Finding(
                Level.SOFT, codes[1],
                f"{where}, above the {fmt(limits.charge_density_warning)} per phase "
                "programmers warn at. Programming may continue at the clinician's discretion.",
                _limit_source(limits, "charge_density_warning"),
                limit=limits.charge_density_warning, value=c.density,
            ))  # fmt: skip
    return out


def _compliance(
    index: int, area: Area, ipg: IpgSpec, missing: list[str]
) -> tuple[pint.Quantity, bool, list[Finding]]:
    available = ipg.get("available_voltage")
    if area.impedance is None:
        missing.append(f"areas[{index}].impedance")
    if available is None:
        missing.append("ipg.available_voltage")
    delivered, limited = delivered_current(area, area.amplitude, available)
    out: list[Finding] = []
    tops = [("as programmed", area.amplitude, delivered, limited)]
    if area.patient_max is not None:
        top, top_limited = delivered_current(area, area.patient_max, available)
        tops.append(("at the top of the patient's range", area.patient_max, top, top_limited))
    for when, amplitude, got, was_limited in tops:
        if not was_limited or area.impedance is None:
            continue
        wanted = programmed_current(area, amplitude)
        out.append(Finding(
            Level.SOFT, Code.STIM_VOLTAGE_COMPLIANCE,
            f"Area {area.name!r} {when}: {fmt(wanted)} through {fmt(area.impedance)} needs "
            f"{fmt(required_voltage(wanted, area.impedance), 3)}, more than the "
            f"{fmt(available)} {ipg.model} has: it delivers only {fmt(got, 3)}, less than "
            "programmed. Check the impedance and the lead.",
            f"{ipg.source('available_voltage')}; {COMPLIANCE_SOURCE}",
            limit=available, value=required_voltage(wanted, area.impedance),
        ))  # fmt: skip
    return delivered, limited, out


def _battery(
    ipg: IpgSpec, results: list[AreaResult], missing: list[str]
) -> BatteryProjection | None:
    absent = ["ipg.battery"] if ipg.battery is None else []
    absent += [f"ipg.{k}" for k in _BATTERY_INPUTS if ipg.get(k) is None]
    absent += [f"areas[{r.index}].impedance" for r in results if r.load is None]
    if absent:
        missing.extend(absent)
        return None
    loads = [r.load for r in results if r.load is not None]
    assert ipg.battery is not None  # in ``absent`` otherwise
    drain = battery_drain(loads, ipg.get("efficiency"), ipg.get("quiescent_power"))
    stored = stored_energy(ipg.get("capacity"), ipg.get("cell_voltage"))
    sources = (*(ipg.source(k) for k in _BATTERY_INPUTS), ENERGY_SOURCE)
    return BatteryProjection(ipg.battery, drain, stored, time_to_empty(stored, drain), sources)


def _missing(what: str, names: list[str], ipg: IpgSpec) -> Finding:
    unique = ", ".join(dict.fromkeys(names))
    return Finding(
        Level.INFO, Code.STIM_INPUT_MISSING,
        f"{what}: not checked, because a value is not public for {ipg.model} and was not "
        f"given. Enter {unique} (from the labelling or a measurement) in the program file.",
        "Stimulator catalog: vendor values that are not public are required inputs, never "
        "guessed",
    )  # fmt: skip


def check_program(
    program: Program,
    contact_areas: Mapping[str, pint.Quantity],
    ipg: IpgSpec,
    limits: Limits,
) -> StimulationCheck:
    """Run every check on ``program`` for the IPG ``ipg`` (catalog values plus those the file
    gave), with each lead's contact area (cm2) by its name in the program."""
    findings: list[Finding] = []
    results: list[AreaResult] = []
    ranges_missing: list[str] = []
    compliance_missing: list[str] = []
    for index, area in enumerate(program.areas):
        findings += period_findings(area)
        findings += range_findings(area, ipg, ranges_missing)
        current = programmed_current(area, area.amplitude)
        programmed = contact_charges(area, current, contact_areas)
        findings += charge_findings(area, programmed, limits, at_top=False)
        top: tuple[ContactCharge, ...] | None = None
        if area.patient_max is not None:
            top = contact_charges(area, programmed_current(area, area.patient_max), contact_areas)
            findings += charge_findings(area, top, limits, at_top=True)
        delivered, limited, found = _compliance(index, area, ipg, compliance_missing)
        findings += found
        load = None
        if area.impedance is not None:
            energy = energy_per_pulse(delivered, area.impedance, area.pulse_width)
            load = AreaLoad(energy, area.waveform.pulses_per_second(), area.duty())
        results.append(AreaResult(index, area, programmed, top, delivered, limited, load))
    battery_missing: list[str] = []
    battery = _battery(ipg, results, battery_missing)
    for what, names in (
        ("The IPG's ranges", ranges_missing),
        ("Voltage compliance (can the IPG drive this amplitude?)", compliance_missing),
        ("Battery longevity or recharge interval", battery_missing),
    ):
        if names:
            findings.append(_missing(what, names, ipg))
    return StimulationCheck(program, ipg, tuple(results), battery, ordered(deduplicated(findings)))
