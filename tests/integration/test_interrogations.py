"""Stored interrogations read back from the database (SQLite and PostgreSQL): every field
survives, a patient's history is oldest first and only theirs, an unknown id is NotFoundError."""

from datetime import datetime

import pytest

from tests.unit.clinic.conftest import NURSE, FakeClock, setup_patient
from tests.unit.clinic.test_interrogation_history import LOG, LOW, status
from thecal.clinic.errors import NotFoundError
from thecal.clinic.interrogation import read_snapshot, record_interrogation
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_


def test_interrogations_roundtrip_in_order(uow: SqlUnitOfWork, library, catalog) -> None:
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, pump = setup_patient(uow, clock, library, catalog)
    other, _ = setup_patient(uow, clock, library, catalog, mrn="P-002")
    clock.now = datetime(2024, 3, 9, 9, 30)  # stored first, read later: order is by time
    later = record_interrogation(uow, clock, NURSE, patient.id, "SN1",
                                 status("SN1", 1.5, [LOW]), LOG)  # fmt: skip
    clock.now = datetime(2024, 3, 2, 9, 0)
    earlier = record_interrogation(uow, clock, NURSE, patient.id, "SN1",
                                   status("SN1", 3.0, []), [])  # fmt: skip
    with uow.reader() as repo:
        assert list(repo.interrogations_for(patient.id)) == [earlier, later]  # all fields
        assert list(repo.interrogations_for(other.id)) == []
        got = repo.get_interrogation(later.id)
        with pytest.raises(NotFoundError, match="no interrogation"):
            repo.get_interrogation("no-such-id")
    assert got == later and got.device_id == pump.id and got.by == "nina"
    assert got.log == LOG and got.status["alarms"] == [LOW]
    assert read_snapshot(got).reservoir_estimate == Q_(1.5, "mL")
    assert uow.verify_audit().ok
