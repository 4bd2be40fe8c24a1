"""Stimulator services on the in-memory store: program versions through the stimulation gate
(hard refuses, soft needs a reason, nurse bounds, viewer), impedance sets, battery readings and
the summary."""

from datetime import timedelta
from typing import Any

import pytest

from thecal.adapters.composition import clinic_settings
from thecal.clinic.authorization import OutsidePrescription
from thecal.clinic.errors import ConcurrentEditError, NotFoundError, PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.services import ClinicServices
from thecal.clinic.stimulator_model import ContactImpedance, MeasurementSource
from thecal.therapy.findings import Code, OverrideError
from thecal.units import Q_, InputError

from .conftest import DOCTOR, NURSE, VIEWER, FakeClock
from .stim_fixtures import CTX, program, stim_patient


@pytest.fixture
def svc(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> ClinicServices[Any]:
    return ClinicServices(uow=uow, clock=clock, library=library, catalog=catalog,
                          settings=clinic_settings(), stimulation=CTX)  # fmt: skip


def test_program_versions_are_numbered_and_audited(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    v1 = svc.add_stimulator_program(actor=DOCTOR, patient_id=p.id, device_id=ipg.id,
                                    program=program(), reason="first program")  # fmt: skip
    v2 = svc.add_stimulator_program(actor=DOCTOR, patient_id=p.id, device_id=ipg.id,
                                    program=program("4 mA"), reason="lower")  # fmt: skip
    assert (v1.version, v2.version) == (1, 2)
    assert v2.program().areas[0].amplitude == "4 mA"
    audited = [(a.entity, a.reason) for a in uow.state.audit if a.entity == "stim_program"]
    assert audited == [("stim_program", "first program"), ("stim_program", "lower")]
    (s,) = svc.stimulator_summary(patient_id=p.id)
    assert [x.version for x in s.programs] == [1, 2] and s.check is not None
    # 4 mA x 300 us = 1.2 uC on pi x 0.13 cm x 0.3 cm = 0.12252 cm2: 9.794 uC/cm2
    # (k = log10 9.794 + log10 1.2 = 0.991 + 0.079 = 1.07).
    (c, _) = s.check.areas[0].programmed
    assert round(float(c.density.to("uC/cm**2").magnitude), 3) == 9.794 and round(c.k, 2) == 1.07
    assert [lead.name for lead in s.leads] == ["L1"]


def test_hard_finding_refuses_and_soft_needs_a_reason(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    # 6 mA is above the OpenNerve IPG's 5.0 mA maximum: hard.
    with pytest.raises(OverrideError, match="STIM-AMPLITUDE-RANGE"):
        svc.add_stimulator_program(
            actor=DOCTOR,
            patient_id=p.id,
            device_id=ipg.id,
            program=program("6 mA", patient_max="6 mA"),
            reason="x",
        )
    # 5 mA through 800 ohm needs 4 V; with 3 V available it is compliance-limited: soft.
    limited = program(extra_ipg={"available_voltage": "3 V"})
    with pytest.raises(OverrideError, match="STIM-COMPLIANCE"):
        svc.add_stimulator_program(actor=DOCTOR, patient_id=p.id, device_id=ipg.id,
                                   program=limited, reason="x")  # fmt: skip
    v = svc.add_stimulator_program(
        actor=DOCTOR,
        patient_id=p.id,
        device_id=ipg.id,
        program=limited,
        reason="trial",
        overrides={"STIM-COMPLIANCE": "impedance re-measured"},
    )
    assert v.overrides == (("STIM-COMPLIANCE", "impedance re-measured"),)
    assert Code.STIM_VOLTAGE_COMPLIANCE.value in {f.code for f in v.findings}
    with svc.uow.reader() as repo:
        assert len(repo.stim_programs_for(ipg.id)) == 1  # the refused ones left nothing


def test_roles(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    with pytest.raises(PermissionDenied):
        svc.add_stimulator_program(actor=VIEWER, patient_id=p.id, device_id=ipg.id,
                                   program=program(), reason="x")  # fmt: skip
    with pytest.raises(OutsidePrescription, match="no current"):
        svc.add_stimulator_program(actor=NURSE, patient_id=p.id, device_id=ipg.id,
                                   program=program(), reason="x")  # fmt: skip
    svc.add_stimulator_program(
        actor=DOCTOR,
        patient_id=p.id,
        device_id=ipg.id,
        program=program("4 mA", patient_max="4.5 mA"),
        reason="x",
    )
    # A nurse may lower the amplitude, or keep it (equal is within) ...
    svc.add_stimulator_program(
        actor=NURSE,
        patient_id=p.id,
        device_id=ipg.id,
        program=program("4 mA", patient_max="4.5 mA"),
        reason="same",
    )
    svc.add_stimulator_program(
        actor=NURSE,
        patient_id=p.id,
        device_id=ipg.id,
        program=program("3.5 mA", patient_max="4.5 mA"),
        reason="lower",
    )
    # ... but not raise the top of the patient's range, nor change anything else.
    with pytest.raises(OutsidePrescription, match="top of the patient's range"):
        svc.add_stimulator_program(
            actor=NURSE,
            patient_id=p.id,
            device_id=ipg.id,
            program=program("3.5 mA", patient_max="4.6 mA"),
            reason="x",
        )
    with pytest.raises(OutsidePrescription, match="only amplitudes"):
        svc.add_stimulator_program(actor=NURSE, patient_id=p.id, device_id=ipg.id,
                                   program=program("3.5 mA", {"available_voltage": "9 V"},
                                                   "4.5 mA"), reason="x")  # fmt: skip
    with pytest.raises(PermissionDenied):
        svc.record_impedance_set(actor=VIEWER, patient_id=p.id, device_id=ipg.id,
                                 values=[ContactImpedance("L1:0", Q_(800, "ohm"))],
                                 source=MeasurementSource.MANUAL)  # fmt: skip


def test_wrong_device_or_model(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock, model="Proclaim XR")
    with pytest.raises(InputError) as err:
        svc.add_stimulator_program(actor=DOCTOR, patient_id=p.id, device_id=ipg.id,
                                   program=program(), reason="x")  # fmt: skip
    assert err.value.field == "program.ipg.model"
    with pytest.raises(NotFoundError):
        svc.stimulator_summary(patient_id="nobody")
    with pytest.raises(NotFoundError):
        svc.record_impedance_set(actor=DOCTOR, patient_id=p.id, device_id="nope",
                                 values=[ContactImpedance("c", Q_(1, "ohm"))],
                                 source=MeasurementSource.MANUAL)  # fmt: skip


def test_impedances_and_battery_feed_the_summary(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    start = clock() - timedelta(days=400)
    for i, ohm in enumerate((800.0, 820.0, 1400.0)):
        svc.record_impedance_set(actor=NURSE, patient_id=p.id, device_id=ipg.id,
                                 values=[ContactImpedance("L1:1", Q_(ohm, "ohm")),
                                         ContactImpedance("L1:2", Q_(300, "ohm"))],
                                 source=MeasurementSource.INTERROGATION,
                                 at=start + timedelta(days=180 * i))  # fmt: skip
    svc.record_battery_reading(actor=NURSE, patient_id=p.id, device_id=ipg.id,
                               source=MeasurementSource.MANUAL, percent=Q_(80, "%"),
                               recharge=True, recharge_duration=Q_(2, "h"))  # fmt: skip
    (s,) = svc.stimulator_summary(patient_id=p.id)
    codes = {f.code for f in s.findings}
    # L1:1: 1400 vs the lowest earlier mean 800 (+75 %, above 30 %): rising. L1:2: 300 ohm is
    # below the OpenNerve short threshold 450 ohm: short.
    assert Code.STIM_IMPEDANCE_RISING in codes and Code.STIM_IMPEDANCE_SHORT in codes
    assert s.battery.recharges == 1 and len(s.impedances) == 3


def test_measurement_inputs_are_checked(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    kw: dict[str, Any] = {"actor": NURSE, "patient_id": p.id, "device_id": ipg.id,
                          "source": MeasurementSource.MANUAL}  # fmt: skip
    bad = [
        ({"values": []}, "impedances.values"),
        ({"values": [ContactImpedance("c", Q_(0, "ohm"))]}, "impedances.values[0].impedance"),
        ({"values": [ContactImpedance("c", Q_(1, "ohm"))] * 2}, "impedances.values[1].contact"),
        ({"values": [ContactImpedance("c", Q_(1, "ohm"))],
          "at": clock() + timedelta(minutes=1)}, "impedances.at"),
    ]  # fmt: skip
    for extra, field in bad:
        with pytest.raises(InputError) as err:
            svc.record_impedance_set(**kw, **extra)
        assert err.value.field == field
    for extra, field in [({}, "battery.voltage"), ({"percent": Q_(101, "%")}, "battery.percent"),
                         ({"voltage": Q_(0, "V")}, "battery.voltage")]:  # fmt: skip
        with pytest.raises(InputError) as err:
            svc.record_battery_reading(**kw, **extra)
        assert err.value.field == field
    with pytest.raises(ConcurrentEditError):
        svc.record_battery_reading(**kw, voltage=Q_(3.1, "V"), patient_version=p.version - 1)


def test_leads(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    kw: dict[str, Any] = {"actor": DOCTOR, "patient_id": p.id, "device_id": ipg.id,
                          "implanted_on": clock().date()}  # fmt: skip
    lead = svc.add_stimulator_lead(**kw, name=" L2 ", model="Octrode", position=" T9 left ")
    assert (lead.name, lead.position) == ("L2", "T9 left")
    bad = [({"name": "case", "model": "Octrode"}, "lead.name"),
           ({"name": "L1", "model": "Octrode"}, "lead.name"),  # taken (stim_patient's L1)
           ({"name": "L3", "model": "Nope"}, "lead.model"),
           ({"name": "L3", "model": "Octrode",
             "implanted_on": clock().date() + timedelta(days=1)}, "lead.implanted_on")]  # fmt: skip
    for extra, field in bad:
        with pytest.raises(InputError) as err:
            svc.add_stimulator_lead(**{**kw, **extra})
        assert err.value.field == field
    with pytest.raises(PermissionDenied):
        svc.add_stimulator_lead(**{**kw, "actor": VIEWER}, name="L4", model="Octrode")
    (s,) = svc.stimulator_summary(patient_id=p.id)
    assert [x.name for x in s.leads] == ["L1", "L2"]
