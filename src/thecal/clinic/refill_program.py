"""A refill that changes the concentration, recorded with its new program in ONE transaction.

The wizard's :class:`~thecal.clinic.refill_concentration.ConcentrationChange` gives the new
program (same drugs, new concentrations, the rate rescaled to the same daily dose) and the
bridge bolus. Recording it stores the refill (the fill's concentrations are the NEW ones) and
the next prescription version (the new plan, reason "concentration change at refill", with
the rate arithmetic and the bridge) together, or nothing.

Inside that transaction the refill is stored first, so the program safety gate of
:func:`~thecal.clinic.program_workflow.change_program` judges the new program against the
reservoir AFTER the refill: the new fill's concentrations (no reservoir-admixture mismatch)
and volume (no "ran empty" restart), not the reservoir before it. Hard findings of either
refuse everything; each soft one needs a reason (one reason per finding code covers both).
"""

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from thecal.clinic.authorization import check_reasons
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.implant_link_model import LinkDelivery
from thecal.clinic.model import RefillRecord, User
from thecal.clinic.patient_context import with_version
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.program_workflow import (
    ProgramOutcome,
    ProgramPreview,
    change_program,
    preview_program_change,
)
from thecal.clinic.refill_concentration import ConcentrationChange
from thecal.clinic.refill_workflow import RefillInput, RefillOutcome, preview_refill
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Finding
from thecal.therapy.library import DrugLibrary
from thecal.units import fmt

REASON = "concentration change at refill"
SEPARATOR = " | "


def change_notes(change: ConcentrationChange, bridge: str) -> tuple[tuple[str, str], ...]:
    """What the session record shows of a concentration change, as (name, text) pairs: the
    concentrations old → new, the rate arithmetic, the dead volume, the bridge bolus and
    ``bridge`` (what is done with it: sent over the link, or not)."""
    concs = "; ".join(f"{d} {fmt(o)} → {fmt(n)}" for d, o, n in change.concentrations)
    b = change.bridge
    program = b.program
    planned = (
        f"{fmt(program.volume)} of the old fill at {fmt(program.rate)} for "
        f"{fmt(program.duration)}, then {fmt(program.then_rate)} ({program.formula})"
        if program is not None
        else "no bridge program: the fills share no drug"
    )
    return (
        ("concentrations", concs),
        ("old rate", fmt(change.old_rate)),
        ("new rate", fmt(change.new_rate)),
        ("rate", change.rate_formula),
        ("dead volume", b.dead_volume_formula),
        ("bridge", planned),
        ("bridge sent", bridge),
    )


def change_reason(notes: Sequence[tuple[str, str]]) -> str:
    """The program change's reason: :data:`REASON` and the notes, one line a nurse reads."""
    return REASON + ": " + SEPARATOR.join(f"{k}: {v}" for k, v in notes)


def notes_of(reason: str) -> tuple[tuple[str, str], ...]:
    """The notes of a reason written by :func:`change_reason` (empty for any other reason)."""
    if not reason.startswith(REASON + ": "):
        return ()
    pairs = (part.partition(": ") for part in reason.removeprefix(REASON + ": ").split(SEPARATOR))
    return tuple((k, v) for k, _, v in pairs)


def fill_concentrations(change: ConcentrationChange) -> tuple[tuple[str, str], ...]:
    """The fill's concentrations (drug, text), the NEW ones, as a refill record stores them."""
    return tuple((d, fmt(new)) for d, _, new in change.concentrations)


@dataclass(frozen=True)
class RefillProgramPreview:
    """The refill (its record carries the new concentrations) and the new program judged
    against the reservoir after it; ``findings``: both, the refill's first."""

    refill: RefillOutcome
    program: ProgramPreview

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.refill.findings + self.program.findings


@dataclass(frozen=True)
class RefillProgramOutcome:
    refill: RefillOutcome
    program: ProgramOutcome


class _AfterRefill:
    """``repo`` read as if ``record`` were already stored (a preview writes nothing)."""

    def __init__(self, repo: ClinicRepository, record: RefillRecord) -> None:
        self._repo, self._record = repo, record

    def refills_for(self, patient_id: str) -> Sequence[RefillRecord]:
        found = self._repo.refills_for(patient_id)
        return (*found, self._record) if patient_id == self._record.patient_id else found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)


def _refill(
    repo: ClinicRepository, library: DrugLibrary, catalog: DeviceCatalog, *, patient_id: str,
    entry: RefillInput, change: ConcentrationChange, at: datetime, by: str, programmed: bool,
) -> RefillOutcome:  # fmt: skip
    """The refill with the new fill's concentrations. ``programmed``: the new program runs
    from the fill (the record names the version about to be stored); else the pump still
    runs the current program (its forecast and findings are that program's)."""
    out = preview_refill(repo, library, catalog, patient_id=patient_id, entry=entry, at=at,
                         by=by, program=change.plan if programmed else None)  # fmt: skip
    version = out.record.prescription_version + (1 if programmed else 0)
    record = replace(out.record, concentrations=fill_concentrations(change),
                     prescription_version=version)  # fmt: skip
    return replace(out, record=record)


def preview_refill_program(
    repo: ClinicRepository, library: DrugLibrary, catalog: DeviceCatalog, *, patient_id: str,
    entry: RefillInput, change: ConcentrationChange, at: datetime, actor: User,
) -> RefillProgramPreview:  # fmt: skip
    """Every number and finding of the refill and its new program at ``at``, nothing written;
    the program is judged on the reservoir after the refill. Raises :class:`PermissionDenied`
    when ``actor`` may not make the program change (a nurse: the concentration is outside the
    prescription)."""
    refill = _refill(repo, library, catalog, patient_id=patient_id, entry=entry, change=change,
                     at=at, by=actor.username, programmed=True)  # fmt: skip
    after = cast(ClinicRepository, _AfterRefill(repo, refill.record))
    program = preview_program_change(after, library, catalog, patient_id=patient_id,
                                     plan=change.plan, at=at, actor=actor)  # fmt: skip
    return RefillProgramPreview(refill, program)


class _RefillFirst:
    """``uow`` whose transaction checks and stores the refill before the block (the program
    change) runs, and ``deliveries`` just before it commits (numbered with the version the
    transaction stored, at the transaction's time)."""

    def __init__(self, uow: UnitOfWork, library: DrugLibrary, catalog: DeviceCatalog, *,
                 actor: User, patient_id: str, entry: RefillInput, change: ConcentrationChange,
                 deliveries: Sequence[LinkDelivery],
                 patient_version: int | None) -> None:  # fmt: skip
        self._uow, self._library, self._catalog = uow, library, catalog
        self._actor, self._patient_id, self._entry = actor, patient_id, entry
        self._change, self._version = change, patient_version
        self.deliveries = tuple(deliveries)
        self.outcome: RefillOutcome | None = None

    def reader(self) -> AbstractContextManager[ClinicRepository]:
        return self._uow.reader()

    @contextmanager
    def transaction(self, actor: str, at: datetime, reason: str) -> Iterator[ClinicRepository]:
        with self._uow.transaction(actor, at, reason) as repo:
            if self._version is not None:
                # First: a form built on a stale patient is rejected before anything else.
                patient = repo.get_patient(self._patient_id)
                repo.update_patient(with_version(patient, self._version))
            outcome = _refill(repo, self._library, self._catalog, patient_id=self._patient_id,
                              entry=self._entry, change=self._change, at=at,
                              by=self._actor.username, programmed=True)  # fmt: skip
            check_reasons(repo, self._actor, self._patient_id, outcome.findings,
                          self._entry.overrides)  # fmt: skip
            repo.add_refill(outcome.record)
            yield repo
            version = outcome.record.prescription_version
            self.deliveries = tuple(replace(d, at=at, prescription_version=version)
                                    for d in self.deliveries)  # fmt: skip
            for d in self.deliveries:
                repo.add_link_delivery(d)
            self.outcome = outcome


def record_refill_program(
    uow: UnitOfWork, clock: Clock, library: DrugLibrary, catalog: DeviceCatalog, *,
    actor: User, patient_id: str, entry: RefillInput, change: ConcentrationChange,
    bridge: str, patient_version: int | None = None, deliveries: Sequence[LinkDelivery] = (),
) -> tuple[RefillProgramOutcome, tuple[LinkDelivery, ...]]:  # fmt: skip
    """Store the refill and the new program now (``clock()``) in one transaction, or nothing:
    :func:`~thecal.clinic.program_workflow.change_program` runs inside the transaction that
    stored the refill first. ``bridge``: what is done with the bridge bolus (for the reason).
    ``deliveries`` (over the link) are stored in the same transaction and returned as stored.
    Raises what ``record_refill`` and ``change_program`` raise (nothing is written)."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "record refills")
    first = _RefillFirst(uow, library, catalog, actor=actor, patient_id=patient_id, entry=entry,
                         change=change, deliveries=deliveries,
                         patient_version=patient_version)  # fmt: skip
    # The patient version is checked by the refill, first in the transaction.
    program = change_program(first, clock, library, catalog, actor=actor, patient_id=patient_id,
                             plan=change.plan, reason=change_reason(change_notes(change, bridge)),
                             overrides=entry.overrides)  # fmt: skip
    assert first.outcome is not None  # set when the transaction committed
    return RefillProgramOutcome(first.outcome, program), first.deliveries


def record_refill_only(
    uow: UnitOfWork, clock: Clock, library: DrugLibrary, catalog: DeviceCatalog, *,
    actor: User, patient_id: str, entry: RefillInput, change: ConcentrationChange,
    deliveries: Sequence[LinkDelivery], patient_version: int | None = None,
) -> tuple[RefillOutcome, tuple[LinkDelivery, ...]]:  # fmt: skip
    """Store the refill the pump confirmed when its new program was not: the fill's NEW
    concentrations, the prescription unchanged (the pump runs the old program at the new
    concentration), with ``deliveries``, in one transaction."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "record refills")
    at = clock()
    with uow.transaction(actor.username, at, "refill over the link; program not sent") as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        outcome = _refill(repo, library, catalog, patient_id=patient_id, entry=entry,
                          change=change, at=at, by=actor.username, programmed=False)  # fmt: skip
        check_reasons(repo, actor, patient_id, outcome.findings, entry.overrides)
        repo.add_refill(outcome.record)
        stored = tuple(replace(d, at=at) for d in deliveries)
        for d in stored:
            repo.add_link_delivery(d)
    return outcome, stored


__all__ = [
    "REASON",
    "RefillProgramOutcome",
    "RefillProgramPreview",
    "change_notes",
    "change_reason",
    "fill_concentrations",
    "notes_of",
    "preview_refill_program",
    "record_refill_only",
    "record_refill_program",
]
