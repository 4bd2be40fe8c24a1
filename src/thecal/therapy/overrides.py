"""Who may give the reason a soft finding needs (issue 10).

A soft finding asks for a recorded reason before going ahead. Some of those reasons are a
prescriber's decision, not a nurse's:

- restarting after an interruption (``RESTART-TOLERANCE``): opioid tolerance may be lost and
  restarting at the previous dose risks respiratory depression (Ruan et al., Pain Physician
  2010), so only a physician decides the restart dose;
- any dose finding on an opioid (daily dose, worst case, start dose, titration step, percent,
  interval and frequency, bolus dose, boluses per day, no dose limits configured) and a patient
  bolus of an opioid with the
  patient's opioid status unknown: the opioid dose is the prescriber's decision (a nurse works
  within the prescription: Role in :mod:`thecal.clinic.model`).

Every other soft finding may be overridden by any clinician allowed to write. The gate marks
its findings with :func:`classify`; :func:`~thecal.therapy.findings.check_overrides` refuses a
reason from someone who may not give it.
"""

from collections.abc import Collection, Iterable
from dataclasses import replace

from thecal.therapy.admixture import Admixture
from thecal.therapy.findings import Code, Finding, Level, Overrider
from thecal.units import fmt

# Only a physician, whatever the drug (the finding is only made for opioids today).
PHYSICIAN_ALWAYS: frozenset[Code] = frozenset({Code.RESTART_AFTER_INTERRUPTION})

# Only a physician when the finding's drug is an opioid.
OPIOID_DOSE: frozenset[Code] = frozenset({
    Code.DAILY_DOSE_ABOVE_LIMIT,
    Code.WORST_CASE_DAILY_DOSE_ABOVE_LIMIT,
    Code.START_DOSE_ABOVE_LIMIT,
    Code.TITRATION_STEP_ABOVE_LIMIT,
    Code.TITRATION_PERCENT_ABOVE_LIMIT,
    Code.TITRATION_TOO_SOON,
    Code.TITRATION_TOO_FREQUENT,
    Code.BOLUS_DOSE_ABOVE_LIMIT,
    Code.BOLUSES_PER_DAY_ABOVE_LIMIT,
    Code.OPIOID_STATUS_UNKNOWN,
    Code.NO_DOSE_LIMITS,
})  # fmt: skip


def _is_opioid(drug: str | None, admixture: Admixture) -> bool:
    if drug is None:
        # A dose finding names its drug; one that does not is treated as an opioid's when the
        # admixture holds any opioid (the safe side).
        return any(i.drug.is_opioid for i in admixture.ingredients)
    for ing in admixture.ingredients:
        if ing.drug.name == drug:
            return ing.drug.is_opioid
    # A drug no longer in the admixture (e.g. restarting an old one): the safe side.
    return True


def override_by(finding: Finding, admixture: Admixture) -> Overrider:
    """Who may give the reason for ``finding`` when ``admixture`` is in the reservoir."""
    if finding.code in PHYSICIAN_ALWAYS:
        return Overrider.PHYSICIAN
    if finding.code in OPIOID_DOSE and _is_opioid(finding.drug, admixture):
        return Overrider.PHYSICIAN
    return Overrider.CLINICIAN


def classify(findings: Iterable[Finding], admixture: Admixture) -> tuple[Finding, ...]:
    """``findings`` (order kept), each marked with who may give its reason."""
    out = []
    for f in findings:
        who = override_by(f, admixture)
        out.append(f if f.override_by is who else replace(f, override_by=who))
    return tuple(out)


def decision_key(f: Finding) -> tuple[str, str | None, str | None]:
    """What a recorded decision on ``f`` is about: its code, drug and limit (as display text,
    the form the clinic stores findings in). The same code against another limit (the patient
    now recorded as opioid-naive) is a new decision."""
    return (f.code.value, f.drug, fmt(f.limit) if f.limit is not None else None)


def already_decided(
    findings: Iterable[Finding], decided: Collection[tuple[str, str | None, str | None]]
) -> tuple[Finding, ...]:
    """``findings`` with those a physician already decided for the prescription in force —
    their :func:`decision_key` in ``decided`` — open to any clinician: a nurse refilling or
    lowering an opioid a physician prescribed above a soft limit repeats that decision, she
    does not make it. ``RESTART-TOLERANCE`` is never decided in advance: each interruption is a
    new decision."""
    out = []
    for f in findings:
        carried = (
            f.level is Level.SOFT
            and f.override_by is Overrider.PHYSICIAN
            and f.code not in PHYSICIAN_ALWAYS
            and decision_key(f) in decided
        )
        out.append(replace(f, override_by=Overrider.CLINICIAN) if carried else f)
    return tuple(out)
