"""Recorded assessments on SQLite and PostgreSQL: stored whole (presentation and result as
JSON) with who and when, audited, read back equal, closed, and refused for a viewer."""

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.unit.clinic.assessment_fixtures import SEED_003_CASE_2, assessments, cancer_patient
from tests.unit.clinic.conftest import DOCTOR, NURSE, VIEWER, FakeClock
from thecal.clinic.assessment_workflow import URGENT, stored_result
from thecal.clinic.errors import PermissionDenied
from thecal.devices.catalog import DeviceCatalog
from thecal.store.assessment_schema import AssessmentRow
from thecal.store.schema import AuditRow
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary


def test_assessment_round_trip_close_and_audit(
    uow: SqlUnitOfWork, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, pump = cancer_patient(uow, clock, library, catalog)
    svc = assessments(uow, clock, catalog)
    record = svc.record(actor=NURSE, patient_id=patient.id, entry=SEED_003_CASE_2,
                        note="seen in clinic")  # fmt: skip
    (back,) = svc.assessments(patient_id=patient.id)
    assert back == record
    assert back.urgency == "within_24h" and back.device_id == pump.id
    assert "epidural-metastasis" in stored_result(back).codes("differential")
    with uow.reader() as repo:
        assert [r.id for r in repo.open_assessments(URGENT)] == [record.id]
        assert repo.open_assessments(("emergency",)) == []
    with pytest.raises(PermissionDenied):
        svc.close(actor=VIEWER, patient_id=patient.id, assessment_id=record.id)
    clock.now = datetime(2024, 1, 8, 12, 0)
    svc.close(actor=DOCTOR, patient_id=patient.id, assessment_id=record.id)
    with uow.reader() as repo:
        assert repo.open_assessments(URGENT) == []
        assert repo.get_assessment(record.id).closed_by == "paul"
    with uow.session() as s:
        rows = s.execute(select(AuditRow).where(AuditRow.entity == "assessment")).scalars()
        assert [(r.action, r.actor) for r in rows] == [("insert", "nina"), ("update", "paul")]
        assert s.execute(select(AssessmentRow)).scalar_one().closed_at == clock.now
    assert uow.verify_audit().ok
