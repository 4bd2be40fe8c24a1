"""Clinic alarms from the implant (thecal.clinic.alarms): raised once per device, alarm code and
time raised; acknowledged and resolved with who, when and why, audited; a viewer refused."""

from datetime import datetime

import pytest

from thecal.clinic.alarms import AlarmServices
from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.reconcile_interrogation import Reconcile
from thecal.units import InputError

from .conftest import DOCTOR, NURSE, VIEWER, FakeClock, morphine_plan, setup_patient
from .test_reconciliation import READ_AT, SETTINGS, program_json, status

LOW = {"name": "LOW_RESERVOIR", "critical": False, "raised_at": "2024-01-28T07:00:00",
       "acknowledged": False, "resolved": False}  # fmt: skip
STALL = {"name": "MOTOR_STALL", "critical": True, "raised_at": "2024-01-28T08:00:00",
         "acknowledged": False, "resolved": False}  # fmt: skip


@pytest.fixture
def setup(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog):  # type: ignore[no-untyped-def]
    p, _ = setup_patient(uow, clock, library, catalog)
    clock.now = READ_AT
    recon = Reconcile(library, catalog, SETTINGS)
    prog = program_json(morphine_plan(), library, catalog)

    def read(alarms: list[dict[str, object]]) -> None:
        record_interrogation(uow, clock, NURSE, p.id, "SN1",
                             status(prog, 12.0, READ_AT, alarms), [], recon)  # fmt: skip

    return p.id, read, AlarmServices(uow, clock)


def test_each_implant_alarm_becomes_one_clinic_alarm(setup, uow) -> None:  # type: ignore[no-untyped-def]
    pid, read, alarms = setup
    read([LOW, STALL])
    read([LOW, STALL])  # read again: the same two alarms, not four
    got = alarms.list().alarms
    assert [(a.code, a.level) for a in got] == [("LOW_RESERVOIR", "non-critical"),
                                                ("MOTOR_STALL", "critical")]  # fmt: skip
    assert got[0].raised_at == datetime(2024, 1, 28, 7, 0) and got[0].patient_id == pid
    assert "LOW_RESERVOIR" in got[0].message and got[0].device_id is not None
    # Raised again later on the pump: a new alarm.
    read([{**LOW, "raised_at": "2024-01-29T00:30:00"}])
    assert len(alarms.list().alarms) == 3


def test_acknowledge_then_resolve_with_who_when_why(setup, uow, clock) -> None:  # type: ignore[no-untyped-def]
    pid, read, alarms = setup
    read([LOW])
    alarm = alarms.list().alarms[0]
    clock.now = datetime(2024, 1, 29, 2, 0)
    acked = alarms.acknowledge(actor=NURSE, alarm_id=alarm.id)
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("nina", datetime(2024, 1, 29, 2, 0))
    clock.now = datetime(2024, 1, 29, 3, 0)
    again = alarms.acknowledge(actor=DOCTOR, alarm_id=alarm.id)  # the first one is kept
    assert again.acknowledged_by == "nina"
    done = alarms.resolve(actor=DOCTOR, alarm_id=alarm.id, why="  refilled today  ")
    assert (done.cleared_by, done.cleared_at, done.resolution) == (
        "paul",
        datetime(2024, 1, 29, 3, 0),
        "refilled today",
    )
    assert alarms.list().alarms == ()  # no open alarm left
    assert alarms.list(patient_id=pid).alarms == (done,)  # the patient's history keeps it
    with pytest.raises(NotFoundError):
        alarms.resolve(actor=DOCTOR, alarm_id=alarm.id, why="again")
    actions = [(e.actor, e.reason) for e in uow.state.audit if e.entity == "alarm"]
    assert ("nina", "alarm acknowledged") in actions and ("paul", "alarm resolved") in actions


def test_resolve_without_ack_acknowledges_too_and_needs_a_reason(setup) -> None:  # type: ignore[no-untyped-def]
    _, read, alarms = setup
    read([STALL])
    alarm = alarms.list().alarms[0]
    for why in ("", "   ", "x" * 2001):
        with pytest.raises(InputError) as e:
            alarms.resolve(actor=NURSE, alarm_id=alarm.id, why=why)
        assert e.value.field == "alarm.resolution"
    done = alarms.resolve(actor=NURSE, alarm_id=alarm.id, why="x" * 2000)  # the edge: allowed
    assert done.acknowledged_by == "nina" and done.acknowledged_at == done.cleared_at


def test_viewer_refused_and_unknown_alarm(setup) -> None:  # type: ignore[no-untyped-def]
    _, read, alarms = setup
    read([LOW])
    alarm = alarms.list().alarms[0]
    with pytest.raises(PermissionDenied):
        alarms.acknowledge(actor=VIEWER, alarm_id=alarm.id)
    with pytest.raises(PermissionDenied):
        alarms.resolve(actor=VIEWER, alarm_id=alarm.id, why="no")
    with pytest.raises(NotFoundError):
        alarms.acknowledge(actor=NURSE, alarm_id="nope")
    with pytest.raises(NotFoundError):
        alarms.list(patient_id="nope")
