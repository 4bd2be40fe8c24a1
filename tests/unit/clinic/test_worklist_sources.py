"""The worklist gathers, most severe first: open alarms (those read from implants included),
the hard reconciliation findings of each patient's latest interrogation (an implant alarm not
repeated: it is an open alarm already), and each stimulator's findings with their level."""

from datetime import timedelta
from typing import Any

import pytest

from thecal.adapters.composition import clinic_settings
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.services import ClinicServices
from thecal.clinic.stimulator_model import ContactImpedance, MeasurementSource
from thecal.units import Q_

from .conftest import NURSE, FakeClock, morphine_plan, setup_patient
from .stim_fixtures import CTX, stim_patient
from .test_reconciliation import READ_AT, program_json, status

STALL = {"name": "MOTOR_STALL", "critical": True, "raised_at": "2024-01-28T08:00:00",
         "acknowledged": False, "resolved": False}  # fmt: skip


@pytest.fixture
def svc(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> ClinicServices[Any]:
    return ClinicServices(uow=uow, clock=clock, library=library, catalog=catalog,
                          settings=clinic_settings(), stimulation=CTX)  # fmt: skip


def test_alarms_reconciliation_and_stimulators(svc, uow, clock, library, catalog) -> None:
    pump_patient, _ = setup_patient(uow, clock, library, catalog)
    scs_patient, ipg = stim_patient(uow, clock)
    clock.now = READ_AT
    # L1:2 at 300 ohm is below the OpenNerve short threshold (450 ohm): a hard stimulator
    # finding; L1:1 rising 800 -> 1400 ohm (+75 %, above 30 %): a soft one.
    for i, ohm in enumerate((800.0, 820.0, 1400.0)):
        svc.record_impedance_set(actor=NURSE, patient_id=scs_patient.id, device_id=ipg.id,
                                 values=[ContactImpedance("L1:1", Q_(ohm, "ohm")),
                                         ContactImpedance("L1:2", Q_(300, "ohm"))],
                                 source=MeasurementSource.INTERROGATION,
                                 at=READ_AT - timedelta(days=360 - 180 * i))  # fmt: skip
    # The pump: its clock 2.7 years behind (hard), a critical motor stall (an alarm), and the
    # record's program and expected 12 mL otherwise.
    snap = status(program_json(morphine_plan(), library, catalog), 12.0,
                  READ_AT - timedelta(days=986), [STALL])  # fmt: skip
    svc.import_interrogation(actor=NURSE, patient_id=pump_patient.id, serial="SN1",
                             status=snap, log=[])  # fmt: skip
    items = svc.worklist()
    got = [(i.kind, i.level, i.code) for i in items]
    assert got[0] == ("alarm", "critical", "MOTOR_STALL")
    assert ("reconciliation", "hard", "RECON-CLOCK-DRIFT") in got
    assert ("stimulator-finding", "hard", "STIM-IMPEDANCE-SHORT") in got
    assert ("stimulator-finding", "soft", "STIM-IMPEDANCE-RISING") in got
    assert not any(i.kind == "reconciliation" and i.code == "IMPLANT-ALARM" for i in items)
    ranks = [{"critical": 0, "hard": 1, "overdue": 2, "non-critical": 3, "soft": 4}[i.level]
             for i in items]  # fmt: skip
    assert ranks == sorted(ranks)  # most severe first
    recon = next(i for i in items if i.kind == "reconciliation")
    assert recon.patient_id == pump_patient.id and recon.since == READ_AT
    stim = next(i for i in items if i.kind == "stimulator-finding")
    assert stim.ref_id == ipg.id and stim.since == READ_AT


def test_only_the_latest_interrogation_counts(svc, uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    prog = program_json(morphine_plan(), library, catalog)
    clock.now = READ_AT
    drifted = status(prog, 12.0, READ_AT - timedelta(days=986))
    svc.import_interrogation(actor=NURSE, patient_id=patient.id, serial="SN1", status=drifted,
                             log=[])  # fmt: skip
    assert [i.code for i in svc.worklist() if i.kind == "reconciliation"] == ["RECON-CLOCK-DRIFT"]
    clock.now = READ_AT + timedelta(hours=1)  # clock set: read again, the drift is gone
    # 1 h more at 0.3 mL/d = 0.0125 mL: 12 - 0.0125 = 11.9875 mL expected.
    svc.import_interrogation(actor=NURSE, patient_id=patient.id, serial="SN1",
                             status=status(prog, 11.9875, clock.now), log=[])  # fmt: skip
    assert [i for i in svc.worklist() if i.kind == "reconciliation"] == []
