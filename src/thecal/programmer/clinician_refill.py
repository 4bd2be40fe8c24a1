"""Refill: assessment, recording the fill, bridge bolus when the admixture changed (pure).

The one refill assessment of the therapy core decides (discrepancy against the implant's own
estimate, fill, withdrawn and alarm checks, next refill date); required inputs for a bridge
bolus are checked before anything is recorded, so a missing one leaves no half workflow.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.programmer.clinician_session import (
    CommandRefused,
    ProgrammerError,
    Session,
)
from thecal.programmer.commands import Op, Qty, Reply, quantity_json
from thecal.therapy.admixture import Admixture
from thecal.therapy.bridge_bolus import BridgeBolus, bridge_bolus
from thecal.therapy.findings import Finding, check_overrides
from thecal.therapy.proposal import PreviousProgram, ProgramProposal, RefillProposal
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.therapy.refill_dates import RefillForecast
from thecal.therapy.reservoir import Fill
from thecal.units import Dimension, InputError, check_dimension


@dataclass(frozen=True)
class RefillReport:
    """``bridge``: computed when the new admixture differs from the old one (delivered only by
    :meth:`ClinicianProgrammer.bolus`); ``notes``: what the clinician must still do."""

    expected_before: Qty
    withdrawn: Qty
    filled: Qty
    findings: tuple[Finding, ...]
    reply: Reply
    bridge: BridgeBolus | None = None
    forecast: RefillForecast | None = None
    admixture_changed: bool = False
    notes: tuple[str, ...] = ()
    assessment: RefillAssessment | None = None


def admixture_changed(old: Admixture, new: Admixture) -> bool:
    """Whether the drugs or any concentration differ (then a bridge bolus is needed)."""
    a = {i.drug.name: i.concentration for i in old.ingredients}
    b = {i.drug.name: i.concentration for i in new.ingredients}
    if set(a) != set(b):
        return True
    for name, conc in a.items():
        other = b[name].to(conc.units).magnitude
        # Relative tolerance: the same concentration typed in another unit is not a change.
        if abs(other - conc.magnitude) > 1e-9 * max(abs(conc.magnitude), abs(other)):
            return True
    return False


def _last_fill(s: Session) -> Fill | None:
    fills = [e for e in s.cache.events if e.kind is EventKind.REFILL]
    if not fills:
        return None
    return Fill(fills[-1].quantity("volume"), fills[-1].at)


def refill(
    s: Session,
    withdrawn: Qty,
    fill_volume: Qty,
    reasons: Mapping[str, str] | None = None,
    *,
    new_admixture: Admixture | None = None,
    catheter_volume: Qty | None = None,
    planned_refill: datetime | None = None,
    internal_volume: Qty | None = None,
) -> RefillReport:
    """Record a refill: the one refill assessment (:func:`~thecal.therapy.
    refill_assessment.assess_refill`, as the gate runs it: the program that runs from the
    new fill, ran-empty restart, fill, withdrawn and alarm checks, discrepancy against the
    implant's own estimate, next refill date) → a hard finding refuses, each soft one needs
    a reason in ``reasons`` (:class:`~thecal.therapy.findings.OverrideError`) → record the
    fill → bridge bolus if the admixture changed (computed, delivered only by :meth:`bolus`).

    ``withdrawn``, ``fill_volume`` (mL). ``new_admixture``: the drugs and concentrations
    now in the reservoir (None: unchanged). When they differ from the implant's program,
    the bridge bolus needs ``catheter_volume`` (mL) and the pump's ``internal_volume`` (mL;
    else the catalog's): neither is public, so both are required inputs then and are
    checked *before* anything is recorded. The bridge is computed at the basal rate running
    at the implant's clock."""
    check_dimension(withdrawn, "withdrawn", Dimension.VOLUME)
    check_dimension(fill_volume, "fill_volume", Dimension.VOLUME)
    s.interrogate()
    st, spec = s.status, s.spec
    program = st.program
    changed = (
        new_admixture is not None
        and program is not None
        and admixture_changed(program.admixture, new_admixture)
    )
    if changed:
        # Fail before the refill is recorded: a missing input must not leave half a workflow.
        if catheter_volume is None:
            raise InputError(
                "catheter_volume",
                "is needed for the bridge bolus (the concentration changed)",
                "the implanted catheter volume, e.g. '0.2 mL'",
            )
        if internal_volume is None and spec.internal_volume is None:
            raise InputError(
                "internal_volume",
                f"is needed for the bridge bolus: the internal volume of {spec.model} "
                "is not public",
                "the pump tubing volume from the labelling, e.g. '0.25 mL'",
            )
    if program is None:
        raise ProgrammerError(
            "the implant has no program: a refill is checked against the program that runs "
            "from it; write a program first"
        )
    assessment = assess_refill(
        _refill_proposal(s, withdrawn, fill_volume, new_admixture, planned_refill), s.library
    )
    findings = assessment.findings
    check_overrides(findings, dict(reasons or {}))
    reply = s.require(s.send(Op.REFILL, {"volume": quantity_json(fill_volume)}))
    if reply.code:
        raise CommandRefused(reply)
    s.reservoir = new_admixture or (program.admixture if program is not None else None)
    bridge = None
    notes: list[str] = []
    if changed and program is not None and new_admixture is not None:
        assert catheter_volume is not None  # checked above
        rate = s.basal_rate_now()
        if rate.magnitude <= 0:
            notes.append("Bridge bolus not computed: the basal rate running now is 0.")
        else:
            bridge = bridge_bolus(
                program.admixture,
                new_admixture,
                rate,
                spec,
                catheter_volume,
                internal_volume,
            )
        notes.append(
            "The implant's program still names the old admixture: write a program with the "
            "new concentration (thecal programmer program) so its dose and limits are right."
        )
    s.interrogate()
    expected = assessment.expected.volume if assessment.expected else st.reservoir_estimate
    return RefillReport(
        expected,
        withdrawn,
        fill_volume,
        findings,
        reply,
        bridge,
        assessment.forecast,
        changed,
        tuple(notes),
        assessment,
    )


def _refill_proposal(
    s: Session,
    withdrawn: Qty,
    fill_volume: Qty,
    new_admixture: Admixture | None,
    planned_refill: datetime | None,
) -> RefillProposal:
    """The refill as the gate sees it: the implant's program running on with the drugs now
    in the reservoir, the last fill from the log, and the implant's own residual estimate
    (it counts every bolus it gave) with the time its empty alarm was raised, if it was."""
    st, spec = s.status, s.spec
    program = st.program
    assert program is not None  # checked by refill()
    previous = PreviousProgram(
        program.admixture, program.schedule, s.previous_started(), program.patient_bolus
    )
    running = ProgramProposal(
        new_admixture or program.admixture,
        program.schedule,
        spec,
        st.device_time,
        s.patient,
        program.patient_bolus,
        previous,
    )
    last = _last_fill(s)
    empty_at = None
    if last is not None:
        empty_at = next(
            (
                e.at
                for e in s.cache.events
                if e.kind is EventKind.ALARM_RAISED
                and e.alarm is AlarmCondition.EMPTY_RESERVOIR
                and e.at >= last.at
            ),
            None,
        )
    return RefillProposal(
        running,
        Fill(fill_volume, st.device_time),
        planned_refill,
        program.low_reservoir_threshold,
        last_fill=last,
        withdrawn=withdrawn,
        filled=fill_volume,
        device_estimate=st.reservoir_estimate.to("mL"),
        device_empty_at=empty_at,
    )


__all__ = ["RefillReport", "admixture_changed", "refill"]
