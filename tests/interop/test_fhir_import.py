"""FHIR import: export → import into a fresh clinic → export gives the same resources for
every demo patient (the imported types; ids are kept, so no mapping is needed), one audited
transaction, and refusals that name the resource and element and write nothing."""

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.interop.conftest import Clinic
from thecal.adapters.composition import stimulator_context
from thecal.clinic.audit_view import AuditQuery
from thecal.clinic.errors import LifecycleError, PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Role, User
from thecal.interop.fhir_export import export_patient
from thecal.interop.fhir_import import Catalogs, ImportResult, import_bundle
from thecal.units import InputError

MRNS = ("SEED-000", "SEED-001", "SEED-003-1", "SEED-003-2", "DEMO-0001", "DEMO-0002")
DOCTOR = User("importer", "Dr Importer (synthetic)", Role.PHYSICIAN)
NOW = datetime(2026, 11, 23, 12, 0)


def export(clinic: Clinic, uow: Any, patient_id: str) -> dict[str, Any]:
    return export_patient(uow, patient_id=patient_id, library=clinic.library,
                          catalog=clinic.catalog, zone=UTC)  # fmt: skip


def fresh() -> MemoryUnitOfWork:
    uow = MemoryUnitOfWork()
    with uow.transaction("setup", datetime(2026, 1, 1), "users") as repo:
        repo.add_user(DOCTOR)
    return uow


def load(clinic: Clinic, uow: MemoryUnitOfWork, bundle: Any, actor: User = DOCTOR,
         without_history: bool = True) -> ImportResult:  # fmt: skip
    cats = Catalogs(clinic.library, clinic.catalog, stimulator_context())
    return import_bundle(uow, lambda: NOW, actor, bundle, cats=cats, source="p.json", zone=UTC,
                         without_history=without_history)  # fmt: skip


def imported_kinds(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources the import takes (a refill Procedure is history)."""
    out = []
    for e in bundle["entry"]:
        r = e["resource"]
        kind = r["resourceType"]
        refill = kind == "Procedure" and r["code"]["coding"][0]["code"] in {
            "refill",
            "program-change",
        }
        if kind in {"Patient", "Condition", "Device", "DeviceUseStatement", "Procedure",
                    "MedicationRequest"} and not refill:  # fmt: skip
            out.append(r)
    return out


def patient_count(uow: MemoryUnitOfWork) -> int:
    with uow.reader() as repo:
        return len(repo.list_patients())


@pytest.mark.parametrize("mrn", MRNS)
def test_round_trip_gives_the_same_resources(clinic: Clinic, mrn: str) -> None:
    first = export(clinic, clinic.uow, clinic.ids[mrn])
    uow = fresh()
    result = load(clinic, uow, first)
    assert result.patient.mrn == mrn
    second = export(clinic, uow, result.patient.id)
    assert imported_kinds(second) == imported_kinds(first)
    # What was left out is counted, by type: every history resource of the first export.
    history = len(first["entry"]) - len(imported_kinds(first))
    assert sum(result.left_out.values()) == history


def test_one_audited_transaction_as_the_physician(clinic: Clinic) -> None:
    uow = fresh()
    result = load(clinic, uow, export(clinic, clinic.uow, clinic.ids["SEED-000"]))
    with uow.reader() as repo:
        rows = repo.audit_entries(AuditQuery(who="importer"), 1000, 0)
    assert rows and {r.reason for r in rows} == {"FHIR import of p.json"}
    assert {r.at for r in rows} == {NOW}
    assert "patient" in {r.entity for r in rows}
    assert result.taken["Device"] == 7


def test_history_of_an_unknown_kind_is_refused_unless_left_out(clinic: Clinic) -> None:
    bundle = export(clinic, clinic.uow, clinic.ids["DEMO-0001"])
    flag = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Flag")
    ext = flag["extension"][0]
    ext["valueString"] = ext["valueString"].replace('"kind":"alarm"', '"kind":"future-kind"')
    uow = fresh()
    with pytest.raises(InputError) as e:
        load(clinic, uow, bundle, without_history=False)
    assert e.value.field == f"Flag/{flag['id']}.extension(record-json).kind"
    assert "--without-history" in (e.value.expected or "")
    assert patient_count(uow) == 0
    assert load(clinic, uow, bundle).left_out["Flag"] == 1


@pytest.mark.parametrize("role", [Role.NURSE, Role.VIEWER])
def test_only_a_physician_imports(clinic: Clinic, role: Role) -> None:
    with pytest.raises(PermissionDenied):
        load(clinic, fresh(), export(clinic, clinic.uow, clinic.ids["DEMO-0001"]),
             User("x", "X", role))  # fmt: skip


def _edited(clinic: Clinic, mrn: str, kind: str, edit: Any) -> dict[str, Any]:
    bundle = copy.deepcopy(export(clinic, clinic.uow, clinic.ids[mrn]))
    target = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)
    edit(target)
    return bundle


def _refused(clinic: Clinic, bundle: Any) -> InputError:
    uow = fresh()
    with pytest.raises(InputError) as e:
        load(clinic, uow, bundle)
    assert patient_count(uow) == 0  # nothing half-written
    return e.value


def test_refusals_name_the_resource_and_element(clinic: Clinic) -> None:
    def model(r: dict[str, Any]) -> None:
        r["modelNumber"] = "Pump 3000 (unknown)"

    err = _refused(clinic, _edited(clinic, "DEMO-0001", "Device", model))
    assert err.field.startswith("Device/") and err.field.endswith(".modelNumber")

    def status(r: dict[str, Any]) -> None:
        r["status"] = 5

    err = _refused(clinic, _edited(clinic, "DEMO-0001", "Device", status))
    assert err.field.endswith(".status")

    def unit(r: dict[str, Any]) -> None:
        length = next(p for p in r["property"] if p["type"]["coding"][0]["code"] ==
                      "implanted-length")  # fmt: skip
        length["valueQuantity"][0].update(code="furlong", unit="furlong")

    bundle = _edited(clinic, "SEED-000", "Patient", lambda r: None)
    catheter = next(e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Device"
                    and e["resource"]["type"]["coding"][0]["code"] == "catheter"
                    and "property" in e["resource"])  # fmt: skip
    unit(catheter)
    err = _refused(clinic, bundle)
    assert err.field.startswith(f"Device/{catheter['id']}.property[")

    def plan(r: dict[str, Any]) -> None:
        r["extension"] = []

    err = _refused(clinic, _edited(clinic, "DEMO-0001", "MedicationRequest", plan))
    assert err.field.endswith(".extension") and "plan" in err.message

    bundle = copy.deepcopy(export(clinic, clinic.uow, clinic.ids["DEMO-0001"]))
    bundle["entry"].append({"resource": {"resourceType": "Encounter", "id": "e1"}})
    err = _refused(clinic, bundle)
    assert err.field == "Encounter/e1.resourceType"

    err = _refused(clinic, {"resourceType": "Patient", "id": "p"})
    assert err.field == "Bundle.resourceType"


def test_a_late_refusal_inside_the_transaction_writes_nothing(clinic: Clinic) -> None:
    # The replacement dated before the removed pump's implant: the lifecycle check fails
    # after the patient was added in the same transaction, so the patient goes too.
    bundle = copy.deepcopy(export(clinic, clinic.uow, clinic.ids["SEED-000"]))
    for e in bundle["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Procedure" and r["code"]["coding"][0]["code"] == "replacement":
            r["performedDateTime"] = "1990-01-01"
    uow = fresh()
    with pytest.raises(LifecycleError):
        load(clinic, uow, bundle)
    assert patient_count(uow) == 0


def test_the_record_number_must_be_new(clinic: Clinic) -> None:
    bundle = export(clinic, clinic.uow, clinic.ids["DEMO-0002"])
    uow = fresh()
    load(clinic, uow, bundle)
    with pytest.raises(InputError) as e:
        load(clinic, uow, bundle)
    assert e.value.field.endswith("identifier(mrn)")
    assert patient_count(uow) == 1


def test_a_plan_the_safety_gate_refuses_is_not_imported(clinic: Clinic) -> None:
    import json

    def overdose(r: dict[str, Any]) -> None:
        plan = json.loads(r["extension"][0]["valueString"])
        plan["schedule"]["dose"] = "1000 mg/d"  # morphine: far above the library's ceiling
        r["extension"][0]["valueString"] = json.dumps(plan)

    err = _refused(clinic, _edited(clinic, "DEMO-0001", "MedicationRequest", overdose))
    assert err.field.endswith(".extension(plan-json)")
    assert "DOSE-ENTRY-CEILING" in err.message


# --- ids the clinic already holds --------------------------------------------------------


def _renamed(bundle: dict[str, Any], old: list[str], mrn: str) -> dict[str, Any]:
    """``bundle`` under record number ``mrn``, each id of ``old`` replaced by a new one
    everywhere (references and payloads too): the same record as another patient's."""
    text = json.dumps(bundle)
    for n, x in enumerate(old):
        text = text.replace(x, f"renamed{n}")
    out: dict[str, Any] = json.loads(text)
    patient = next(e["resource"] for e in out["entry"]
                   if e["resource"]["resourceType"] == "Patient")  # fmt: skip
    for ident in patient["identifier"]:
        ident["value"] = mrn
    return out


def _ids(bundle: dict[str, Any], kind: str) -> list[str]:
    return [e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _sqlite(path: Any) -> Any:
    from thecal.store.database import make_engine
    from thecal.store.migrate import upgrade
    from thecal.store.uow import SqlUnitOfWork

    engine = make_engine(f"sqlite:///{path / 'clinic.sqlite3'}")
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    with uow.transaction("setup", datetime(2026, 1, 1), "users") as repo:
        repo.add_user(DOCTOR)
    return uow


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_an_id_the_clinic_holds_is_refused_before_writing(clinic: Clinic, store: str,
                                                          tmp_path: Any) -> None:  # fmt: skip
    bundle = export(clinic, clinic.uow, clinic.ids["SEED-000"])
    uow = fresh() if store == "memory" else _sqlite(tmp_path)
    pid = load(clinic, uow, bundle).patient.id
    # The same Bundle under a corrected record number: its patient id is the clinic's.
    with pytest.raises(InputError) as e:
        load(clinic, uow, _renamed(bundle, [], "SEED-000-B"))
    assert e.value.field == f"Patient/{pid}.id"
    assert e.value.message == f"Patient/{pid} is already in this clinic"
    # A new patient id, the devices kept: the first device held is named.
    device = _ids(bundle, "Device")[0]
    with pytest.raises(InputError) as e:
        load(clinic, uow, _renamed(bundle, [pid], "SEED-000-C"))
    assert e.value.field == f"Device/{device}.id"
    assert "is already in this clinic" in e.value.message
    # Nothing was written by the refusals; with every id new the same record is taken.
    with uow.reader() as repo:
        assert [p.id for p in repo.list_patients()] == [pid]
    every = sorted({e["resource"]["id"] for e in bundle["entry"]}, key=len, reverse=True)
    taken = load(clinic, uow, _renamed(bundle, every, "SEED-000-D"))
    assert taken.patient.mrn == "SEED-000-D"
