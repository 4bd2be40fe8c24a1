"""The audit viewer's query pushed down to SQLite and PostgreSQL: the same scenario and
filters as on the memory store (tests/unit/clinic/test_audit_view.py), plus what only the
database keeps: the record as written, so an update's summary names the fields it changed,
and a patient id that is a LIKE wildcard matches nothing else."""

from datetime import datetime

from tests.unit.clinic.conftest import NURSE
from tests.unit.clinic.test_audit_view import check_scenario, scenario
from thecal.clinic.audit_view import AuditFilters, AuditQuery, read_audit
from thecal.devices.catalog import DeviceCatalog
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary


def test_filters_in_sql(uow: SqlUnitOfWork, library: DrugLibrary, catalog: DeviceCatalog) -> None:
    check_scenario(uow, library, catalog)
    assert uow.verify_audit().ok  # reading never touches the chain


def test_update_summary_and_patient_match_in_sql(
    uow: SqlUnitOfWork, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    a, b = scenario(uow, library, catalog)
    lines = read_audit(uow, actor=NURSE, filters=AuditFilters(patient=b), page=1).lines
    update, insert = lines
    assert update.summary.startswith("display_name: Synthetic B → Synthetic Bee")
    assert insert.summary.startswith("insert: ")
    with uow.reader() as repo:
        # "%" and "_" in an id are literal, not LIKE wildcards.
        assert repo.audit_entries(AuditQuery(patient_id="%"), 10, 0) == []
        assert repo.audit_entries(AuditQuery(patient_id=a[:-1] + "_"), 10, 0) == []
        # offset and limit are applied in the database, newest first.
        every = repo.audit_entries(AuditQuery(), 1000, 0)
        assert repo.audit_entries(AuditQuery(), 2, 1) == every[1:3]
        assert every[0].at == datetime(2024, 1, 4)
