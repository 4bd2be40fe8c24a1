"""Refill checks: compare the volume withdrawn with the volume expected, then the volume injected
with the volume confirmed in the reservoir (ASRA 2017 poster; Maino 2017 for pocket fill).

Sign conventions (all volumes in mL):

- ``discrepancy = withdrawn - expected_remaining``: positive means more was left than expected
  (the pump delivered less: under-delivery), negative means less was left (over-delivery).
- ``actual_delivered = delivered_expected + expected_remaining - withdrawn``.
- ``delivery_error = (actual_delivered - delivered_expected) / delivered_expected``: positive is
  over-delivery, compared with the pump's labelled accuracy band. It is a percentage of the
  delivered volume, so it is computed only when at least the library's
  ``accuracy_min_delivered`` was expected to be delivered (that volume itself included): a refill
  minutes after the first fill would otherwise report a meaningless "+608520.8 %". Below it
  the refill reports the volumes (info) and the absolute discrepancy threshold still applies.

Levels:

- Accuracy band and discrepancy threshold: **soft**. A discrepancy has harmless causes
  (aspiration technique, a bolus not in the log) and dangerous ones (over-infusion, a catheter
  occlusion or pump stall leading to withdrawal); the clinician must look and record a reason,
  but the software cannot tell which it is, so it does not refuse.
- Pocket fill after refilling: **hard**. Drug missing from the reservoir just after filling may
  be in the subcutaneous pocket, where a whole reservoir's dose can be absorbed at once (pocket
  fill caused 11 of 14 deaths by 2013, FDA 2011 Class I labelling change). The refill must not be
  recorded as complete on these numbers: the reservoir is emptied and measured, the patient
  observed, and the check run again with the re-measured volume.
"""

from dataclasses import dataclass

import pint

from thecal.therapy.compare import above, above_count, below
from thecal.therapy.findings import Code, Finding, Level, ordered
from thecal.therapy.library import Settings
from thecal.therapy.pump import PumpSpec
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt

# Band and threshold comparisons go through thecal.therapy.compare: a result exactly on an edge
# (14.5 %, 2 mL) is not flagged, whatever the binary rounding.


@dataclass(frozen=True)
class RefillCheck:
    """The numbers behind the refill findings (mL unless stated).

    ``delivery_error`` is a fraction (0.2 = 20 % over-delivery; negative = under-delivery), None
    when nothing was expected to be delivered. ``unaccounted_after_fill`` = filled − confirmed,
    None unless both were entered."""

    discrepancy: pint.Quantity
    actual_delivered: pint.Quantity
    delivery_error: float | None
    unaccounted_after_fill: pint.Quantity | None
    findings: tuple[Finding, ...]

    @property
    def delivery_error_percent(self) -> float | None:
        return None if self.delivery_error is None else self.delivery_error * 100.0


def _volume(q: pint.Quantity, field: str) -> pint.Quantity:
    check_dimension(q, field, Dimension.VOLUME)
    if q.magnitude < 0:
        raise InputError(field, "must not be negative", "a volume >= 0 mL")
    return q.to("mL")


def assess_refill(
    expected_remaining: pint.Quantity,
    withdrawn: pint.Quantity,
    delivered_expected: pint.Quantity,
    pump: PumpSpec,
    settings: Settings,
    filled: pint.Quantity | None = None,
    confirmed_after_fill: pint.Quantity | None = None,
    pocket_fill_threshold: pint.Quantity | None = None,
) -> RefillCheck:
    """Run the refill checks and return the numbers with the findings (hard first).

    ``expected_remaining``: residual the programmer expects (mL); ``withdrawn``: volume the nurse
    withdrew from the reservoir (mL); ``delivered_expected``: volume the schedule should have
    delivered since the last fill (mL). ``filled``: volume injected into the emptied reservoir;
    ``confirmed_after_fill``: volume confirmed in the reservoir afterwards (both mL).
    ``pocket_fill_threshold`` (mL) is needed only when the catalog has none for this pump.

    Raises :class:`InputError` for negative or non-volume inputs, and when a threshold the check
    needs is neither in the data nor entered."""
    expected = _volume(expected_remaining, "refill.expected_remaining")
    out = _volume(withdrawn, "refill.withdrawn")
    planned = _volume(delivered_expected, "refill.delivered_expected")
    discrepancy = out - expected
    actual = planned - discrepancy
    findings: list[Finding] = []

    error: float | None = None
    minimum = settings.accuracy_min_delivered
    if minimum is not None and below(planned, minimum):
        findings.extend(_too_little_delivered(expected, out, planned, pump, settings))
    elif planned.magnitude > 0:
        error = float((actual - planned).magnitude / planned.magnitude)
        findings.extend(_accuracy_findings(error, expected, out, actual, planned, pump))

    findings.extend(_threshold_findings(discrepancy, expected, out, settings))

    unaccounted: pint.Quantity | None = None
    if filled is not None and confirmed_after_fill is not None:
        injected = _volume(filled, "refill.filled")
        confirmed = _volume(confirmed_after_fill, "refill.confirmed_after_fill")
        unaccounted = injected - confirmed
        threshold = pump.require(
            "pocket_fill_threshold", pocket_fill_threshold, "refill.pocket_fill_threshold"
        ).to("mL")
        if above(unaccounted, threshold):
            findings.append(Finding(
                Level.HARD, Code.POSSIBLE_POCKET_FILL,
                f"Possible pocket fill: {fmt(injected)} was injected but only {fmt(confirmed)} "
                f"is confirmed in the reservoir; {fmt(unaccounted)} is unaccounted for "
                f"(more than {fmt(threshold)} for {pump.model}). Drug in the pocket can be "
                "absorbed as an overdose. Stop: do not record this refill as complete. Empty and "
                "measure the reservoir, check the needle position (template, aspiration), "
                "observe the patient for overdose signs (respiratory depression with opioids) "
                "and treat; then refill and run this check again.",
                pump.source("pocket_fill_threshold") or "entered by the clinician",
                limit=threshold, value=unaccounted,
            ))  # fmt: skip
    return RefillCheck(discrepancy, actual, error, unaccounted, ordered(findings))


def check_refill(
    expected_remaining: pint.Quantity,
    withdrawn: pint.Quantity,
    delivered_expected: pint.Quantity,
    pump: PumpSpec,
    settings: Settings,
    filled: pint.Quantity | None = None,
    confirmed_after_fill: pint.Quantity | None = None,
    pocket_fill_threshold: pint.Quantity | None = None,
) -> tuple[Finding, ...]:
    """The findings of :func:`assess_refill` (same arguments, volumes in mL), hard first."""
    return assess_refill(
        expected_remaining, withdrawn, delivered_expected, pump, settings,
        filled, confirmed_after_fill, pocket_fill_threshold,
    ).findings  # fmt: skip


def _accuracy_findings(
    error: float, expected: pint.Quantity, out: pint.Quantity, actual: pint.Quantity,
    planned: pint.Quantity, pump: PumpSpec,
) -> list[Finding]:  # fmt: skip
    """Only the bands the catalog provides (SynchroMed: over-infusion only)."""
    found: list[Finding] = []
    pct = error * 100.0
    if pump.accuracy_over is not None and above_count(error, pump.accuracy_over):
        found.append(Finding(
            Level.SOFT, Code.DISCREPANCY_OUTSIDE_ACCURACY,
            f"Residual lower than expected: {fmt(out)} withdrawn, {fmt(expected)} expected. The "
            f"pump delivered about {fmt(actual)} instead of {fmt(planned)} ({pct:+.1f} %), "
            f"beyond the +{pump.accuracy_over * 100:g} % accuracy of {pump.model}: possible "
            "over-infusion. Assess the patient for overdose signs, interrogate the pump "
            "(programmed rate, concentration, reservoir volume entered at the last fill, bolus "
            "log) and confirm the last fill volume.",
            pump.source("accuracy_over"),
            limit=Q_(pump.accuracy_over * 100.0, "percent"), value=Q_(pct, "percent"),
        ))  # fmt: skip
    if pump.accuracy_under is not None and above_count(-error, pump.accuracy_under):
        found.append(Finding(
            Level.SOFT, Code.DISCREPANCY_OUTSIDE_ACCURACY,
            f"Residual higher than expected: {fmt(out)} withdrawn, {fmt(expected)} expected. "
            f"The pump delivered about {fmt(actual)} instead of {fmt(planned)} ({pct:+.1f} %), "
            f"beyond the −{pump.accuracy_under * 100:g} % accuracy of {pump.model}: possible "
            "under-delivery — catheter occlusion or kink, pump stall. Interrogate the pump "
            "(motor stall and alarm log), assess for withdrawal, consider a catheter access "
            "port aspiration or a dye study.",
            pump.source("accuracy_under"),
            limit=Q_(-pump.accuracy_under * 100.0, "percent"), value=Q_(pct, "percent"),
        ))  # fmt: skip
    return found


def _too_little_delivered(
    expected: pint.Quantity, out: pint.Quantity, planned: pint.Quantity, pump: PumpSpec,
    settings: Settings,
) -> list[Finding]:  # fmt: skip
    """The band not assessed: too little was expected to be delivered for a percentage."""
    if pump.accuracy_over is None and pump.accuracy_under is None:
        return []  # no band to assess in any case
    minimum = settings.accuracy_min_delivered
    assert minimum is not None  # only called below a minimum
    left = out - expected
    return [Finding(
        Level.INFO, Code.ACCURACY_NOT_ASSESSED,
        f"The pump's accuracy was not assessed: only {fmt(planned)} was expected to be "
        f"delivered since the last fill, less than {fmt(minimum.to('mL'))}. The accuracy band "
        "is a percentage of the delivered volume, and on so little a syringe reading error "
        f"alone would be a large percentage. The volumes: {fmt(out)} withdrawn, {fmt(expected)} "
        f"expected, {fmt(abs(left))} {'more' if left.magnitude >= 0 else 'less'} than expected; "
        "the refill discrepancy check in millilitres still applies.",
        settings.accuracy_min_delivered_source, limit=minimum.to("mL"), value=planned,
    )]  # fmt: skip


def _threshold_findings(
    discrepancy: pint.Quantity, expected: pint.Quantity, out: pint.Quantity, settings: Settings
) -> list[Finding]:
    threshold = settings.discrepancy_threshold
    if threshold is None:
        # The shipped library sets it; a library without it cannot run the check, so say so
        # rather than silently passing.
        raise InputError(
            "settings.discrepancy_threshold", "is not set in the drug library",
            "a volume such as '2 mL' with its source",
        )  # fmt: skip
    threshold = threshold.to("mL")
    size = abs(discrepancy.magnitude)
    if not above(Q_(size, "mL"), threshold):
        return []
    if discrepancy.magnitude > 0:
        what = (
            f"{fmt(Q_(size, 'mL'))} more than expected was left in the reservoir ({fmt(out)} "
            f"withdrawn, {fmt(expected)} expected): possible under-delivery — catheter "
            "occlusion, pump stall. Interrogate the pump, assess for withdrawal, consider a "
            "catheter access port aspiration or a dye study."
        )
    else:
        what = (
            f"{fmt(Q_(size, 'mL'))} less than expected was left in the reservoir ({fmt(out)} "
            f"withdrawn, {fmt(expected)} expected): possible over-infusion, a wrong fill volume "
            "entered at the last refill, or drug lost at the last refill (pocket). Assess the "
            "patient for overdose signs and interrogate the pump."
        )
    return [Finding(
        Level.SOFT, Code.DISCREPANCY_ABOVE_THRESHOLD,
        f"Refill discrepancy above {fmt(threshold)}: {what}",
        settings.discrepancy_source, limit=threshold, value=Q_(size, "mL"),
    )]  # fmt: skip
