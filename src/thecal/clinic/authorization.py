"""Who may change what (issue 10): a nurse's program change stays within the current
prescription, and only a physician gives the reason for a physician's soft finding.

The write services call these inside the write's transaction, on the prescription read in that
transaction, so a prescription changed by someone else since the form was shown is what the
change is checked against. The web and the API only show the refusal.
"""

from collections.abc import Mapping, Sequence

import pint

from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import PrescriptionVersion, Role, User
from thecal.clinic.ports import ClinicRepository
from thecal.therapy.compare import above, above_count, below, equal
from thecal.therapy.findings import Finding, Level, Overrider, check_overrides
from thecal.therapy.overrides import already_decided
from thecal.therapy.plan_file import PatientBolusEntry, PlanFile
from thecal.units import Dimension, parse_quantity

C, T = Dimension.CONCENTRATION, Dimension.TIME


class OutsidePrescription(PermissionDenied):
    """A nurse's program change that leaves the current prescription; ``problem`` says how."""

    def __init__(self, actor: User, problem: str) -> None:
        super().__init__(
            actor.username, actor.role.value,
            f"change the program outside the current prescription: {problem}",
        )  # fmt: skip
        self.problem = problem


def may_give(role: Role) -> frozenset[Overrider]:
    """Whose override reasons a user with ``role`` may give: a physician any, a nurse the
    clinician's (not loss of tolerance, not opioid doses), a viewer none."""
    if role is Role.PHYSICIAN:
        return frozenset(Overrider)
    if role is Role.NURSE:
        return frozenset({Overrider.CLINICIAN})
    return frozenset()


def physician_decided(
    repo: ClinicRepository, patient_id: str
) -> frozenset[tuple[str, str | None, str | None]]:
    """The soft findings a physician gave a reason for when setting the prescription in force,
    as (code, drug, limit) (:func:`~thecal.therapy.overrides.decision_key`): from the newest
    program change by a physician, looking past later ones by nurses (who stay within it and
    only lower doses). Nothing when the newest change by someone not a nurse is not a
    physician's (an unknown author decides nothing)."""
    for change in reversed(repo.program_changes_for(patient_id)):
        author = repo.user_by_name(change.by)
        if author is not None and author.role is Role.NURSE:
            continue
        if author is not None and author.role is Role.PHYSICIAN:
            reasoned = {code for code, _ in change.overrides}
            return frozenset(
                (f.code, f.drug, f.limit)
                for f in change.findings
                if f.level is Level.SOFT and f.code in reasoned
            )
        return frozenset()
    return frozenset()


def check_reasons(
    repo: ClinicRepository,
    actor: User,
    patient_id: str,
    findings: Sequence[Finding],
    reasons: Mapping[str, str],
) -> None:
    """Raise :class:`~thecal.therapy.findings.OverrideError` on a hard finding or a soft one
    without a reason, :class:`~thecal.therapy.findings.OverrideNotAllowed` when ``actor`` may
    not give a reason a soft finding needs ("a physician must give the reason for
    RESTART-TOLERANCE"). A physician-only finding that a physician already decided for the
    prescription in force (:func:`physician_decided`) may be repeated by a nurse."""
    marked = findings
    if actor.role is not Role.PHYSICIAN:
        marked = already_decided(findings, physician_decided(repo, patient_id))
    check_overrides(marked, dict(reasons), may_give(actor.role))


def check_program_change(actor: User, current: PrescriptionVersion | None, new: PlanFile) -> None:
    """Raise :class:`PermissionDenied` when ``actor`` may not store ``new`` as the next
    prescription after ``current``: a viewer never, a nurse only within ``current``
    (:func:`nurse_bounds_problem`), a physician always."""
    if actor.role is Role.VIEWER:
        raise PermissionDenied(actor.username, actor.role.value, "change programs")
    if actor.role is Role.NURSE:
        problem = nurse_bounds_problem(current.plan() if current else None, new)
        if problem:
            raise OutsidePrescription(actor, problem)


def nurse_bounds_problem(current: PlanFile | None, new: PlanFile) -> str | None:
    """Why a nurse may not make this program change, or None. A nurse stays within the current
    prescription: the same pump, admixture (drugs and concentrations), patient record and
    schedule shape; a daily dose or rate no higher than prescribed; no new patient bolus and
    none larger (dose or volume, boluses per day), more frequent (lockout) or faster (duration).
    Equal is within (a maximum is not exceeded at the limit: :mod:`thecal.therapy.compare`);
    anything else needs a physician. Lowering, or removing the patient bolus, is within."""
    if current is None:
        return "there is no current prescription to stay within"
    for check in (_pump, _admixture, _patient, _schedule, _patient_bolus):
        problem = check(current, new)
        if problem:
            return problem
    return None


def _pump(current: PlanFile, new: PlanFile) -> str | None:
    if new.pump.model != current.pump.model:
        return f"a different pump ({new.pump.model} for {current.pump.model}) needs a physician"
    # The nurse may set the low-reservoir alarm; every other pump value is the prescriber's.
    keep = {"low_reservoir_alarm"}
    if new.pump.model_dump(exclude=keep) != current.pump.model_dump(exclude=keep):
        return "different pump settings need a physician"
    return None


def _q(text: str, dim: Dimension) -> pint.Quantity:
    # Plan text, validated already; through the one parser all the same (never pint's Q_(text)).
    return parse_quantity(text, "plan", dim)


def _admixture(current: PlanFile, new: PlanFile) -> str | None:
    old = {i.drug.casefold(): i.concentration for i in current.admixture}
    now = {i.drug.casefold(): i.concentration for i in new.admixture}
    added, removed = sorted(now.keys() - old.keys()), sorted(old.keys() - now.keys())
    if added:
        return f"adding {', '.join(added)} to the admixture needs a physician"
    if removed:
        return f"removing {', '.join(removed)} from the admixture needs a physician"
    for drug, conc in now.items():
        if not equal(_q(conc, C), _q(old[drug], C)):
            return (
                f"{drug} {conc} instead of the prescribed {old[drug]}: a different "
                "concentration needs a physician"
            )
    return None


def _patient(current: PlanFile, new: PlanFile) -> str | None:
    # The plan's patient values stand in for what the registry lacks (opioid tolerance): a
    # nurse may not change them through a program change.
    if new.patient != current.patient:
        return "a different patient record (opioid tolerance, spasticity origin) needs a physician"
    return None


def _schedule(current: PlanFile, new: PlanFile) -> str | None:
    cs, ns = current.schedule, new.schedule
    if (ns.mode, ns.drug, ns.steps, ns.periodic, ns.single) != (
        cs.mode, cs.drug, cs.steps, cs.periodic, cs.single,
    ):  # fmt: skip
        return "a different schedule shape needs a physician"
    for attr in ("dose", "rate"):
        old, value = getattr(cs, attr), getattr(ns, attr)
        if (old is None) != (value is None):
            return "changing between a daily dose and a rate needs a physician"
        dim = Dimension.DOSE_RATE if attr == "dose" else Dimension.FLOW_RATE
        if old is not None and value is not None and above(_q(value, dim), _q(old, dim)):
            what = "daily dose" if attr == "dose" else "rate"
            return f"the {what} {value} is above the prescribed {old}"
    return None


def _patient_bolus(current: PlanFile, new: PlanFile) -> str | None:
    old, now = current.patient_bolus, new.patient_bolus
    if now is None:
        return None  # none, or removed: less drug
    if old is None:
        return "adding a patient bolus needs a physician"
    return _bolus_larger(old, now)


def _bolus_larger(old: PatientBolusEntry, now: PatientBolusEntry) -> str | None:
    if (now.volume is None, now.drug) != (old.volume is None, old.drug):
        return "a patient bolus given differently (volume, dose or drug) needs a physician"
    kind = "volume" if now.volume is not None else "dose"
    amount, prescribed = getattr(now, kind), getattr(old, kind)
    dim = Dimension.VOLUME if kind == "volume" else Dimension.MASS
    if above(_q(amount, dim), _q(prescribed, dim)):
        return f"the patient bolus {kind} {amount} is above the prescribed {prescribed}"
    if above_count(now.max_per_day, old.max_per_day):
        return (
            f"the patient boluses a day ({now.max_per_day}) are more than the prescribed "
            f"{old.max_per_day}"
        )
    if below(_q(now.lockout, T), _q(old.lockout, T)):
        return (
            f"the patient bolus lockout {now.lockout} is shorter than the prescribed {old.lockout}"
        )
    if below(_q(now.duration, T), _q(old.duration, T)):
        return (
            f"the patient bolus duration {now.duration} is shorter than the prescribed "
            f"{old.duration} (a faster bolus)"
        )
    return None
