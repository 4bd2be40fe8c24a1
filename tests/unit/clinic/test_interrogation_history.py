"""Stored interrogations read back from the in-memory repository, and a stored snapshot read
for display (:func:`read_snapshot`)."""

from datetime import datetime
from typing import Any

import pytest

from thecal.clinic.errors import NotFoundError
from thecal.clinic.interrogation import read_snapshot, record_interrogation
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.units import Q_

from .conftest import NURSE, FakeClock, setup_patient


def status(serial: str, reservoir_ml: float, alarms: list[dict[str, Any]]) -> dict[str, Any]:
    """A status in the shape the programmer stores (programmer.commands.status_to_json)."""
    return {
        "serial": serial, "model": "SynchroMed II 8637-20",
        "device_time": "2024-03-02T09:01:00", "sim_time": "2024-03-02T09:00:00",
        "delivering": not alarms, "holds": ["alarm"] if alarms else [], "program": None,
        "reservoir_estimate": {"value": reservoir_ml, "unit": "mL"},
        "low_reservoir_threshold": {"value": 2.0, "unit": "mL"},
        "delivered_total": {"value": 18.0, "unit": "mL"}, "alarms": alarms,
        "eri_at": None, "eos_at": "2031-01-02T09:00:00", "patient_boluses_last_24h": 0,
        "last_seq": 3,
    }  # fmt: skip


LOW = {"condition": 1, "name": "LOW_RESERVOIR", "priority": 2, "critical": False,
       "raised_at": "2024-03-01T07:00:00", "acknowledged": False, "resolved": False,
       "repeats": 1, "tone": None}  # fmt: skip
LOG = (
    {"seq": 2, "kind": "refill recorded", "at": "2024-01-02T09:00:00", "message": "refill",
     "values": [["expected_before", 0.5, "milliliter"]], "alarm": None},
    {"seq": 3, "kind": "alarm raised", "at": "2024-03-01T07:00:00", "message": "low reservoir",
     "values": [], "alarm": "LOW_RESERVOIR"},
)  # fmt: skip


def test_history_oldest_first_per_patient_and_by_id(uow: MemoryUnitOfWork, clock: FakeClock,
                                                    library, catalog) -> None:  # fmt: skip
    patient, pump = setup_patient(uow, clock, library, catalog)
    other, _ = setup_patient(uow, clock, library, catalog, mrn="P-002")
    clock.now = datetime(2024, 3, 2, 9, 0)
    first = record_interrogation(uow, clock, NURSE, patient.id, "SN1", status("SN1", 3.0, []), [])
    clock.now = datetime(2024, 3, 9, 9, 0)
    second = record_interrogation(uow, clock, NURSE, patient.id, "SN1",
                                  status("SN1", 1.5, [LOW]), LOG)  # fmt: skip
    with uow.reader() as repo:
        assert [i.id for i in repo.interrogations_for(patient.id)] == [first.id, second.id]
        assert repo.interrogations_for(other.id) == []
        got = repo.get_interrogation(second.id)
        assert got == second and got.device_id == pump.id and got.log == LOG
        with pytest.raises(NotFoundError, match="no interrogation 'nope'") as exc:
            repo.get_interrogation("nope")
        assert exc.value.field == "interrogation.id"


def test_read_snapshot_gives_times_quantities_alarms_and_events(uow, clock, library,
                                                                catalog) -> None:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    stored = record_interrogation(uow, clock, NURSE, patient.id, "SN1",
                                  status("SN1", 1.5, [LOW]), LOG)  # fmt: skip
    v = read_snapshot(stored)
    assert v.serial == "SN1" and v.device_time == datetime(2024, 3, 2, 9, 1)
    assert v.reservoir_estimate == Q_(1.5, "mL") and v.delivered_total == Q_(18.0, "mL")
    assert v.eri_at is None and v.eos_at == datetime(2031, 1, 2, 9, 0) and v.last_seq == 3
    assert [a.name for a in v.active_alarms] == ["LOW_RESERVOIR"]
    assert v.alarms[0].raised_at == datetime(2024, 3, 1, 7, 0) and not v.alarms[0].critical
    assert v.state == "not delivering (alarm)"
    assert v.summary == "reservoir 1.5 mL; not delivering (alarm); alarms: LOW_RESERVOIR"
    assert [(e.seq, e.kind, e.alarm) for e in v.events] == [
        (2, "refill recorded", None), (3, "alarm raised", "LOW_RESERVOIR")]  # fmt: skip
    assert v.events[0].values == ("expected_before 0.5 mL",)
    assert v.events[1].at == datetime(2024, 3, 1, 7, 0)


def test_read_snapshot_tolerates_a_partial_or_odd_snapshot(uow, clock, library,
                                                           catalog) -> None:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    odd = {"serial": "SN1", "reservoir_estimate": {"value": "x", "unit": "mL"},
           "device_time": "yesterday", "alarms": [{"condition": 7}], "holds": "?"}  # fmt: skip
    log = (
        {
            "kind": "reset",
            "values": [["n", 1, "no-such-unit"], ["m", 2, "milliliter/"]],
            "seq": True,
        },
    )
    stored = record_interrogation(uow, clock, NURSE, patient.id, "SN1", odd, log)
    v = read_snapshot(stored)
    assert v.reservoir_estimate is None and v.device_time is None and v.holds == ()
    assert v.state == "unknown" and v.alarms[0].name == "7"
    assert v.summary == "reservoir —; unknown; alarms: 7"
    (e,) = v.events
    assert (
        e.seq is None
        and e.at is None
        and e.kind == "reset"
        and e.values == ("n 1 no-such-unit", "m 2 milliliter/")
    )
