"""Recording an assessment: the registry's facts (:mod:`thecal.clinic.assessment_registry`)
with what the clinician enters laid over them, run through the decision rules
(:func:`thecal.decision.assess`, a pure function), stored whole with who and when (audited).
A viewer may read assessments, not record or close them.

It proposes prompts; it never diagnoses (the statement travels with every stored result)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from thecal.clinic.assessment_ports import AssessmentKind, AssessmentRecord
from thecal.clinic.assessment_registry import assessed_device, registry_presentation
from thecal.clinic.errors import ConcurrentEditError, NotFoundError, PermissionDenied
from thecal.clinic.model import Device, DeviceKind, User
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.settings import ClinicSettings
from thecal.clinic.stimulator_workflow import StimulatorContext
from thecal.clinic.worklist_prompts import candidates
from thecal.decision import Assessment, Presentation, Rule, assess, presentation_from_mapping
from thecal.devices.catalog import DeviceCatalog
from thecal.units import InputError

ENTRY_KEYS = frozenset({
    "occasion", "symptoms", "pocket_findings", "intraoperative_findings", "loss_of_effect",
    "interrogation", "dose_trend", "concentration_trend", "comorbidities",
})  # fmt: skip
"""What a clinician enters; the rest of a presentation comes from the registry."""

MAX_NOTE = 2000
"""Characters of an assessment's free-text note (longer is refused, not cut)."""

_PUMPS = (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP)  # the order assessed_device defaults in

URGENT = ("emergency", "today", "within_24h")
"""Urgencies an open assessment keeps on the worklist."""


def presentation_for(registry: Mapping[str, Any], entry: Mapping[str, Any]) -> Presentation:
    """The registry's facts with ``entry`` laid over them (the clinician's word wins;
    comorbidities merge key by key). InputError names the field of a bad entry."""
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise InputError(f"assessment.{unknown[0]}", "is not entered here (from the registry)",
                         ", ".join(sorted(ENTRY_KEYS)))  # fmt: skip
    merged = {**registry, **{k: v for k, v in entry.items() if k != "comorbidities"}}
    extra = entry.get("comorbidities", {})
    if not isinstance(extra, Mapping):
        raise InputError("assessment.comorbidities", "is not a table", "cancer = true, ...")
    comorbid = {**registry.get("comorbidities", {}), **extra}
    if comorbid:
        merged["comorbidities"] = comorbid
    return presentation_from_mapping(merged)


def _note(text: str) -> str:
    note = text.strip()
    if len(note) > MAX_NOTE:
        raise InputError("assessment.note", f"is longer than {MAX_NOTE} characters",
                         f"at most {MAX_NOTE} characters")  # fmt: skip
    return note


@dataclass(frozen=True)
class AssessmentServices:
    """Record, read and close assessments on ``uow`` with the decision ``rules``."""

    uow: UnitOfWork
    clock: Clock
    catalog: DeviceCatalog
    settings: ClinicSettings
    stimulation: StimulatorContext | None
    rules: Sequence[Rule]

    def _run(
        self, repo: ClinicRepository, patient_id: str, entry: Mapping[str, Any],
        device_id: str | None,
    ) -> tuple[str, Presentation, Assessment]:  # fmt: skip
        repo.get_patient(patient_id)
        device = assessed_device(repo, patient_id, device_id)
        if not device.in_place:
            # A removed device has no battery or reservoir to plan for: the checklist and
            # the rules are about what is implanted now.
            raise InputError("assessment.device",
                             f"{device.model} {device.serial} was removed on {device.removed_on}",
                             "a pump or stimulator in place")  # fmt: skip
        registry = registry_presentation(
            repo, patient_id=patient_id, device=device, now=self.clock(), catalog=self.catalog,
            settings=self.settings, stimulation=self.stimulation,
        )  # fmt: skip
        presentation = presentation_for(registry, entry)
        return device.id, presentation, assess(presentation, self.rules)

    def devices(self, *, patient_id: str) -> tuple[Device, ...]:
        """The pumps and stimulators in place that an assessment may be about, the drug pump
        first (the default when none is named), in the record's order (NotFoundError: no
        patient)."""
        with self.uow.reader() as repo:
            repo.get_patient(patient_id)
            mine = [d for d in repo.devices_for(patient_id) if d.in_place]
        return tuple(d for kinds in (_PUMPS, (DeviceKind.STIMULATOR,)) for d in mine
                     if d.kind in kinds)  # fmt: skip

    def preview(
        self, *, patient_id: str, entry: Mapping[str, Any], device_id: str | None = None
    ) -> tuple[Presentation, Assessment]:
        """What the rules propose now for the registry and ``entry``; nothing is written."""
        with self.uow.reader() as repo:
            _, presentation, result = self._run(repo, patient_id, entry, device_id)
        return presentation, result

    def registry_only(
        self, *, patient_id: str, device_id: str | None = None
    ) -> tuple[Presentation, Assessment]:
        """The rules on the registry's facts alone (the automatic prompts; nothing written)."""
        return self.preview(patient_id=patient_id, entry={}, device_id=device_id)

    def automatic(self) -> tuple[tuple[str, str, Assessment], ...]:
        """The rules on the registry's facts alone for every pump and stimulator in place,
        one read: (patient id, device id, assessment) for each where a rule fires (repeated
        low residuals, an empty reservoir on a baclofen pump, a rising impedance trend...).
        Computed, never stored; a device whose record cannot be read as a presentation is
        left out (its own pages show why)."""
        out: list[tuple[str, str, Assessment]] = []
        with self.uow.reader() as repo:
            # Only the devices with a signal a rule needs (thecal.clinic.worklist_prompts).
            found = candidates(repo, self.catalog, self.rules)
            run = ([(c.patient_id, c.device_id) for c in found] if found is not None
                   else [(d.patient_id, d.id) for d in repo.devices_in_place()])  # fmt: skip
            for patient_id, device_id in run:
                try:
                    _, _, result = self._run(repo, patient_id, {}, device_id)
                except InputError:
                    continue  # not a pump or stimulator, or no usable record
                if result.fired:
                    out.append((patient_id, device_id, result))
        return tuple(out)

    def record(
        self, *, actor: User, patient_id: str, entry: Mapping[str, Any],
        device_id: str | None = None, kind: AssessmentKind = AssessmentKind.CLINICIAN,
        note: str = "", patient_version: int | None = None,
    ) -> AssessmentRecord:  # fmt: skip
        """Run the rules and store input, output, ``actor`` and now (audited).
        PermissionDenied for a viewer (before anything is read); InputError naming the field
        of a bad entry; NotFoundError for an unknown patient; ConcurrentEditError when the
        patient is no longer at ``patient_version`` (None: not checked)."""
        if not actor.can_write:
            raise PermissionDenied(actor.username, actor.role.value, "record assessments")
        text = _note(note)
        at = self.clock()
        with self.uow.transaction(actor.username, at, f"assessment ({kind.value})") as repo:
            stale = patient_version is not None and (
                repo.get_patient(patient_id).version != patient_version
            )
            if stale and patient_version is not None:
                raise ConcurrentEditError("patient", patient_id, patient_version)
            device, presentation, result = self._run(repo, patient_id, entry, device_id)
            record = AssessmentRecord(
                patient_id, at, actor.username, kind, result.urgency,
                presentation.model_dump(mode="json"), result.model_dump(mode="json"), device,
                text,
            )  # fmt: skip
            repo.add_assessment(record)
        return record

    def assessments(self, *, patient_id: str) -> tuple[AssessmentRecord, ...]:
        """The patient's assessments, newest first (NotFoundError: no patient)."""
        with self.uow.reader() as repo:
            repo.get_patient(patient_id)
            return tuple(reversed(repo.assessments_for(patient_id)))

    def assessment(self, *, patient_id: str, assessment_id: str) -> AssessmentRecord:
        """One assessment of this patient (NotFoundError for another patient's)."""
        with self.uow.reader() as repo:
            repo.get_patient(patient_id)
            record = repo.get_assessment(assessment_id)
        if record.patient_id != patient_id:
            raise NotFoundError("assessment", assessment_id)
        return record

    def close(self, *, actor: User, patient_id: str, assessment_id: str) -> AssessmentRecord:
        """Close an open assessment (it leaves the worklist); closing a closed one changes
        nothing. PermissionDenied for a viewer; NotFoundError for another patient's."""
        if not actor.can_write:
            raise PermissionDenied(actor.username, actor.role.value, "close assessments")
        at = self.clock()
        with self.uow.transaction(actor.username, at, "assessment closed") as repo:
            record = repo.get_assessment(assessment_id)
            if record.patient_id != patient_id:
                raise NotFoundError("assessment", assessment_id)
            if not record.open:
                return record
            record = replace(record, closed_at=at, closed_by=actor.username)
            repo.update_assessment(record)
        return record


def stored_result(record: AssessmentRecord) -> Assessment:
    """The stored output read back as an :class:`Assessment`."""
    return Assessment.model_validate(record.result)
