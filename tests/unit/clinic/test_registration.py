"""Registration (issue 13) on the memory store: checks naming the field, edges of every bound,
roles, audit, all-or-nothing procedures, search and paging."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.clinic.errors import ConcurrentEditError, LifecycleError, PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import ComplicationCode, DeviceKind, ProcedureKind
from thecal.clinic.registration import Diagnosis, DiagnosisCode, PocketSide, Sex, tip_level
from thecal.clinic.registration_services import LeadInput
from thecal.units import InputError

from .conftest import DOCTOR, NURSE, VIEWER
from .registration_fixtures import NOW, raw_catheter, raw_patient, raw_pump, services
from .stim_fixtures import program


@pytest.fixture
def svc(uow: MemoryUnitOfWork, library, catalog):  # type: ignore[no-untyped-def]
    return services(uow, library, catalog)


def test_register_patient_stores_details_and_audits(svc, uow: MemoryUnitOfWork) -> None:
    reg = svc.registration
    made = reg.register(actor=NURSE, entry=reg.patient_input(raw_patient()))
    got = reg.patient_file(patient_id=made.patient.id)
    assert got.patient.mrn == "R-100" and got.patient.birth_year == 1961
    assert got.details is not None
    assert got.details.sex is Sex.FEMALE and got.details.date_of_birth == date(1961, 5, 4)
    assert got.details.diagnoses == (
        Diagnosis(DiagnosisCode.SPINAL_METASTASES),
        Diagnosis(DiagnosisCode.CKD, "G3b"),
        Diagnosis(DiagnosisCode.DIABETES),
    )
    entries = [(a.actor, a.entity) for a in uow.state.audit]
    assert ("nina", "patient") in entries and ("nina", "patient_details") in entries


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("mrn", "  ", "patient.mrn"),
        ("mrn", "x" * 65, "patient.mrn"),  # 64 is the bound
        ("name", "", "patient.name"),
        ("name", "Ada\nLovelace", "patient.name"),
        ("date_of_birth", "2024-03-02", "patient.date_of_birth"),  # tomorrow
        ("date_of_birth", "04/05/1961", "patient.date_of_birth"),
        ("sex", "f", "patient.sex"),
        ("diagnoses", "ckd:G6", "patient.diagnoses[0]"),
        ("diagnoses", "ckd", "patient.diagnoses[0]"),
        ("diagnoses", "other", "patient.diagnoses[0]"),
        ("diagnoses", "spasticity:brain", "patient.diagnoses[0]"),
        ("diagnoses", "diabetes; diabetes", "patient.diagnoses[1]"),
        ("diagnoses", "diabetes:type 2", "patient.diagnoses[0]"),
        ("diagnoses", "gout", "patient.diagnoses[0]"),
    ],
)
def test_bad_patient_fields_name_the_field(svc, field: str, value: str, named: str) -> None:
    with pytest.raises(InputError) as e:
        svc.registration.patient_input(raw_patient(**{field: value}))
    assert e.value.field == named


def test_patient_bounds_at_the_edge_are_allowed(svc) -> None:
    entry = svc.registration.patient_input(
        raw_patient(mrn="x" * 64, date_of_birth="2024-03-01", diagnoses="other:a; other:b")
    )  # 64 characters and today (NOW's date) are both inside; OTHER may repeat
    assert len(entry.mrn) == 64 and entry.date_of_birth == NOW.date()


def test_viewer_is_refused_and_nothing_written(svc, uow: MemoryUnitOfWork) -> None:
    reg = svc.registration
    with pytest.raises(PermissionDenied):
        reg.register(actor=VIEWER, entry=reg.patient_input(raw_patient()))
    assert not uow.state.patients and not uow.state.audit


def test_duplicate_mrn_and_update_with_version(svc) -> None:
    reg = svc.registration
    a = reg.register(actor=DOCTOR, entry=reg.patient_input(raw_patient()))
    reg.register(actor=DOCTOR, entry=reg.patient_input(raw_patient(mrn="R-200")))
    with pytest.raises(InputError) as e:
        reg.register(actor=DOCTOR, entry=reg.patient_input(raw_patient(name="Other")))
    assert e.value.field == "patient.mrn"
    changed = reg.update(
        actor=NURSE,
        patient_id=a.patient.id,
        version=a.patient.version,
        entry=reg.patient_input(raw_patient(name="Ada B", diagnoses="dialysis")),
    )
    assert changed.patient.version == a.patient.version + 1
    assert reg.patient_file(patient_id=a.patient.id).details.diagnoses == (  # type: ignore[union-attr]
        Diagnosis(DiagnosisCode.DIALYSIS),
    )
    with pytest.raises(ConcurrentEditError):  # the version read before the edit is stale now
        reg.update(
            actor=NURSE,
            patient_id=a.patient.id,
            version=a.patient.version,
            entry=reg.patient_input(raw_patient(name="Lost")),
        )
    with pytest.raises(InputError) as e:  # another patient's MRN
        reg.update(
            actor=NURSE,
            patient_id=a.patient.id,
            version=changed.patient.version,
            entry=reg.patient_input(raw_patient(mrn="R-200")),
        )
    assert e.value.field == "patient.mrn"
    assert reg.patient_file(patient_id=a.patient.id).patient.display_name == "Ada B"


def test_search_is_case_insensitive_and_paged(svc) -> None:
    reg = svc.registration
    for i, name in enumerate(["Ada Smith", "Bob SMITHSON", "Cy Jones", "Di 100%_x"]):
        reg.register(actor=NURSE, entry=reg.patient_input(raw_patient(mrn=f"M-{i}", name=name)))
    assert [p.mrn for p in reg.search(query="smith").patients] == ["M-0", "M-1"]
    assert reg.search(query="m-2").patients[0].display_name == "Cy Jones"
    assert [p.mrn for p in reg.search(query="%_").patients] == ["M-3"]  # no wildcards
    page = reg.search(query="", limit=3, offset=3)
    assert page.total == 4 and [p.mrn for p in page.patients] == ["M-3"]
    assert len(reg.search(limit=500).patients) == 4  # 500 is the bound: allowed
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        with pytest.raises(InputError):
            reg.search(**bad)


def test_device_checks(svc) -> None:
    reg = svc.registration
    pump = reg.device_input(raw_pump())
    assert pump.model == "SynchroMed II 8637-20" and pump.pocket_side is PocketSide.LEFT
    cath = reg.device_input(raw_catheter())
    # 50 cm x 0.0026 mL/cm = 0.13 mL (Prometra catheter labelling)
    assert cath.tip_level == "T10" and cath.volume.m_as("mL") == pytest.approx(0.13)  # type: ignore[union-attr]
    full = reg.device_input(raw_catheter(length="110 cm"))  # the full length: allowed
    assert full.implanted_length.m_as("cm") == pytest.approx(110)  # type: ignore[union-attr]
    assert reg.device_input(raw_catheter(length="1100 mm")).implanted_length.m_as("cm") == (
        pytest.approx(110)  # same length in mm
    )
    bad = [
        (raw_catheter(length="110.01 cm"), "device.length"),
        (raw_catheter(length="0 cm"), "device.length"),
        (raw_catheter(length="50"), "device.length"),
        (raw_catheter(length="50 mL"), "device.length"),
        (raw_catheter(length="nan cm"), "device.length"),
        (raw_catheter(tip_level="T13"), "device.tip_level"),
        (raw_catheter(tip_level="C0"), "device.tip_level"),
        (raw_catheter(pocket_side="left"), "device.pocket_side"),
        (raw_pump(pocket_side=""), "device.pocket_side"),
        (raw_pump(model="Curlin 6000 CMS"), "device.model"),  # external, not implanted
        (raw_pump(model="Acme 1"), "device.model"),
        (raw_pump(kind="lead"), "device.kind"),
        (raw_pump(serial="S" * 65), "device.serial"),
    ]
    for raw, named in bad:
        with pytest.raises(InputError) as e:
            reg.device_input(raw)
        assert e.value.field == named, raw


@given(st.sampled_from("CTLS"), st.integers(min_value=-1, max_value=14))
def test_tip_level_pattern(region: str, n: int) -> None:
    top = {"C": 7, "T": 12, "L": 5, "S": 5}[region]
    if 1 <= n <= top:
        assert tip_level(f"{region.lower()}{n}") == f"{region}{n}"
    else:
        with pytest.raises(InputError):
            tip_level(f"{region}{n}")


def _patient(svc) -> str:  # type: ignore[no-untyped-def]
    reg = svc.registration
    return str(reg.register(actor=DOCTOR, entry=reg.patient_input(raw_patient())).patient.id)


def test_implant_replacement_explant_and_first_prescription(svc, uow, library) -> None:
    from .conftest import morphine_plan

    reg, pid = svc.registration, _patient(svc)
    on = date(2024, 1, 2)
    rec = reg.procedure(
        actor=DOCTOR,
        patient_id=pid,
        kind=ProcedureKind.IMPLANT,
        performed_on=on,
        placed=[reg.device_input(raw_pump()), reg.device_input(raw_catheter())],
    )
    pump, cath = rec.placed
    details = dict((d.id, x) for d, x in reg.patient_file(patient_id=pid).devices)
    assert details[pump.id].udi.startswith("(01)") and details[cath.id] is None  # type: ignore[union-attr]
    # The first prescription: the program workflow's first version (through the safety gate).
    out = svc.change_program(actor=DOCTOR, patient_id=pid, plan=morphine_plan(), reason="start")
    assert out.prescription.version == 1
    new = reg.device_input(raw_pump(serial="SN-10"))
    reg.procedure(
        actor=DOCTOR,
        patient_id=pid,
        kind=ProcedureKind.REPLACEMENT,
        performed_on=date(2024, 2, 1),
        placed=[new],
        removed=[pump.id],
    )
    devices = {d.id: d for d, _ in reg.patient_file(patient_id=pid).devices}
    assert devices[pump.id].removed_on == date(2024, 2, 1) and devices[new.id].in_place
    reg.procedure(
        actor=NURSE,
        patient_id=pid,
        kind=ProcedureKind.EXPLANT,
        performed_on=date(2024, 2, 2),
        removed=[new.id, cath.id],
    )
    f = reg.patient_file(patient_id=pid)
    assert not any(d.in_place for d, _ in f.devices)
    assert [p.kind for p in f.procedures] == [
        ProcedureKind.IMPLANT,
        ProcedureKind.REPLACEMENT,
        ProcedureKind.EXPLANT,
    ]


def test_refused_procedures_write_nothing(svc, uow: MemoryUnitOfWork) -> None:
    reg, pid = svc.registration, _patient(svc)
    pump = reg.device_input(raw_pump())
    reg.procedure(
        actor=DOCTOR,
        patient_id=pid,
        kind=ProcedureKind.IMPLANT,
        performed_on=date(2024, 1, 2),
        placed=[pump],
    )
    before = len(uow.state.audit)
    with pytest.raises(LifecycleError):  # a second pump in place
        reg.procedure(
            actor=DOCTOR,
            patient_id=pid,
            kind=ProcedureKind.IMPLANT,
            performed_on=date(2024, 1, 3),
            placed=[reg.device_input(raw_pump())],
        )
    with pytest.raises(LifecycleError):  # in the future
        reg.procedure(
            actor=DOCTOR,
            patient_id=pid,
            kind=ProcedureKind.EXPLANT,
            performed_on=date(2024, 3, 2),
            removed=[pump.id],
        )
    with pytest.raises(PermissionDenied):
        reg.procedure(
            actor=VIEWER,
            patient_id=pid,
            kind=ProcedureKind.EXPLANT,
            performed_on=date(2024, 3, 1),
            removed=[pump.id],
        )
    assert len(uow.state.audit) == before


def test_stimulator_with_leads_in_one_transaction(svc, uow: MemoryUnitOfWork) -> None:
    reg, pid = svc.registration, _patient(svc)
    ipg = reg.device_input({"kind": "stimulator", "model": "opennerve ipg", "pocket_side": "right"})
    assert ipg.kind is DeviceKind.STIMULATOR and ipg.model == "OpenNerve IPG"
    bad = [LeadInput("L1", "Medtronic 3387"), LeadInput("L1", "Medtronic 3387")]
    with pytest.raises(InputError) as e:
        reg.procedure(
            actor=DOCTOR,
            patient_id=pid,
            kind=ProcedureKind.IMPLANT,
            performed_on=date(2024, 1, 2),
            placed=[ipg],
            leads=bad,
        )
    assert e.value.field == "leads[1].name"
    assert not reg.patient_file(patient_id=pid).devices
    rec = reg.procedure(
        actor=DOCTOR,
        patient_id=pid,
        kind=ProcedureKind.IMPLANT,
        performed_on=date(2024, 1, 2),
        placed=[ipg],
        leads=[LeadInput("L1", "Medtronic 3387", "T8-T10")],
    )
    assert [x.name for x in reg.patient_file(patient_id=pid).leads] == ["L1"]
    # The program workflow finds the lead placed with the IPG.
    svc.add_stimulator_program(
        actor=DOCTOR, patient_id=pid, device_id=rec.placed[0].id, program=program(), reason="first"
    )


def test_complication(svc) -> None:
    reg, pid = svc.registration, _patient(svc)
    c = reg.complication(
        actor=NURSE, patient_id=pid, code=ComplicationCode.SEROMA, occurred_on=NOW.date()
    )
    assert reg.patient_file(patient_id=pid).complications == (c,)
    with pytest.raises(InputError) as e:
        reg.complication(
            actor=NURSE, patient_id=pid, code=ComplicationCode.OTHER, occurred_on=NOW.date()
        )
    assert e.value.field == "complication.notes"
    with pytest.raises(InputError) as e:
        reg.complication(
            actor=NURSE, patient_id=pid, code=ComplicationCode.SEROMA, occurred_on=date(2024, 3, 2)
        )
    assert e.value.field == "complication.occurred_on"
    with pytest.raises(PermissionDenied):
        reg.complication(
            actor=VIEWER, patient_id=pid, code=ComplicationCode.SEROMA, occurred_on=NOW.date()
        )
