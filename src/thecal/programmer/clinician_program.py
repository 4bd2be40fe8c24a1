"""Program write: side-by-side diff, safety gate, stage → read back → compare → commit (pure).

:func:`prepare_program` shows the current and pending programs side by side and runs the therapy
core's safety gate (hard findings block; each soft one needs a reason). :func:`write_program`
stages the program, reads the implant's copy back, compares it byte for byte with what was sent
(any difference: nothing is committed), commits it by digest and re-interrogates to verify the
active program is the one sent.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from thecal.devices.pump import Program
from thecal.programmer.clinician_session import (
    CommandRefused,
    NotConfirmed,
    ProgrammerError,
    Session,
    UncertainDelivery,
)
from thecal.programmer.commands import Op, Qty, Reply, ReplyStatus, canonical, program_digest
from thecal.programmer.wire_device import finding_from_json
from thecal.programmer.wire_program import program_to_json
from thecal.therapy.admixture import Admixture
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Finding, check_overrides
from thecal.therapy.proposal import PreviousProgram, ProgramProposal
from thecal.therapy.safety_gate import check
from thecal.units import fmt


@dataclass(frozen=True)
class DiffRow:
    """One line of the side-by-side program view."""

    item: str
    current: str
    pending: str

    @property
    def changed(self) -> bool:
        return self.current != self.pending


@dataclass(frozen=True)
class ProgramChange:
    current: Program | None
    pending: Program
    rows: tuple[DiffRow, ...]
    findings: tuple[Finding, ...]

    @property
    def blocked(self) -> bool:
        return any(f.level.value == "hard" for f in self.findings)

    @property
    def needs_reason(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level.value == "soft")


@dataclass(frozen=True)
class WriteOutcome:
    committed: bool
    verified: bool
    reply: Reply
    device_findings: tuple[Finding, ...] = ()


def _txt(q: Qty | None) -> str:
    return "—" if q is None else fmt(q)


def program_diff(current: Program | None, pending: Program) -> tuple[DiffRow, ...]:
    """Current and pending programs side by side, row by row (drug, rates, doses, boluses)."""
    rows: list[DiffRow] = []

    def conc(p: Program | None) -> dict[str, str]:
        return (
            {}
            if p is None
            else {i.drug.name: fmt(i.concentration) for i in p.admixture.ingredients}
        )

    c, n = conc(current), conc(pending)
    for drug in list(dict.fromkeys([*c, *n])):
        rows.append(DiffRow(f"{drug} concentration", c.get(drug, "—"), n.get(drug, "—")))

    def basal(p: Program | None) -> list[str]:
        if p is None:
            return []
        b = p.schedule.basal
        if b.is_continuous:
            return [f"continuous {fmt(b.days[0].steps[0].rate.to('mL/d'))}"]
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        return [
            f"{names[i]}: "
            + ", ".join(f"{s.start:%H:%M} {fmt(s.rate.to('mL/d'))}" for s in d.steps)
            for i, d in enumerate(b.days)
        ]

    bc, bn = basal(current), basal(pending)
    for i in range(max(len(bc), len(bn))):
        rows.append(DiffRow("basal", bc[i] if i < len(bc) else "—", bn[i] if i < len(bn) else "—"))

    def doses(p: Program | None) -> dict[str, str]:
        if p is None:
            return {}
        d = daily_dose(p.schedule, p.admixture, p.patient_bolus)
        return {k: fmt(v) for k, v in d.nominal.items()}

    dc, dn = doses(current), doses(pending)
    for drug in list(dict.fromkeys([*dc, *dn])):
        rows.append(DiffRow(f"{drug} daily dose", dc.get(drug, "—"), dn.get(drug, "—")))

    def boluses(p: Program | None) -> tuple[str, str]:
        if p is None:
            return "—", "—"
        per = "; ".join(
            f"{fmt(b.volume)} every {fmt(b.every)} over {fmt(b.duration)}"
            for b in p.schedule.periodic
        )
        ptb = p.patient_bolus
        pt = (
            "none"
            if ptb is None
            else f"{fmt(ptb.volume)}, lockout {fmt(ptb.lockout)}, max {ptb.max_per_day}/d"
        )
        return per or "none", pt

    (pc, tc), (pn, tn) = boluses(current), boluses(pending)
    rows.append(DiffRow("periodic boluses", pc, pn))
    rows.append(DiffRow("patient bolus", tc, tn))
    rows.append(
        DiffRow(
            "low-reservoir alarm",
            _txt(current.low_reservoir_threshold if current else None),
            _txt(pending.low_reservoir_threshold),
        )
    )
    return tuple(rows)


def prepare_program(
    s: Session,
    pending: Program,
    earlier_increases: tuple[datetime, ...] = (),
    reservoir: Admixture | None = None,
) -> ProgramChange:
    """Side-by-side diff and the safety gate's findings for ``pending``.

    The gate also checks ``pending`` against the interrogated pump model and what the
    reservoir holds: ``reservoir`` as stated, else what this session's refill put in (not
    known otherwise: the implant's program names the admixture it was written for, which
    a refill with a new concentration does not change). A program without a previous one
    on the implant is a start."""
    st = s.status
    current = st.program
    previous = (
        PreviousProgram(
            current.admixture,
            current.schedule,
            s.previous_started(),
            current.patient_bolus,
            earlier_increases,
        )
        if current is not None
        else None
    )
    proposal = ProgramProposal(
        pending.admixture,
        pending.schedule,
        s.spec,
        st.device_time,
        s.patient,
        pending.patient_bolus,
        previous,
        start=current is None,
        implanted_model=st.model,
        reservoir_admixture=reservoir if reservoir is not None else s.reservoir,
    )
    findings = check(proposal, s.library).findings
    return ProgramChange(current, pending, program_diff(current, pending), findings)


def write_program(
    s: Session, change: ProgramChange, reasons: Mapping[str, str], *, confirmed: bool
) -> WriteOutcome:
    """Stage, read back, compare, commit and verify ``change``.

    Raises :class:`NotConfirmed`, :class:`~thecal.therapy.findings.OverrideError` (hard
    finding, or a soft one without a reason), :class:`CommandRefused` or
    :class:`ProgrammerError` (read-back mismatch: nothing is committed)."""
    if not confirmed:
        raise NotConfirmed("the program change was not confirmed")
    check_overrides(change.findings, dict(reasons))
    if s.uncertain is not None:
        raise UncertainDelivery("interrogate the implant before writing a program")
    doc = program_to_json(change.pending)
    digest = program_digest(doc)
    staged = s.require(s.send(Op.PROGRAM_STAGE, {"program": doc}))
    back = s.require(s.send(Op.PROGRAM_READ_STAGED))
    if (
        staged.data.get("digest") != digest
        or back.data.get("digest") != digest
        or canonical(back.data.get("program")) != canonical(doc)
    ):
        raise ProgrammerError(
            "the implant's copy of the program differs from the one sent: not committed"
        )
    reply = s.send(Op.PROGRAM_COMMIT, {"digest": digest})
    if reply.status is not ReplyStatus.OK:
        raise CommandRefused(reply)
    device_findings = tuple(
        finding_from_json(f) for f in reply.data.get("result", {}).get("findings", [])
    )
    committed = reply.processed and not reply.code
    s.interrogate()
    active = s.status.program
    verified = (
        committed and active is not None and canonical(program_to_json(active)) == canonical(doc)
    )
    return WriteOutcome(committed, verified, reply, device_findings)


__all__ = [
    "DiffRow",
    "ProgramChange",
    "WriteOutcome",
    "prepare_program",
    "program_diff",
    "write_program",
]
