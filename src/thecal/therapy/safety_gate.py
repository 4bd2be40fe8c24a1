"""The one safety gate. Every proposed program, bolus or refill — from the CLI, the web, the API
or the programmer — passes through :func:`check`, which returns ordered findings (hard first)
that each name their limit, the value, and the source of the rule."""

from dataclasses import dataclass

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.compare import above, above_count
from thecal.therapy.delivery import daily_dose
from thecal.therapy.device_limits import capability_findings
from thecal.therapy.drugs import Bound, Drug, LimitKind
from thecal.therapy.entry_error import no_limit_findings, slip_findings
from thecal.therapy.findings import Code, Finding, Level, Verdict, deduplicated, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.overrides import classify
from thecal.therapy.program_context import program_context_findings
from thecal.therapy.proposal import (
    BolusProposal,
    Patient,
    ProgramProposal,
    Proposal,
    RefillProposal,
)
from thecal.therapy.pump import PumpSpec
from thecal.therapy.refill_assessment import assess_refill
from thecal.therapy.restart import restart_findings
from thecal.therapy.schedule import PatientBolus
from thecal.therapy.titration import titration_findings
from thecal.units import Q_, fmt


@dataclass(frozen=True)
class GateResult(Verdict):
    findings: tuple[Finding, ...]


def check(proposal: Proposal, library: DrugLibrary) -> GateResult:
    """Run every check that applies to ``proposal`` and return the ordered findings."""
    if isinstance(proposal, RefillProposal):
        found = list(assess_refill(proposal, library).findings)
        admixture = proposal.program.admixture
    elif isinstance(proposal, ProgramProposal):
        found, admixture = _program(proposal, library), proposal.admixture
    else:
        found, admixture = _bolus(proposal, library), proposal.admixture
    # Each soft finding says who may give its reason (a physician for opioid doses).
    return GateResult(classify(ordered(deduplicated(found)), admixture))


# --- programs --------------------------------------------------------------------------------

_ENTRY_ERROR = "Entry error? "
_STRONGER = (
    " Check the label. A stronger solution that your pharmacy really makes must be added to the "
    "institution's drug library with its source."
)


def _program(p: ProgramProposal, library: DrugLibrary) -> list[Finding]:
    out: list[Finding] = []
    out += _labelling(p.admixture, p.pump, library)
    out += _concentrations(p.admixture, p.patient)
    out += capability_findings(p.schedule.basal, p.pump)
    doses = daily_dose(p.schedule, p.admixture, p.patient_bolus)
    old = (
        daily_dose(p.previous.schedule, p.previous.admixture, p.previous.patient_bolus)
        if p.previous
        else None
    )
    for ing in p.admixture.ingredients:
        drug = ing.drug
        ctx = _context(p.patient, dilution=ing.dilution)
        nominal = doses.nominal[drug.name]
        worst = doses.worst_case[drug.name]
        for lim in drug.limits_for(Bound.DAILY_DOSE_MAX, ctx):
            if above(nominal, lim.value):
                entry_error = lim.kind is LimitKind.ENTRY_ERROR
                out.append(
                    Finding(
                        lim.level,
                        Code.DAILY_DOSE_ENTRY_ERROR if entry_error else Code.DAILY_DOSE_ABOVE_LIMIT,
                        (_ENTRY_ERROR if entry_error else "")
                        + f"{drug.name} {fmt(nominal)} is above the daily limit of {fmt(lim.value)}"
                        + (f" ({lim.note})" if lim.note else "")
                        + _when(lim.describe_when())
                        + ".",
                        lim.source,
                        drug.name,
                        lim.value,
                        nominal,
                    )
                )
            elif above(worst, lim.value):
                out.append(
                    Finding(
                        lim.level,
                        Code.WORST_CASE_DAILY_DOSE_ABOVE_LIMIT,
                        f"If every allowed patient bolus is taken, {drug.name} reaches "
                        f"{fmt(worst)} a day, above the daily limit of {fmt(lim.value)}"
                        + _when(lim.describe_when())
                        + ".",
                        lim.source,
                        drug.name,
                        lim.value,
                        worst,
                    )
                )
        old_daily = _old_daily(drug, old.nominal if old else None, p)
        out += titration_findings(drug, nominal, old_daily, p.at, p.previous, ctx)
        # A first dose or an increase: not a maintenance program whose predecessor is unknown.
        first = old_daily is None and p.start is not False
        if drug.monitoring and (first or (old_daily is not None and above(nominal, old_daily))):
            out.append(
                Finding(
                    Level.INFO, Code.OBSERVE_AFTER_INCREASE, drug.monitoring, drug.source, drug.name
                )
            )
        if p.interruption is not None and old is not None and drug.name in old.nominal:
            out += restart_findings(
                drug, old.nominal[drug.name], nominal, p.interruption, library.settings
            )
    out += slip_findings(
        p.admixture,
        doses.nominal,
        p.previous.admixture if p.previous else None,
        old.nominal if old else None,
        doses.nominal_volume,
        old.nominal_volume if old else None,
        library.settings,
        interrupted=p.interruption is not None,
    )
    out += no_limit_findings(
        p.admixture,
        {i.drug.name: _context(p.patient, dilution=i.dilution) for i in p.admixture.ingredients},
    )
    if p.patient_bolus is not None:
        out += _patient_bolus(p.admixture, p.patient_bolus, p.patient, library)
    out += program_context_findings(p, library)
    return out


def _old_daily(
    drug: Drug, old: dict[str, pint.Quantity] | None, p: ProgramProposal
) -> pint.Quantity | None:
    if old is None or drug.name not in old:
        return None
    return old[drug.name]


def _labelling(admixture: Admixture, pump: PumpSpec, library: DrugLibrary) -> list[Finding]:
    """Implanted pumps are labelled for one approved drug at a time (FDA 2018)."""
    if not pump.implanted or admixture.labelled_for_pump:
        return []
    level = library.settings.unlabelled_level
    source = library.settings.unlabelled_source
    unlabelled = [i.drug.name for i in admixture.ingredients if not i.drug.labelled_for_pump]
    reasons = []
    if unlabelled:
        reasons.append(
            ", ".join(unlabelled)
            + " "
            + ("is" if len(unlabelled) == 1 else "are")
            + " not labelled for implanted pumps"
        )
    if len(admixture.ingredients) > 1:
        reasons.append("a mixture of drugs is not covered by the pump labelling")
    return [
        Finding(
            level,
            Code.NOT_LABELLED_FOR_PUMP,
            "Off-label use: " + "; ".join(reasons) + ". Unapproved drugs raise the risk of pump "
            "failure; document the decision.",
            source,
        )
    ]


def _concentrations(admixture: Admixture, patient: Patient) -> list[Finding]:
    out: list[Finding] = []
    for ing in admixture.ingredients:
        ctx = _context(patient, dilution=ing.dilution)
        for lim in ing.drug.limits_for(Bound.CONCENTRATION_MAX, ctx):
            if above(ing.concentration, lim.value):
                entry_error = lim.kind is LimitKind.ENTRY_ERROR
                out.append(
                    Finding(
                        lim.level,
                        Code.CONCENTRATION_ENTRY_ERROR
                        if entry_error
                        else Code.CONCENTRATION_ABOVE_LIMIT,
                        (_ENTRY_ERROR if entry_error else "")
                        + f"{ing.drug.name} {fmt(ing.concentration)} is above the concentration "
                        f"limit of {fmt(lim.value)}"
                        + (f" ({lim.note})" if lim.note else "")
                        + "."
                        + (_STRONGER if entry_error else ""),
                        lim.source,
                        ing.drug.name,
                        lim.value,
                        ing.concentration,
                    )
                )
    return out


def _patient_bolus(
    admixture: Admixture, bolus: PatientBolus, patient: Patient, library: DrugLibrary
) -> list[Finding]:
    out: list[Finding] = []
    out += _opioid_bolus(admixture, patient, library, "Patient-activated")
    for drug, dose in admixture.doses(bolus.volume).items():
        lib_drug = admixture.ingredient(drug).drug
        ctx = _context(patient, dilution=admixture.ingredient(drug).dilution)
        out += _bolus_dose(lib_drug, dose, ctx)
        for lim in lib_drug.limits_for(Bound.BOLUSES_PER_DAY_MAX, ctx):
            count = bolus.max_count_per_day
            if above_count(count, lim.value.to("").magnitude):
                out.append(
                    Finding(
                        lim.level,
                        Code.BOLUSES_PER_DAY_ABOVE_LIMIT,
                        f"Up to {count} patient boluses a day are allowed by the lockout and daily "
                        f"maximum; the limit for {drug} is {lim.value.to('').magnitude:.0f}.",
                        lim.source,
                        drug,
                        lim.value,
                        Q_(count, ""),
                    )
                )
    return out


def _opioid_bolus(
    admixture: Admixture, patient: Patient, library: DrugLibrary, who: str
) -> list[Finding]:
    opioids = [i.drug.name for i in admixture.ingredients if i.drug.is_opioid]
    if not opioids:
        return []
    if patient.opioid_naive:
        return [
            Finding(
                Level.HARD,
                Code.OPIOID_BOLUS_OPIOID_NAIVE,
                f"{who} boluses of {', '.join(opioids)} are contraindicated in an opioid-naive "
                "patient.",
                library.settings.opioid_naive_source,
                opioids[0],
            )
        ]
    if patient.opioid_naive is None:
        return [
            Finding(
                Level.SOFT,
                Code.OPIOID_STATUS_UNKNOWN,
                f"{who} boluses of {', '.join(opioids)}: the patient's opioid tolerance is not "
                "recorded. Opioid boluses are contraindicated if the patient is opioid-naive.",
                library.settings.opioid_naive_source,
                opioids[0],
            )
        ]
    return []


def _bolus_dose(drug: Drug, dose: pint.Quantity, ctx: dict[str, str]) -> list[Finding]:
    return [
        Finding(
            lim.level,
            Code.BOLUS_DOSE_ABOVE_LIMIT,
            f"A bolus of {fmt(dose)} {drug.name} is above the bolus limit of {fmt(lim.value)}.",
            lim.source,
            drug.name,
            lim.value,
            dose,
        )
        for lim in drug.limits_for(Bound.BOLUS_DOSE_MAX, ctx)
        if above(dose, lim.value)
    ]


# --- boluses ---------------------------------------------------------------------------------


def _bolus(p: BolusProposal, library: DrugLibrary) -> list[Finding]:
    out: list[Finding] = []
    out += _labelling(p.admixture, p.pump, library)
    for drug, dose in p.admixture.doses(p.volume).items():
        ing = p.admixture.ingredient(drug)
        out += _bolus_dose(ing.drug, dose, _context(p.patient, dilution=ing.dilution))
    if p.pump.reservoir is not None and above(p.volume, p.pump.reservoir):
        out.append(
            Finding(
                Level.HARD,
                Code.FILL_EXCEEDS_RESERVOIR,
                f"A bolus of {fmt(p.volume)} is more than the whole reservoir "
                f"({fmt(p.pump.reservoir)}).",
                p.pump.source("reservoir"),
                limit=p.pump.reservoir,
                value=p.volume,
            )
        )
    return out


# --- helpers ---------------------------------------------------------------------------------


def _context(patient: Patient, **extra: str) -> dict[str, str]:
    ctx = patient.context()
    ctx.update(extra)
    return ctx


def _when(conditions: str) -> str:
    return f" [applies when {conditions}]" if conditions else ""
