"""What the safety gate checks: a proposed program, bolus or refill, with its context.

These are plain, resolved core objects (volumes, admixtures, schedules); the plan file and the
web forms build them, the gate judges them.
"""

from dataclasses import dataclass, field
from datetime import datetime

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.pump import PumpSpec
from thecal.therapy.reservoir import Fill, ScheduleChange, schedule_in_force
from thecal.therapy.schedule import PatientBolus, Schedule


@dataclass(frozen=True)
class Patient:
    """What the limits depend on. ``opioid_naive`` None = not recorded (treated as unknown:
    checks that need it say so)."""

    opioid_naive: bool | None = None
    spasticity_origin: str | None = None
    cancer_pain: bool | None = None

    def context(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.opioid_naive is not None:
            out["opioid_naive"] = "true" if self.opioid_naive else "false"
        if self.cancer_pain is not None:
            out["cancer_pain"] = "true" if self.cancer_pain else "false"
        if self.spasticity_origin:
            out["spasticity_origin"] = self.spasticity_origin
        return out


@dataclass(frozen=True)
class PreviousProgram:
    """The program running before this change: what it was, when it started, and when
    earlier dose increases happened (for increases-per-week limits)."""

    admixture: Admixture
    schedule: Schedule
    started: datetime
    patient_bolus: PatientBolus | None = None
    earlier_increases: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Interruption:
    """Delivery stopped (reservoir empty, pump stopped, catheter disconnected) from ``start``
    to ``end``; ``previous_daily_doses`` are what the patient was on before it."""

    start: datetime
    end: datetime
    cause: str

    @property
    def duration(self) -> pint.Quantity:
        from thecal.units import Q_

        return Q_((self.end - self.start).total_seconds() / 3600.0, "h")


@dataclass(frozen=True)
class ProgramProposal:
    """A new program (admixture + schedule + patient bolus) to start at ``at``.

    ``start``: True when this program starts therapy (new patient, new drug, first program
    after an implant) — starting-dose limits apply; False for a maintenance program or refill
    whose previous program is simply not recorded (``previous`` None) — they do not; None = not
    stated: starting-dose limits are shown as information only. A drug that a recorded
    ``previous`` program did not hold is always a start.

    Optional context, checked when given (thecal.therapy.program_context):
    ``reservoir_empty_since`` — the reservoir is expected to have run dry at that time, at or
    before ``at`` (an interruption: tolerance may be lost); ``implanted_model`` — the model of
    the pump in the patient (interrogated or registered), which ``pump`` must match;
    ``reservoir_admixture`` — what the reservoir holds now, which a program without a refill
    must match; ``catheter_volume`` — the implanted catheter's volume (mL), for the fluid still
    in the catheter when the drug changes at a refill.
    """

    admixture: Admixture
    schedule: Schedule
    pump: PumpSpec
    at: datetime
    patient: Patient = field(default_factory=Patient)
    patient_bolus: PatientBolus | None = None
    previous: PreviousProgram | None = None
    interruption: Interruption | None = None
    start: bool | None = None
    reservoir_empty_since: datetime | None = None
    implanted_model: str | None = None
    reservoir_admixture: Admixture | None = None
    catheter_volume: pint.Quantity | None = None


@dataclass(frozen=True)
class BolusProposal:
    """A one-off bolus (clinician, bridge or priming) of ``volume`` over ``duration``."""

    admixture: Admixture
    volume: pint.Quantity
    duration: pint.Quantity
    pump: PumpSpec
    at: datetime
    patient: Patient = field(default_factory=Patient)
    kind: str = "clinician"


@dataclass(frozen=True)
class RefillProposal:
    """A refill: the new fill with the program that will run from it, the date the next
    refill is planned, and — when recorded — the last fill and the volume withdrawn now, so
    the discrepancy is checked. ``reported`` are patient boluses the device logged since the
    last fill; ``since_schedule`` is the program that ran from then (default: the previous
    program, else the new one) and ``since_changes`` the reprogrammings after it, in time order
    (a titration between refills).

    ``device_estimate``: the residual the implant itself estimates (mL), when a programmer reads
    it at the refill; it is then the expected volume (the implant counts every bolus it gave,
    which a schedule integral cannot know), and ``device_empty_at`` is when the implant raised
    its empty-reservoir alarm since the last fill (None: it did not)."""

    program: ProgramProposal
    fill: Fill
    planned_refill: datetime | None = None
    alarm_threshold: pint.Quantity | None = None
    reported: tuple[ReportedBolus, ...] = ()
    last_fill: Fill | None = None
    withdrawn: pint.Quantity | None = None
    filled: pint.Quantity | None = None
    confirmed_after_fill: pint.Quantity | None = None
    since_schedule: Schedule | None = None
    since_changes: tuple[ScheduleChange, ...] = ()
    device_estimate: pint.Quantity | None = None
    device_empty_at: datetime | None = None

    @property
    def schedule_since_last_fill(self) -> Schedule:
        """The schedule running at the last fill."""
        if self.since_schedule is not None:
            return self.since_schedule
        if self.program.previous is not None:
            return self.program.previous.schedule
        return self.program.schedule

    def schedule_before_refill(self, at: datetime) -> Schedule:
        """The schedule that was running at ``at``, between the last fill and this refill."""
        return schedule_in_force(self.schedule_since_last_fill, self.since_changes, at)


Proposal = ProgramProposal | BolusProposal | RefillProposal
