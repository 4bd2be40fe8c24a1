"""Recorded assessments through FHIR and back: written through the clinic's own workflow
(AssessmentServices with the shipped rules) on the demo's seed 000 (pump) and 001
(stimulator); each a ClinicalImpression (in-progress while open, completed once closed), an
open urgent one also an active Flag; R4B validation and codes; decode(export(record)) ==
record and a fresh clinic exports the same resources; one refusal per bad payload field."""

import copy
from datetime import datetime
from typing import Any

import pytest

from tests.interop.conftest import Clinic
from tests.interop.history_helpers import (
    STAMP,
    anchors,
    context,
    decode_all,
    fresh,
    record,
    validate,
    where,
    write_all,
)
from thecal.adapters.composition import clinic_settings, stimulator_context
from thecal.adapters.decision_files import clinic_rules
from thecal.clinic.assessment_ports import AssessmentKind
from thecal.clinic.assessment_workflow import MAX_NOTE, AssessmentServices
from thecal.clinic.model import DeviceKind
from thecal.interop import fhir_assessment as fa
from thecal.interop import fhir_codes as c
from thecal.units import InputError

MRNS = ("SEED-000", "SEED-001")
# Progressive weakness and a bladder change for two days (what a clinician enters): the
# shipped rules raise "New or progressive neurological deficit", urgency within 24 h.
DEFICIT = {"symptoms": [{"kind": "weakness", "onset": "2 d", "progressive": True},
                        {"kind": "bladder", "onset": "2 d"}]}  # fmt: skip


@pytest.fixture(scope="module")
def assessed(clinic: Clinic) -> Clinic:
    """Three assessments by the nurse on 2026-11-23: SEED-001's stimulator, urgent and open
    (09:00) and routine, closed at 10:30 (09:30); SEED-000's pump, routine with a note."""
    clock = {"now": datetime(2026, 11, 23, 9, 0)}
    svc = AssessmentServices(clinic.uow, lambda: clock["now"], clinic.catalog, clinic_settings(),
                             stimulator_context(), clinic_rules())  # fmt: skip
    with clinic.uow.reader() as repo:
        nurse = repo.user_by_name("nurse")
    assert nurse is not None
    seed1 = clinic.ids["SEED-001"]
    urgent = svc.record(actor=nurse, patient_id=seed1, entry=DEFICIT,
                        note="weak left leg since Saturday\nwalks with a stick")  # fmt: skip
    assert urgent.urgency == "within_24h"
    clock["now"] = datetime(2026, 11, 23, 9, 30)
    routine = svc.record(actor=nurse, patient_id=seed1, entry={},
                         kind=AssessmentKind.REPLACEMENT)  # fmt: skip
    clock["now"] = datetime(2026, 11, 23, 10, 30)
    svc.close(actor=nurse, patient_id=seed1, assessment_id=routine.id)
    svc.record(actor=nurse, patient_id=clinic.ids["SEED-000"], entry={"interrogation": "normal"},
               note="refill next week")  # fmt: skip
    return clinic


def exported(clinic: Clinic, mrn: str) -> list[dict[str, Any]]:
    return list(fa.resources(record(clinic.uow, clinic.ids[mrn]), STAMP))


def refused(clinic: Clinic, key: str, value: Any, field: str, mrn: str = "SEED-001",
            n: int = 0) -> InputError:  # fmt: skip
    """The payload of assessment ``n`` of ``mrn`` with ``key`` (dotted) set to ``value``
    (``...`` deletes it) is refused naming the resource and ``field``."""
    r, payload = anchors(exported(clinic, mrn), fa.KINDS)[n]
    bad = copy.deepcopy(payload)
    target = bad
    *path, last = key.split(".")
    for k in path:
        target = target[int(k)] if isinstance(target, list) else target[k]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    ctx = context(clinic, record(clinic.uow, clinic.ids[mrn]))
    with pytest.raises(InputError) as exc:
        fa.KINDS[0].decode(bad, where(r), ctx)
    assert exc.value.field == f"{where(r)}.{field}", exc.value
    return exc.value


# --- export ------------------------------------------------------------------------------


@pytest.mark.parametrize("mrn", MRNS)
def test_resources_validate_and_use_thecal_codes(assessed: Clinic, mrn: str) -> None:
    out = exported(assessed, mrn)
    validate(out)
    assert any(r["resourceType"] == "ClinicalImpression" for r in out)


def test_impression_status_summary_and_the_flag_of_the_open_urgent_one(assessed: Clinic) -> None:
    out = exported(assessed, "SEED-001")
    data = record(assessed.uow, assessed.ids["SEED-001"])
    urgent, routine = data.assessments
    impressions = {r["id"]: r for r in out if r["resourceType"] == "ClinicalImpression"}
    first, second = impressions[urgent.id], impressions[routine.id]
    assert first["status"] == "in-progress" and second["status"] == "completed"
    assert first["code"]["coding"][0] == {
        "system": c.ASSESSMENT_KINDS,
        "code": "clinician",
        "display": fa.KIND_DISPLAY[AssessmentKind.CLINICIAN],
    }
    assert second["code"]["coding"][0]["code"] == "replacement"
    assert first["assessor"] == {"display": "nurse"}
    assert first["effectiveDateTime"] == "2026-11-23T09:00:00+00:00"
    assert first["supportingInfo"] == [{"reference": f"Device/{urgent.device_id}"}]
    assert first["note"] == [{"text": "weak left leg since Saturday\nwalks with a stick"}]
    assert first["summary"].startswith(
        "Urgency: within 24 h. Rules that fired: "
        "New or progressive neurological deficit (within 24 h)"
    )
    assert first["summary"].endswith(
        "it never diagnoses. Each item is a reminder raised by the "
        "data shown with it, not a finding about the patient, and "
        "a normal device check never closes a work-up."
    )
    assert "finding" not in first  # prompts, not findings about the patient
    flags = [r for r in out if r["resourceType"] == "Flag"]
    assert len(flags) == 1  # the routine one is closed, and routine: no flag
    (flag,) = flags
    assert flag["id"] == f"{urgent.id}-flag" and flag["status"] == "active"
    assert flag["code"]["coding"][0] == {
        "system": c.ASSESSMENT_URGENCY,
        "code": "within_24h",
        "display": "within 24 h",
    }
    assert flag["period"] == {"start": "2026-11-23T09:00:00+00:00"}


def test_no_flag_for_an_open_routine_assessment(assessed: Clinic) -> None:
    out = exported(assessed, "SEED-000")
    (impression,) = [r for r in out if r["resourceType"] == "ClinicalImpression"]
    assert impression["status"] == "in-progress"
    assert "Urgency: routine. No rule fired." in impression["summary"]
    assert not [r for r in out if r["resourceType"] == "Flag"]


# --- round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("mrn", MRNS)
def test_decode_gives_the_records_and_a_fresh_clinic_exports_the_same(
    assessed: Clinic, mrn: str
) -> None:
    data = record(assessed.uow, assessed.ids[mrn])
    first = list(fa.resources(data, STAMP))
    decoded = decode_all(first, fa.KINDS, context(assessed, data))
    assert [rec for _, rec in decoded] == list(data.assessments)
    uow = fresh(data)
    write_all(uow, decoded)
    assert list(fa.resources(record(uow, data.patient.id), STAMP)) == first


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "field"), [
    ("urgency", "soon", "urgency"),
    ("urgency", ..., "urgency"),
    ("urgency", "routine", "urgency"),  # not the result's (within_24h)
    ("assessment_kind", "guess", "assessment_kind"),
    ("assessment_kind", None, "assessment_kind"),
    ("presentation", "visit", "presentation"),
    ("presentation.dwell_time", "nan d", "presentation.dwell_time"),
    ("presentation.dwell_time", "5 kg", "presentation.dwell_time"),
    ("presentation.dwell_time", 3850, "presentation.dwell_time"),
    ("presentation.device", "pacemaker", "presentation.device"),
    ("presentation.device", "intrathecal_pump", "presentation.device"),  # it is a stimulator
    ("presentation.colour", "red", "presentation.colour"),
    ("result", ..., "result"),
    ("result.urgency", "soon", "result.urgency"),
    ("result.fired", "none", "result.fired"),
    ("note", "n" * (MAX_NOTE + 1), "note"),
    ("note", 5, "note"),
    ("by", "", "by"),
    ("by", "b" * 81, "by"),
    ("at", "2026-11-24T09:00:00+00:00", "at"),
    ("closed_at", "2026-11-23T10:00:00+00:00", "closed_at"),  # without closed_by
    ("device_id", "nowhere", "device_id"),
    ("id", None, "id"),
    ("extra", True, "extra"),
])  # fmt: skip
def test_assessment_payload_refusals(assessed: Clinic, key: str, value: Any, field: str) -> None:
    refused(assessed, key, value, field)


def test_closing_before_the_assessment_is_refused(assessed: Clinic) -> None:
    # The routine one: assessed at 09:30, closed at 10:30.
    refused(assessed, "closed_at", "2026-11-23T09:29:00+00:00", "closed_at", n=1)
    refused(assessed, "closed_by", None, "closed_at", n=1)


def test_a_device_that_cannot_be_assessed_is_refused(assessed: Clinic) -> None:
    data = record(assessed.uow, assessed.ids["SEED-000"])
    catheter = next(d for d in data.devices if d.kind is DeviceKind.CATHETER)
    e = refused(assessed, "device_id", catheter.id, "device_id", mrn="SEED-000")
    assert "is a catheter" in e.message


def test_the_edges_are_taken(assessed: Clinic) -> None:
    r, payload = anchors(exported(assessed, "SEED-001"), fa.KINDS)[0]
    ctx = context(assessed, record(assessed.uow, assessed.ids["SEED-001"]))
    ok = {**payload, "note": "n" * MAX_NOTE, "by": "b" * 80,
          "at": "2026-11-23T23:59:59+00:00", "device_id": None}  # fmt: skip
    a = fa.KINDS[0].decode(ok, where(r), ctx)
    assert len(a.note) == MAX_NOTE and a.device_id is None
