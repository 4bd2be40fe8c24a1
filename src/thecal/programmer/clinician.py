"""Clinician programmer service: interrogate, change the program, bolus, refill, alarms, clock,
MRI checklist — over any :class:`~thecal.programmer.link_client.CommandChannel` (pure).

Every proposal goes through the therapy core's safety gate (:func:`thecal.therapy.safety_gate.
check`) before it is sent; soft findings need a reason per code
(:func:`~thecal.therapy.findings.check_overrides`), hard ones cannot be overridden; a program
change needs explicit confirmation and is written as stage → read back → compare → commit →
re-interrogate.

**Uncertain state.** If a dosing command's acknowledgement is lost, the service records it as
uncertain and refuses every new dosing command (:class:`UncertainDelivery`) until
:meth:`ClinicianProgrammer.interrogate` has re-read the implant's journal and log. The implant's
record decides whether it ran; the service never re-sends it on its own, so there is no double
dose.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind, LogEvent
from thecal.devices.pump import DeviceStatus, Program
from thecal.programmer.commands import (
    DOSING_OPS,
    Command,
    Op,
    Qty,
    Reply,
    ReplyStatus,
    canonical,
    program_digest,
    quantity_from_json,
    quantity_json,
)
from thecal.programmer.link_client import AckLost, CommandChannel
from thecal.programmer.wire_device import event_from_json, finding_from_json, status_from_json
from thecal.programmer.wire_program import program_to_json
from thecal.therapy.admixture import Admixture
from thecal.therapy.bridge_bolus import BridgeBolus, bridge_bolus
from thecal.therapy.delivery import DeliveryModel, daily_dose, hours
from thecal.therapy.findings import Finding, check_overrides
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import (
    BolusProposal,
    Patient,
    PreviousProgram,
    ProgramProposal,
    RefillProposal,
)
from thecal.therapy.pump import PumpKind, PumpSpec
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.therapy.refill_dates import RefillForecast
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt


class ProgrammerError(Exception):
    """A workflow step cannot go ahead; the message says why in words a nurse understands."""


class UncertainDelivery(ProgrammerError):
    """A dosing command's outcome is unknown: re-interrogate before any new dosing command."""


class CommandRefused(ProgrammerError):
    """The implant refused the command (``reply.code`` says why)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        super().__init__(f"{reply.op} refused: {reply.code or reply.status.value} {reply.message}")


class NotConfirmed(ProgrammerError):
    """A program change was not confirmed by the clinician."""


@dataclass(frozen=True)
class Uncertain:
    """A dosing command sent without acknowledgement; ``seq_before`` = last log seq known."""

    command: Command
    seq_before: int


@dataclass(frozen=True)
class Reconciliation:
    """What the implant's record says about a formerly uncertain command."""

    command_id: str
    op: str
    executed: bool
    state_changed: bool
    code: str
    dosing_events: tuple[LogEvent, ...]


@dataclass(frozen=True)
class InterrogationReport:
    status: DeviceStatus
    events: tuple[LogEvent, ...]  # new since the previous interrogation (all on the first)
    journal: tuple[Mapping[str, Any], ...]
    reconciled: Reconciliation | None = None


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


@dataclass(frozen=True)
class BolusOutcome:
    reply: Reply
    findings: tuple[Finding, ...]

    @property
    def delivered(self) -> bool:
        return self.reply.ok and self.reply.state_changed


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


@dataclass(frozen=True)
class ClockCheck:
    """``drift`` = device − reference (s); ``within`` = |drift| ≤ tolerance."""

    device_time: datetime
    reference: datetime
    drift: Qty
    within: bool


@dataclass(frozen=True)
class ChecklistItem:
    text: str
    done: bool
    required: bool = True


@dataclass
class _Cache:
    status: DeviceStatus | None = None
    events: list[LogEvent] = field(default_factory=list)
    journal: tuple[Mapping[str, Any], ...] = ()


def mri_ready(items: tuple[ChecklistItem, ...]) -> bool:
    """Every required checklist item is done (only then may a checklist say "ready")."""
    return all(i.done for i in items if i.required)


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


class ClinicianProgrammer:
    """The clinician programmer's workflows for one implant.

    ``pump_spec`` maps the implant's model (from interrogation) to its catalog entry.
    """

    def __init__(
        self,
        channel: CommandChannel,
        library: DrugLibrary,
        pump_spec: Callable[[str], PumpSpec],
        patient: Patient | None = None,
    ) -> None:
        self.channel = channel
        self.library = library
        self._pump_spec = pump_spec
        self.patient = patient or Patient()
        self.uncertain: Uncertain | None = None
        self._cache = _Cache()
        self._reservoir: Admixture | None = None  # what this session's refill put in

    # -- helpers --------------------------------------------------------------------------

    @property
    def status(self) -> DeviceStatus:
        if self._cache.status is None:
            self.interrogate()
        assert self._cache.status is not None
        return self._cache.status

    @property
    def events(self) -> tuple[LogEvent, ...]:
        return tuple(self._cache.events)

    @property
    def spec(self) -> PumpSpec:
        return self._pump_spec(self.status.model)

    def basal_rate_now(self) -> Qty:
        """The basal rate (mL/d) the implant's program runs at its clock (0 without a program)."""
        st = self.status
        if st.program is None:
            return Q_(0.0, "mL/d")
        rate = DeliveryModel(st.program.schedule).rate_at(hours(st.device_time))
        return Q_(rate, "mL/h").to("mL/d")

    def _send(self, op: Op, args: Mapping[str, Any] | None = None) -> Reply:
        if op in DOSING_OPS and self.uncertain is not None:
            raise UncertainDelivery(
                f"the outcome of {self.uncertain.command.op.value} "
                f"({self.uncertain.command.command_id}) is unknown: interrogate the implant "
                "before any new dosing command"
            )
        seq_before = self._cache.status.last_seq if self._cache.status else 0
        if self._cache.events:
            seq_before = max(seq_before, self._cache.events[-1].seq)
        try:
            return self.channel.call(op, args)
        except AckLost as exc:
            if op in DOSING_OPS:
                self.uncertain = Uncertain(exc.command, seq_before)
            raise

    @staticmethod
    def _require(reply: Reply) -> Reply:
        if reply.status is not ReplyStatus.OK:
            raise CommandRefused(reply)
        return reply

    # -- interrogation --------------------------------------------------------------------

    def interrogate(self) -> InterrogationReport:
        """Status, journal and every log event since the last interrogation (paged).

        Settles an uncertain command from the implant's record."""
        since = self._cache.events[-1].seq if self._cache.events else 0
        first = self._require(self.channel.call(Op.INTERROGATE, {"since_seq": since}))
        data = first.data
        serial = data.get("serial", "")
        status = status_from_json(data["status"], self.library.get)
        journal = tuple(data.get("journal", ()))
        new: list[LogEvent] = [event_from_json(e, serial) for e in data["events"]]
        more = bool(data.get("more"))
        while more:
            since = new[-1].seq if new else since
            page = self._require(
                self.channel.call(Op.INTERROGATE, {"since_seq": since, "status": False})
            ).data
            new += [event_from_json(e, serial) for e in page["events"]]
            more = bool(page.get("more"))
        self._cache.status, self._cache.journal = status, journal
        self._cache.events += new
        reconciled = self._reconcile(journal) if self.uncertain is not None else None
        return InterrogationReport(status, tuple(new), journal, reconciled)

    def _reconcile(self, journal: tuple[Mapping[str, Any], ...]) -> Reconciliation:
        u = self.uncertain
        assert u is not None
        entry = next((j for j in journal if j.get("id") == u.command.command_id), None)
        dosing = tuple(
            e
            for e in self._cache.events
            if e.seq > u.seq_before
            and e.kind in (EventKind.BOLUS_START, EventKind.PTB_GRANTED, EventKind.PROGRAM_WRITTEN)
        )
        self.uncertain = None
        if entry is None:
            # Not in the implant's journal: it never reached the device.
            return Reconciliation(
                u.command.command_id, u.command.op.value, False, False, "", dosing
            )
        return Reconciliation(
            u.command.command_id,
            u.command.op.value,
            bool(entry.get("processed")),
            bool(entry.get("state_changed")),
            str(entry.get("code", "")),
            dosing,
        )

    # -- program change -------------------------------------------------------------------

    def _previous_started(self) -> datetime:
        written = [e for e in self._cache.events if e.kind is EventKind.PROGRAM_WRITTEN]
        return written[-1].at if written else self.status.device_time

    def prepare_program(
        self,
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
        st = self.status
        current = st.program
        previous = (
            PreviousProgram(
                current.admixture,
                current.schedule,
                self._previous_started(),
                current.patient_bolus,
                earlier_increases,
            )
            if current is not None
            else None
        )
        proposal = ProgramProposal(
            pending.admixture,
            pending.schedule,
            self.spec,
            st.device_time,
            self.patient,
            pending.patient_bolus,
            previous,
            start=current is None,
            implanted_model=st.model,
            reservoir_admixture=reservoir if reservoir is not None else self._reservoir,
        )
        findings = check(proposal, self.library).findings
        return ProgramChange(current, pending, program_diff(current, pending), findings)

    def write_program(
        self, change: ProgramChange, reasons: Mapping[str, str], *, confirmed: bool
    ) -> WriteOutcome:
        """Stage, read back, compare, commit and verify ``change``.

        Raises :class:`NotConfirmed`, :class:`~thecal.therapy.findings.OverrideError` (hard
        finding, or a soft one without a reason), :class:`CommandRefused` or
        :class:`ProgrammerError` (read-back mismatch: nothing is committed)."""
        if not confirmed:
            raise NotConfirmed("the program change was not confirmed")
        check_overrides(change.findings, dict(reasons))
        if self.uncertain is not None:
            raise UncertainDelivery("interrogate the implant before writing a program")
        doc = program_to_json(change.pending)
        digest = program_digest(doc)
        staged = self._require(self._send(Op.PROGRAM_STAGE, {"program": doc}))
        back = self._require(self._send(Op.PROGRAM_READ_STAGED))
        if (
            staged.data.get("digest") != digest
            or back.data.get("digest") != digest
            or canonical(back.data.get("program")) != canonical(doc)
        ):
            raise ProgrammerError(
                "the implant's copy of the program differs from the one sent: not committed"
            )
        reply = self._send(Op.PROGRAM_COMMIT, {"digest": digest})
        if reply.status is not ReplyStatus.OK:
            raise CommandRefused(reply)
        device_findings = tuple(
            finding_from_json(f) for f in reply.data.get("result", {}).get("findings", [])
        )
        committed = reply.processed and not reply.code
        self.interrogate()
        active = self.status.program
        verified = (
            committed
            and active is not None
            and canonical(program_to_json(active)) == canonical(doc)
        )
        return WriteOutcome(committed, verified, reply, device_findings)

    # -- boluses ----------------------------------------------------------------------------

    def bolus(
        self,
        volume: Qty,
        duration: Qty,
        reasons: Mapping[str, str] | None = None,
        kind: str = "clinician",
    ) -> BolusOutcome:
        """Clinician, priming or bridge bolus (``kind``) of ``volume`` (mL) over ``duration``."""
        check_dimension(volume, "volume", Dimension.VOLUME)
        check_dimension(duration, "duration", Dimension.TIME)
        op = {
            "clinician": Op.CLINICIAN_BOLUS,
            "priming": Op.PRIMING_BOLUS,
            "bridge": Op.BRIDGE_BOLUS,
        }
        if kind not in op:
            raise InputError("kind", f"unknown bolus kind {kind!r}", "clinician, priming or bridge")
        if self.uncertain is not None:
            raise UncertainDelivery("interrogate the implant before any new dosing command")
        program = self.status.program
        if program is None:
            raise ProgrammerError("the implant has no program: its admixture is unknown")
        proposal = BolusProposal(
            program.admixture,
            volume,
            duration,
            self.spec,
            self.status.device_time,
            self.patient,
            kind,
        )
        findings = check(proposal, self.library).findings
        check_overrides(findings, dict(reasons or {}))
        reply = self._send(
            op[kind], {"volume": quantity_json(volume), "duration": quantity_json(duration)}
        )
        return BolusOutcome(self._require(reply), findings)

    # -- refill ---------------------------------------------------------------------------

    def _last_fill(self) -> Fill | None:
        fills = [e for e in self._cache.events if e.kind is EventKind.REFILL]
        if not fills:
            return None
        return Fill(fills[-1].quantity("volume"), fills[-1].at)

    def refill(
        self,
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
        self.interrogate()
        st, spec = self.status, self.spec
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
        assessment = assess_refill(self._refill_proposal(withdrawn, fill_volume,
                                                         new_admixture, planned_refill),
                                   self.library)  # fmt: skip
        findings = assessment.findings
        check_overrides(findings, dict(reasons or {}))
        reply = self._require(self._send(Op.REFILL, {"volume": quantity_json(fill_volume)}))
        if reply.code:
            raise CommandRefused(reply)
        self._reservoir = new_admixture or (program.admixture if program is not None else None)
        bridge = None
        notes: list[str] = []
        if changed and program is not None and new_admixture is not None:
            assert catheter_volume is not None  # checked above
            rate = self.basal_rate_now()
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
        self.interrogate()
        expected = assessment.expected.volume if assessment.expected else st.reservoir_estimate
        return RefillReport(
            expected, withdrawn, fill_volume, findings, reply, bridge, assessment.forecast,
            changed, tuple(notes), assessment,
        )  # fmt: skip

    def _refill_proposal(
        self,
        withdrawn: Qty,
        fill_volume: Qty,
        new_admixture: Admixture | None,
        planned_refill: datetime | None,
    ) -> RefillProposal:
        """The refill as the gate sees it: the implant's program running on with the drugs now
        in the reservoir, the last fill from the log, and the implant's own residual estimate
        (it counts every bolus it gave) with the time its empty alarm was raised, if it was."""
        st, spec = self.status, self.spec
        program = st.program
        assert program is not None  # checked by refill()
        previous = PreviousProgram(
            program.admixture, program.schedule, self._previous_started(), program.patient_bolus
        )
        running = ProgramProposal(
            new_admixture or program.admixture, program.schedule, spec, st.device_time,
            self.patient, program.patient_bolus, previous,
        )  # fmt: skip
        last = self._last_fill()
        empty_at = None
        if last is not None:
            empty_at = next(
                (
                    e.at
                    for e in self._cache.events
                    if e.kind is EventKind.ALARM_RAISED
                    and e.alarm is AlarmCondition.EMPTY_RESERVOIR
                    and e.at >= last.at
                ),
                None,
            )
        return RefillProposal(
            running, Fill(fill_volume, st.device_time), planned_refill,
            program.low_reservoir_threshold, last_fill=last, withdrawn=withdrawn,
            filled=fill_volume, device_estimate=st.reservoir_estimate.to("mL"),
            device_empty_at=empty_at,
        )  # fmt: skip

    # -- alarms, clock, MRI ---------------------------------------------------------------

    def acknowledge_alarm(self, condition: int | None = None) -> Reply:
        return self._require(self._send(Op.ACKNOWLEDGE_ALARM, {"condition": condition}))

    def alarm_test(self) -> Reply:
        return self._require(self._send(Op.ALARM_TEST))

    def read_clock(self, reference: datetime, tolerance: Qty) -> ClockCheck:
        """Device clock vs ``reference`` (the clinic's clock); drift beyond ``tolerance`` (a
        required input: no public drift bound) is reported, never corrected silently."""
        check_dimension(tolerance, "tolerance", Dimension.TIME)
        reply = self._require(self._send(Op.CLOCK_READ))
        device = datetime.fromisoformat(str(reply.data["device_time"]))
        drift = Q_((device - reference).total_seconds(), "s")
        return ClockCheck(device, reference, drift, abs(drift) <= tolerance)

    def set_clock(self, device_time: datetime) -> Reply:
        return self._require(self._send(Op.CLOCK_SET, {"device_time": device_time.isoformat()}))

    def _stopped_by_clinician(self) -> bool:
        # From the implant's own log (device protocol), not from simulator hold strings.
        marks = [
            e.kind
            for e in self._cache.events
            if e.kind in (EventKind.PUMP_STOPPED, EventKind.PUMP_RESUMED)
        ]
        return bool(marks) and marks[-1] is EventKind.PUMP_STOPPED

    def mri_before(self, emptied: bool) -> tuple[ChecklistItem, ...]:
        """Before an MRI (read-only: nothing is written to the implant).

        A valve-gated pump must be emptied (a magnet opens both valves and dumps the
        reservoir): ``emptied`` is the clinician's statement that the whole reservoir was
        withdrawn; without it the checklist is not ready (:func:`mri_ready`). A pump is never
        programmed to "stopped" as MRI preparation (Medtronic SynchroMed II MRI guidelines; TGA
        recall notice): one that is stopped by a
        clinician is flagged, not ready. Active alarms are listed: a peristaltic pump that is
        alarming when the scan starts resumes only after a post-MRI interrogation."""
        self.interrogate()
        st, spec = self.status, self.spec
        items = [ChecklistItem(f"interrogated {st.serial} ({st.model})", True)]
        if spec.kind is PumpKind.VALVE_GATED:
            items.append(
                ChecklistItem(
                    "valve-gated pump: withdraw the whole reservoir before the scan "
                    "(the magnet opens the valves)",
                    emptied,
                )
            )
        stopped = self._stopped_by_clinician()
        items.append(
            ChecklistItem(
                "pump not programmed to 'stopped' for the scan (never stop it as MRI preparation)"
                + (": it is stopped now — resume it or review why" if stopped else ""),
                not stopped,
            )
        )
        alarms = ", ".join(a.condition.name for a in st.alarms if not a.resolved)
        items.append(
            ChecklistItem(
                "no active alarm"
                + (
                    f" (active: {alarms}; a pump alarming at the scan resumes only after a "
                    "post-MRI interrogation)"
                    if alarms
                    else ""
                ),
                not alarms,
                required=False,
            )
        )
        items.append(ChecklistItem("plan a post-MRI interrogation", True))
        return tuple(items)

    def mri_after(self) -> tuple[ChecklistItem, ...]:
        """After an MRI: post-MRI resume, interrogate, confirm delivery resumed."""
        reply = self._require(self._send(Op.POST_MRI_RESUME))
        self.interrogate()
        st = self.status
        return (
            ChecklistItem("post-MRI resume sent", reply.processed),
            ChecklistItem("interrogated after the scan", True),
            ChecklistItem(
                "delivery resumed" + ("" if st.delivering else f" (holds: {', '.join(st.holds)})"),
                st.delivering,
            ),
        )


def reply_volume(reply: Reply, name: str) -> Qty | None:
    """A named quantity from a device result in ``reply`` (None when absent)."""
    values = reply.data.get("result", {}).get("values", {})
    return quantity_from_json(values[name], name) if name in values else None


__all__ = [
    "BolusOutcome",
    "ChecklistItem",
    "ClinicianProgrammer",
    "ClockCheck",
    "CommandRefused",
    "DiffRow",
    "InterrogationReport",
    "NotConfirmed",
    "ProgramChange",
    "ProgrammerError",
    "Reconciliation",
    "RefillReport",
    "Uncertain",
    "UncertainDelivery",
    "WriteOutcome",
    "admixture_changed",
    "mri_ready",
    "program_diff",
    "reply_volume",
]
