"""Programs and refills through the therapy core, as a clinic would do them in a scenario.

Every program is checked by the safety gate before it is sent (a hard finding means it is never
sent); every refill is a :class:`RefillProposal` with the last fill and the residual actually
withdrawn, judged by the one refill assessment (the gate's refill path), so it judges the numbers
the nurse would have.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pint

from thecal.devices.log import EventKind
from thecal.devices.pump import Program
from thecal.implant.scenario_quantities import ml
from thecal.implant.scenario_results import Values
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Finding
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.plan_model import (
    FillSettings,
    Ingredient,
    PatientBolusSettings,
    Plan,
    PreviousSettings,
    PumpSettings,
    RefillSettings,
    ReportedBolusSettings,
    ScheduleSettings,
    volume_ml,
)
from thecal.therapy.refill_assessment import RefillAssessment
from thecal.therapy.safety_gate import check
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity

if TYPE_CHECKING:
    from thecal.implant.scenario_runner import Runner

_PLAN_FIELDS = {"pump.low_reservoir_alarm": "device.low_reservoir_alarm"}


def _renamed(exc: InputError, prefix: str) -> InputError:
    """A plan-file error renamed to the scenario's field (``pump.*`` is ``device.*`` here)."""
    field = _PLAN_FIELDS.get(exc.field, exc.field)
    if field.startswith("pump."):
        field = "device." + field.removeprefix("pump.")
    return InputError(f"{prefix}{field}", exc.message, exc.expected)


@dataclass
class ClinicProgram:
    """The program the clinic believes is running: the typed plan sections it came from."""

    admixture: tuple[Ingredient, ...]
    schedule: ScheduleSettings
    patient_bolus: PatientBolusSettings | None
    threshold: pint.Quantity
    started: datetime
    resolved: ResolvedPlan
    increases: list[datetime]


def plan(run: "Runner", prefix: str, **fields: Any) -> ResolvedPlan:
    """The typed plan sections resolved as a plan; errors renamed to ``prefix``."""
    try:
        return resolve(Plan(patient=run.sc.patient.to_typed(), **fields), run.library, run.catalog)
    except InputError as exc:
        raise _renamed(exc, prefix) from exc


def pump_entry(run: "Runner", threshold: pint.Quantity) -> PumpSettings:
    """The scenario's pump entry with the alarm threshold ``threshold`` (a volume)."""
    return replace(run.pump_entry_base, low_reservoir_alarm=threshold)


def set_program(
    run: "Runner",
    index: int,
    admixture: tuple[Ingredient, ...],
    schedule: ScheduleSettings,
    bolus: PatientBolusSettings | None,
    threshold: pint.Quantity,
) -> None:
    """Check a program with the safety gate (against the running one), then send it."""
    prefix = "" if index < 0 else f"actions[{index}]."
    now = run.pump.now
    cur = run.program
    previous = None
    if cur is not None:
        previous = PreviousSettings(
            started=cur.started,
            admixture=cur.admixture,
            schedule=cur.schedule,
            patient_bolus=cur.patient_bolus,
            earlier_increases=tuple(cur.increases),
        )
    resolved = plan(
        run,
        prefix,
        at=now,
        pump=pump_entry(run, threshold),
        admixture=admixture,
        schedule=schedule,
        patient_bolus=bolus,
        previous=previous,
    )
    gate = check(resolved.program, run.library)
    findings = (*gate.findings, *resolved.rounding)
    kind = "program" if index >= 0 else "initial program"
    if gate.blocked:
        run.report(index, kind, "not sent: a hard finding refuses it", findings, sent=False)
        run.note("program not sent", "safety gate refused the program (hard finding)")
        return
    thr = parse_quantity(threshold, f"{prefix or 'device.'}low_reservoir_alarm", Dimension.VOLUME)
    program = Program(resolved.schedule, resolved.admixture, thr, resolved.program.patient_bolus)
    result = run.pump.write_program(program)
    if not result.state_changed:
        why = f"refused by the pump: {result.reason}"
        run.note(kind, why)
        run.report(index, kind, why, (*findings, *result.findings), sent=False)
        return
    increases = list(cur.increases) if cur else []
    if cur is not None and _increased(cur.resolved, resolved):
        increases.append(now)
    run.program = ClinicProgram(admixture, schedule, bolus, threshold, now, resolved, increases)
    doses = daily_dose(resolved.schedule, resolved.admixture).nominal
    text = ", ".join(f"{name} {fmt(d)}" for name, d in doses.items())
    run.note(kind, f"written: {text}")
    run.report(index, kind, f"written: {text}", findings, (("low_reservoir_alarm", thr),))


# -- actions ----------------------------------------------------------------------------


def refill(run: "Runner", index: int, volume_text: str) -> None:
    prefix = f"actions[{index}]."
    pump = run.pump
    volume = parse_quantity(volume_text, prefix + "volume", Dimension.VOLUME).to("mL")
    expected_fw = pump.peek().reservoir_estimate
    withdrawn_now = ml(pump.withdraw_residual())
    withdrawn = run.withdrawn_since_fill + withdrawn_now
    pump.fill_reservoir(volume)
    result = pump.refill(volume)
    last_ml, last_at, first = run.last_fill
    now = pump.now
    findings: tuple[Finding, ...] = ()
    assessment: RefillAssessment | None = None
    cur = run.program
    if cur is not None and last_ml > 0:
        reported = [
            ReportedBolusSettings(at=e.at, volume=e.quantity("volume").to("mL"))
            for e in pump.events()
            if e.kind is EventKind.PTB_GRANTED and e.at >= last_at
        ]
        resolved = plan(
            run,
            prefix,
            at=now,
            pump=pump_entry(run, cur.threshold),
            admixture=cur.admixture,
            schedule=cur.schedule,
            patient_bolus=cur.patient_bolus,
            fill=FillSettings(volume=volume, at=now),
            previous=PreviousSettings(
                started=cur.started,
                schedule=cur.schedule,
                patient_bolus=cur.patient_bolus,
                earlier_increases=tuple(cur.increases),
            ),
            refill=RefillSettings(
                last_fill=FillSettings(
                    volume=volume_ml(last_ml, "refill.last_fill.volume"),
                    at=last_at,
                    first_fill=first,
                ),
                withdrawn=volume_ml(withdrawn, "refill.withdrawn"),
                filled=volume,
                reported_boluses=tuple(reported),
            ),
        )
        proposal = resolved.refill_proposal
        if proposal is None:  # cannot happen: the plan has a [fill]
            raise RuntimeError("a plan with a [fill] gave no refill proposal")
        # The one refill assessment (what the gate runs): this action only reports it.
        assessment = run.assess(proposal, run.library)
        findings = assessment.findings
    values: Values = (
        ("expected_by_pump", expected_fw),
        ("withdrawn", Q_(withdrawn, "mL")),
        ("filled", volume),
    )
    if assessment is not None and assessment.expected is not None:
        values += (("expected_by_schedule", assessment.expected.volume),)
    if assessment is not None and assessment.discrepancy is not None:
        values += (("discrepancy", assessment.discrepancy.discrepancy),)
    withdrew = fmt(Q_(withdrawn_now, "mL"))
    if run.withdrawn_since_fill:
        withdrew += (
            f" (+ {fmt(Q_(run.withdrawn_since_fill, 'mL'))} emptied earlier = "
            f"{fmt(Q_(withdrawn, 'mL'))})"
        )
    summary = f"withdrew {withdrew}; the pump expected {fmt(expected_fw)}; filled {fmt(volume)}"
    if not result.state_changed:
        summary += f"; the pump refused the volume: {result.reason}"
        findings = (*findings, *result.findings)
    run.note("refill", summary, values)
    run.report(index, "refill", summary, findings, values)
    run.last_fill = (ml(volume), now, False)
    run.withdrawn_since_fill = 0.0


def _increased(old: ResolvedPlan, new: ResolvedPlan) -> bool:
    before = daily_dose(old.schedule, old.admixture).nominal
    after = daily_dose(new.schedule, new.admixture).nominal
    return any(name in before and d > before[name] * (1 + 1e-9) for name, d in after.items())
