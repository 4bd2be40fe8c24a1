"""What ``thecal plan show`` reports (the resolved plan, the gate's findings, doses, refill
dates) and its JSON form with UCUM quantities."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.plan_files import load_plan
from thecal.cli import output as o
from thecal.cli.extras import Extras, compute_extras, extras_json
from thecal.therapy.delivery import DailyDose, daily_dose
from thecal.therapy.findings import Finding, blocks, needs_reason, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.plan_model import Plan
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_dates import RefillForecast, forecast
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import WEEKDAYS, BasalProgram


@dataclass
class Report:
    """Everything ``plan show`` prints, as core objects."""

    source: str
    resolved: ResolvedPlan
    library: DrugLibrary
    dose: DailyDose
    findings: tuple[Finding, ...]
    forecast: RefillForecast | None = None
    extras: Extras = field(default_factory=Extras)

    @property
    def plan(self) -> Plan:
        return self.resolved.plan

    @property
    def blocked(self) -> bool:
        return blocks(self.findings)


# --- computing -------------------------------------------------------------------------------


def resolve_file(path: Path, library_files: list[Path]) -> tuple[ResolvedPlan, DrugLibrary]:
    """Load the library (shipped + ``$THECAL_LIBRARY`` + ``library_files``) and the plan."""
    library = load_library(library_files)
    plan = load_plan(path)
    return resolve(plan.to_typed(), library, load_catalog()), library


def gate(resolved: ResolvedPlan, library: DrugLibrary) -> tuple[Finding, ...]:
    """The gate's findings for the program — or for the refill proposal, which includes the
    program's, when the plan has a [fill] — plus the rate-rounding notes. Hard first."""
    proposal = resolved.refill_proposal
    result = check(proposal if proposal is not None else resolved.program, library)
    out: list[Finding] = list(result.findings)
    seen = {(f.code, f.message, f.drug) for f in out}
    for f in resolved.rounding:
        if (f.code, f.message, f.drug) not in seen:
            out.append(f)
    return ordered(out)


def refill_forecast(
    resolved: ResolvedPlan, library: DrugLibrary, proposal: RefillProposal | None = None
) -> RefillForecast | None:
    """Refill dates for ``proposal`` (default: the plan's [fill]); None without a fill."""
    proposal = proposal or resolved.refill_proposal
    if proposal is None:
        return None
    return forecast(
        proposal.fill,
        resolved.schedule,
        resolved.pump,
        proposal.alarm_threshold,
        resolved.program.patient_bolus,
        resolved.admixture,
        library,
        reported=proposal.reported,
        planned_refill=proposal.planned_refill,
    )


def build_report(source: str, resolved: ResolvedPlan, library: DrugLibrary) -> Report:
    dose = daily_dose(resolved.schedule, resolved.admixture, resolved.program.patient_bolus)
    extras = compute_extras(resolved, library)
    findings = ordered([*gate(resolved, library), *extras.findings])
    return Report(
        source, resolved, library, dose, findings, refill_forecast(resolved, library), extras
    )


# --- JSON ------------------------------------------------------------------------------------


def _rate_json(rate: o.Qty, resolved: ResolvedPlan) -> dict[str, Any]:
    per_day = rate.to("mL/d")
    return {
        "rate": o.q(per_day),
        "rate_per_hour": o.q(rate.to("mL/h")),
        "doses": {k: o.q(v) for k, v in doses_per_drug(resolved, per_day).items()},
    }


def doses_per_drug(resolved: ResolvedPlan, per_day: o.Qty) -> dict[str, o.Qty]:
    out = {}
    for ing in resolved.admixture.ingredients:
        unit = "ug/d" if _is_micro(ing.concentration) else "mg/d"
        out[ing.drug.name] = (ing.concentration * per_day).to(unit)
    return out


def _is_micro(concentration: o.Qty) -> bool:
    return {str(n) for n, _ in concentration.unit_items()} & {"microgram", "mcg"} != set()


def basal_groups(basal: BasalProgram) -> list[tuple[list[str], Any]]:
    """Weekdays grouped by identical day programs, Monday first."""
    groups: list[tuple[list[str], Any]] = []
    for name, day in zip(WEEKDAYS, basal.days, strict=True):
        for names, program in groups:
            if program == day:
                names.append(name)
                break
        else:
            groups.append(([name], day))
    return groups


def schedule_json(resolved: ResolvedPlan) -> dict[str, Any]:
    s = resolved.schedule
    return {
        "mode": resolved.plan.schedule.mode,
        "basal": [
            {
                "days": names,
                "steps": [
                    {"start": step.start.strftime("%H:%M"), **_rate_json(step.rate, resolved)}
                    for step in day.steps
                ],
            }
            for names, day in basal_groups(s.basal)
        ],
        "periodic": [
            {
                "volume": o.q(p.volume),
                "every": o.q(p.every),
                "duration": o.q(p.duration),
                "first": o.when(p.first),
                "doses": {k: o.q(v) for k, v in resolved.admixture.doses(p.volume).items()},
            }
            for p in s.periodic
        ],
        "single": [
            {
                "volume": o.q(b.volume),
                "at": o.when(b.at),
                "duration": o.q(b.duration),
                "doses": {k: o.q(v) for k, v in resolved.admixture.doses(b.volume).items()},
            }
            for b in s.single
        ],
    }


def forecast_json(fc: RefillForecast) -> dict[str, Any]:
    return {
        "fill": {
            "volume": o.q(fc.fill.volume),
            "at": o.when(fc.fill.at),
            "first_fill": fc.fill.first_fill,
        },
        "alarm_threshold": o.q(fc.alarm_threshold),
        "alarm_source": fc.alarm_source,
        "margin": o.q(fc.margin),
        "low_alarm_nominal": o.when(fc.low_alarm_nominal),
        "low_alarm_worst": o.when(fc.low_alarm_worst),
        "empty_nominal": o.when(fc.empty_nominal),
        "empty_worst": o.when(fc.empty_worst),
        "refill_by": o.when(fc.refill_by),
        "decided_by": fc.decided_by,
        "candidates": [
            {
                "at": o.when(c.at),
                "kind": c.kind.value,
                "reason": c.reason,
                "source": c.source,
                "level": c.level.value,
                "interval": o.q(c.interval),
                "drug": c.drug,
            }
            for c in fc.candidates
        ],
    }


def report_json(r: Report) -> dict[str, Any]:
    res = r.resolved
    pump = res.pump
    bolus = res.program.patient_bolus
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "plan": r.source,
        "title": r.plan.title,
        "at": o.when(r.plan.at),
        "pump": {
            "model": pump.model,
            "kind": pump.kind.value,
            "implanted": pump.implanted,
            "reservoir": o.q(pump.reservoir),
            "low_reservoir_alarm": o.q(pump.low_reservoir_alarm),
        },
        "admixture": [
            {"drug": i.drug.name, "concentration": o.q(i.concentration)}
            for i in res.admixture.ingredients
        ],
        "schedule": schedule_json(res),
        "patient_bolus": None
        if bolus is None
        else {
            "volume": o.q(bolus.volume),
            "doses": {k: o.q(v) for k, v in res.admixture.doses(bolus.volume).items()},
            "duration": o.q(bolus.duration),
            "lockout": o.q(bolus.lockout),
            "max_per_day": bolus.max_per_day,
            "max_count_per_day": bolus.max_count_per_day,
        },
        "daily_dose": {
            "volume": {
                "nominal": o.q(r.dose.nominal_volume),
                "worst_case": o.q(r.dose.worst_case_volume),
            },
            "drugs": {
                name: {
                    "nominal": o.q(r.dose.nominal[name]),
                    "worst_case": o.q(r.dose.worst_case[name]),
                }
                for name in res.admixture.drug_names
            },
        },
        "refill": forecast_json(r.forecast) if r.forecast else None,
        **extras_json(r.extras),
        "findings": o.findings_json(r.findings),
        "blocked": r.blocked,
        "needs_reason": [f.code.value for f in needs_reason(r.findings)],
    }


def check_json(source: str, findings: tuple[Finding, ...]) -> dict[str, Any]:
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "plan": source,
        "blocked": blocks(findings),
        "needs_reason": [f.code.value for f in needs_reason(findings)],
        "findings": o.findings_json(findings),
    }


# --- human -----------------------------------------------------------------------------------
