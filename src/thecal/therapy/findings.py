"""Safety findings: level, stable code, a message a nurse understands, the limit, and its source."""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pint

from thecal.units import ucum_json


class Level(StrEnum):
    """hard = refused, cannot be overridden; soft = needs a recorded reason; info = shown."""

    HARD = "hard"
    SOFT = "soft"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"hard": 0, "soft": 1, "info": 2}[self.value]


class Code(StrEnum):
    """Stable finding codes. Never renumber or reuse: records and overrides refer to them."""

    CONCENTRATION_ABOVE_LIMIT = "CONC-MAX"
    DAILY_DOSE_ABOVE_LIMIT = "DOSE-DAILY-MAX"
    WORST_CASE_DAILY_DOSE_ABOVE_LIMIT = "DOSE-WORST-CASE-MAX"
    START_DOSE_ABOVE_LIMIT = "DOSE-START-MAX"
    TITRATION_STEP_ABOVE_LIMIT = "TITR-STEP-MAX"
    TITRATION_PERCENT_ABOVE_LIMIT = "TITR-PERCENT-MAX"
    TITRATION_TOO_SOON = "TITR-INTERVAL-MIN"
    TITRATION_TOO_FREQUENT = "TITR-PER-WEEK-MAX"
    BOLUS_DOSE_ABOVE_LIMIT = "BOLUS-DOSE-MAX"
    BOLUSES_PER_DAY_ABOVE_LIMIT = "BOLUS-PER-DAY-MAX"
    OPIOID_BOLUS_OPIOID_NAIVE = "PTB-OPIOID-NAIVE"
    NOT_LABELLED_FOR_PUMP = "LABEL-NOT-COVERED"
    RATE_BELOW_PUMP_MINIMUM = "RATE-BELOW-MIN"
    RATE_ABOVE_PUMP_MAXIMUM = "RATE-ABOVE-MAX"
    RATE_ROUNDED_DOWN = "RATE-ROUNDED"
    REFILL_INTERVAL_BEYOND_STABILITY = "REFILL-STABILITY"
    FILL_EXCEEDS_RESERVOIR = "FILL-OVER-CAPACITY"
    FILL_EMPTY = "FILL-EMPTY"
    DISCREPANCY_OUTSIDE_ACCURACY = "REFILL-ACCURACY-BAND"
    ACCURACY_NOT_ASSESSED = "REFILL-ACCURACY-NOT-ASSESSED"
    DISCREPANCY_ABOVE_THRESHOLD = "REFILL-DISCREPANCY"
    POSSIBLE_POCKET_FILL = "REFILL-POCKET-FILL"
    RESTART_AFTER_INTERRUPTION = "RESTART-TOLERANCE"
    RESERVOIR_RUNS_OUT_BEFORE_REFILL = "RESERVOIR-EMPTY-BEFORE-REFILL"
    REFILL_DATE_REVISED = "REFILL-DATE-REVISED"
    FIRST_FILL_RINSE = "FIRST-FILL-RINSE"
    PRIMING_MIXING = "PRIMING-MIXING"
    OBSERVE_AFTER_INCREASE = "OBSERVE-AFTER-INCREASE"
    WITHDRAWAL_RISK = "WITHDRAWAL-RISK"
    FLEX_TOO_MANY_STEPS = "FLEX-STEPS-MAX"
    OPIOID_STATUS_UNKNOWN = "PTB-OPIOID-STATUS-UNKNOWN"
    REFILL_INTERVAL_ABOVE_INSTITUTION_MAX = "REFILL-INTERVAL-MAX"
    BRIDGE_BOLUS = "BRIDGE-BOLUS"
    BRIDGE_NOT_NEEDED = "BRIDGE-NOT-NEEDED"
    PRIMING_VOLUME = "PRIMING-VOLUME"
    FIRMWARE_ALARM_THRESHOLD = "FW-ALARM-THRESHOLD"
    FIRMWARE_DRUG_UNKNOWN = "FW-DRUG-UNKNOWN"
    FIRMWARE_MODE_UNSUPPORTED = "FW-MODE"
    FIRMWARE_ROLLING_24H_ABOVE_LIMIT = "FW-ROLLING-24H"
    FIRMWARE_PATIENT_BOLUS_INVALID = "FW-PTB-INVALID"
    PREVIOUS_PROGRAM_UNKNOWN = "PREVIOUS-UNKNOWN"
    PUMP_MODEL_MISMATCH = "PROGRAM-PUMP-MODEL"
    RESERVOIR_ADMIXTURE_MISMATCH = "PROGRAM-RESERVOIR-ADMIXTURE"
    DRUG_CHANGE_CLEARING = "BRIDGE-DRUG-CHANGE"
    CONCENTRATION_ENTRY_ERROR = "CONC-ENTRY-CEILING"
    DAILY_DOSE_ENTRY_ERROR = "DOSE-ENTRY-CEILING"
    DOSE_LOOKS_LIKE_SLIP = "SLIP-DOSE"
    CONCENTRATION_LOOKS_LIKE_SLIP = "SLIP-CONCENTRATION"
    RATE_LOOKS_LIKE_SLIP = "SLIP-RATE"
    NO_DOSE_LIMITS = "NO-DOSE-LIMITS"
    RATE_RANGE_UNKNOWN = "RATE-RANGE-UNKNOWN"
    WITHDRAWN_EXCEEDS_RESERVOIR = "REFILL-WITHDRAWN-OVER-CAPACITY"
    ALARM_THRESHOLD_AT_OR_ABOVE_CAPACITY = "ALARM-THRESHOLD-OVER-CAPACITY"
    ALARM_THRESHOLD_NOT_POSITIVE = "ALARM-THRESHOLD-NOT-POSITIVE"
    # Spinal cord stimulation (thecal.stimulation).
    STIM_SHANNON_K_ABOVE_LIMIT = "STIM-K-MAX"
    STIM_PATIENT_SHANNON_K_ABOVE_LIMIT = "STIM-PATIENT-K-MAX"
    STIM_CHARGE_DENSITY_WARNING = "STIM-DENSITY-WARN"
    STIM_PATIENT_CHARGE_DENSITY_WARNING = "STIM-PATIENT-DENSITY-WARN"
    STIM_AMPLITUDE_OUT_OF_RANGE = "STIM-AMPLITUDE-RANGE"
    STIM_PULSE_WIDTH_OUT_OF_RANGE = "STIM-PULSE-WIDTH-RANGE"
    STIM_RATE_OUT_OF_RANGE = "STIM-RATE-RANGE"
    STIM_PULSE_LONGER_THAN_PERIOD = "STIM-PULSE-TOO-LONG"
    STIM_BURST_LONGER_THAN_PERIOD = "STIM-BURST-TOO-LONG"
    STIM_VOLTAGE_COMPLIANCE = "STIM-COMPLIANCE"
    STIM_INPUT_MISSING = "STIM-INPUT-MISSING"
    # Stimulators in the clinic (thecal.clinic.impedance_trend, thecal.clinic.stimulator_battery).
    STIM_IMPEDANCE_RISING = "STIM-IMPEDANCE-RISING"
    STIM_IMPEDANCE_DROP = "STIM-IMPEDANCE-DROP"
    STIM_IMPEDANCE_SHORT = "STIM-IMPEDANCE-SHORT"
    STIM_IMPEDANCE_OPEN = "STIM-IMPEDANCE-OPEN"
    STIM_REPLACEMENT_PROJECTED = "STIM-REPLACEMENT"
    # An interrogation compared with the clinic's record (thecal.clinic.reconciliation).
    RECON_CLOCK_DRIFT = "RECON-CLOCK-DRIFT"
    RECON_RESERVOIR = "RECON-RESERVOIR"
    RECON_PROGRAM_NOT_IN_RECORD = "RECON-PROGRAM-UNKNOWN"
    RECON_PROGRAM_PREVIOUS = "RECON-PROGRAM-PREVIOUS"
    RECON_NO_PROGRAM = "RECON-NO-PROGRAM"
    RECON_PUMP_MODEL = "RECON-PUMP-MODEL"
    IMPLANT_ALARM = "IMPLANT-ALARM"


class Overrider(StrEnum):
    """Who may give the reason a soft finding needs. ``physician``: only a physician (loss of
    opioid tolerance, opioid dose limits — :mod:`thecal.therapy.overrides` decides which);
    ``clinician``: any clinician allowed to write (a nurse or a physician)."""

    PHYSICIAN = "physician"
    CLINICIAN = "clinician"


@dataclass(frozen=True)
class Finding:
    """One reason a proposal is refused, needs a reason, or is worth knowing. ``override_by``
    says who may give the reason when the finding is soft."""

    level: Level
    code: Code
    message: str
    source: str
    drug: str | None = None
    limit: pint.Quantity | None = None
    value: pint.Quantity | None = None
    override_by: Overrider = Overrider.CLINICIAN

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level.value,
            "code": self.code.value,
            "message": self.message,
            "source": self.source,
        }
        if self.drug:
            out["drug"] = self.drug
        if self.limit is not None:
            out["limit"] = ucum_json(self.limit)
        if self.value is not None:
            out["value"] = ucum_json(self.value)
        if self.level is Level.SOFT:
            out["override_by"] = self.override_by.value
        return out


def ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Hard first, then soft, then info; stable within a level (the order the checks ran)."""
    return tuple(sorted(findings, key=lambda f: f.level.rank))


def deduplicated(findings: Iterable[Finding]) -> list[Finding]:
    """``findings`` without repeats (same code, message, drug and source), first kept."""
    seen: set[tuple[str, str, str | None, str]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.code.value, f.message, f.drug, f.source)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def blocks(findings: Sequence[Finding]) -> bool:
    """True when any finding is hard: the proposal is refused."""
    return any(f.level is Level.HARD for f in findings)


def needs_reason(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Soft findings: each needs a recorded override reason before the proposal may go ahead."""
    return tuple(f for f in findings if f.level is Level.SOFT)


class Verdict:
    """What every decision record says from its ``findings``: whether it is refused
    (``blocked``) and which soft findings need a recorded reason (``needs_reason``)."""

    findings: tuple[Finding, ...]

    @property
    def blocked(self) -> bool:
        """A hard finding: refused, and it cannot be overridden."""
        return blocks(self.findings)

    @property
    def needs_reason(self) -> tuple[Finding, ...]:
        """Soft findings: each needs a recorded reason before going ahead."""
        return needs_reason(self.findings)


class OverrideError(ValueError):
    """An attempt to go ahead without the reasons soft findings require, or past a hard stop."""


class OverrideNotAllowed(OverrideError):
    """A soft finding whose reason only a physician may give, from someone who may not."""


def check_overrides(
    findings: Sequence[Finding],
    reasons: dict[str, str],
    may_give: Collection[Overrider] = frozenset(Overrider),
) -> None:
    """Raise :class:`OverrideError` unless no hard finding exists and every soft finding's code
    has a non-blank reason in ``reasons``. Hard stops cannot be overridden.

    ``may_give``: whose reasons the person going ahead may give (a nurse: clinician only). A
    soft finding that needs someone else raises :class:`OverrideNotAllowed` — with or without
    a reason in ``reasons``, since that person cannot go ahead either way."""
    hard = [f for f in findings if f.level is Level.HARD]
    if hard:
        raise OverrideError(
            "refused: hard limit cannot be overridden: " + "; ".join(f.code for f in hard)
        )
    barred = [f for f in needs_reason(findings) if f.override_by not in may_give]
    if barred:
        raise OverrideNotAllowed(
            "; ".join(
                f"a {who} must give the reason for "
                + ", ".join(sorted({f.code.value for f in barred if f.override_by is who}))
                for who in Overrider
                if any(f.override_by is who for f in barred)
            )
        )
    missing = sorted(
        {f.code.value for f in needs_reason(findings) if not reasons.get(f.code.value, "").strip()}
    )
    if missing:
        raise OverrideError("a reason is required for: " + ", ".join(missing))
