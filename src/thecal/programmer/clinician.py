"""Clinician programmer service: interrogate, change the program, bolus, refill, alarms, clock,
MRI checklist — over any :class:`~thecal.programmer.link_client.CommandChannel` (pure).

:class:`ClinicianProgrammer` is a thin facade over one workflow per module, each working on the
session's state (:mod:`.clinician_session`):

* interrogation and reconciliation — :mod:`.clinician_interrogation`;
* program write with diff — :mod:`.clinician_program`;
* boluses — :mod:`.clinician_bolus`; refill — :mod:`.clinician_refill`;
* clock — :mod:`.clinician_clock`; MRI checklists — :mod:`.clinician_mri`.

Every proposal goes through the therapy core's safety gate (:func:`thecal.therapy.safety_gate.
check`) before it is sent; soft findings need a reason per code
(:func:`~thecal.therapy.findings.check_overrides`), hard ones cannot be overridden; a program
change needs explicit confirmation and is written as stage → read back → compare → commit →
re-interrogate.

**Uncertain state.** If a dosing command's acknowledgement is lost, the service records it as a
:class:`~thecal.programmer.pending.PendingCommand` and refuses every new dosing command
(:class:`UncertainDelivery`) until :meth:`ClinicianProgrammer.interrogate` has re-read the
implant's journal and log. The implant's record decides whether it ran; the service never
re-sends it on its own, so there is no double dose.
"""

from collections.abc import Mapping
from datetime import datetime

from thecal.devices.pump import Program
from thecal.programmer import (
    clinician_bolus,
    clinician_clock,
    clinician_mri,
    clinician_program,
    clinician_refill,
)
from thecal.programmer.clinician_bolus import BolusOutcome, reply_volume
from thecal.programmer.clinician_clock import ClockCheck
from thecal.programmer.clinician_interrogation import InterrogationReport, Reconciliation
from thecal.programmer.clinician_mri import ChecklistItem, mri_ready
from thecal.programmer.clinician_program import (
    DiffRow,
    ProgramChange,
    WriteOutcome,
    program_diff,
)
from thecal.programmer.clinician_refill import RefillReport, admixture_changed
from thecal.programmer.clinician_session import (
    CommandRefused,
    NotConfirmed,
    ProgrammerError,
    Session,
    UncertainDelivery,
)
from thecal.programmer.commands import Op, Qty, Reply
from thecal.programmer.pending import PendingCommand
from thecal.therapy.admixture import Admixture


class ClinicianProgrammer(Session):
    """The clinician programmer's workflows for one implant.

    ``pump_spec`` maps the implant's model (from interrogation) to its catalog entry.
    ``uncertain`` is the pending dosing command whose acknowledgement was lost (or None).
    """

    # -- program change -------------------------------------------------------------------

    def prepare_program(
        self,
        pending: Program,
        earlier_increases: tuple[datetime, ...] = (),
        reservoir: Admixture | None = None,
    ) -> ProgramChange:
        """Side-by-side diff and the safety gate's findings for ``pending``
        (:func:`~thecal.programmer.clinician_program.prepare_program`)."""
        return clinician_program.prepare_program(self, pending, earlier_increases, reservoir)

    def write_program(
        self, change: ProgramChange, reasons: Mapping[str, str], *, confirmed: bool
    ) -> WriteOutcome:
        """Stage, read back, compare, commit and verify ``change``
        (:func:`~thecal.programmer.clinician_program.write_program`)."""
        return clinician_program.write_program(self, change, reasons, confirmed=confirmed)

    # -- boluses and refill -----------------------------------------------------------------

    def bolus(
        self,
        volume: Qty,
        duration: Qty,
        reasons: Mapping[str, str] | None = None,
        kind: str = "clinician",
    ) -> BolusOutcome:
        """Clinician, priming or bridge bolus (``kind``) of ``volume`` (mL) over ``duration``."""
        return clinician_bolus.bolus(self, volume, duration, reasons, kind)

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
        """Record a refill (:func:`~thecal.programmer.clinician_refill.refill`): ``withdrawn``
        and ``fill_volume`` in mL; a changed admixture needs ``catheter_volume`` (mL) and, if
        the catalog has none, ``internal_volume`` (mL) for the bridge bolus."""
        return clinician_refill.refill(
            self,
            withdrawn,
            fill_volume,
            reasons,
            new_admixture=new_admixture,
            catheter_volume=catheter_volume,
            planned_refill=planned_refill,
            internal_volume=internal_volume,
        )

    # -- alarms, clock, MRI ---------------------------------------------------------------

    def acknowledge_alarm(self, condition: int | None = None) -> Reply:
        return self.require(self.send(Op.ACKNOWLEDGE_ALARM, {"condition": condition}))

    def alarm_test(self) -> Reply:
        return self.require(self.send(Op.ALARM_TEST))

    def read_clock(self, reference: datetime, tolerance: Qty) -> ClockCheck:
        """Device clock vs ``reference``; drift beyond ``tolerance`` (time) is reported."""
        return clinician_clock.read_clock(self, reference, tolerance)

    def set_clock(self, device_time: datetime) -> Reply:
        return clinician_clock.set_clock(self, device_time)

    def mri_before(self, emptied: bool) -> tuple[ChecklistItem, ...]:
        """Before an MRI (read-only; :func:`~thecal.programmer.clinician_mri.mri_before`)."""
        return clinician_mri.mri_before(self, emptied)

    def mri_after(self) -> tuple[ChecklistItem, ...]:
        """After an MRI: post-MRI resume, interrogate, confirm delivery resumed."""
        return clinician_mri.mri_after(self)


__all__ = [
    "BolusOutcome",
    "ChecklistItem",
    "ClinicianProgrammer",
    "ClockCheck",
    "CommandRefused",
    "DiffRow",
    "InterrogationReport",
    "NotConfirmed",
    "PendingCommand",
    "ProgramChange",
    "ProgrammerError",
    "Reconciliation",
    "RefillReport",
    "UncertainDelivery",
    "WriteOutcome",
    "admixture_changed",
    "mri_ready",
    "program_diff",
    "reply_volume",
]
