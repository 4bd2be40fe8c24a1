"""FHIR import of the pump history: each kind (refill, program change, interrogation, alarm,
link delivery) comes back from its anchor's record-json payload exactly; every bad payload
field is refused naming ``Type/id.extension(record-json).field``; a standard element edited
while the payload was not is refused naming the element; nothing is written on a refusal."""

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.interop.history_clinic import MRN, HistoryClinic, anchor, payload, set_payload
from tests.interop.test_fhir_import import DOCTOR, NOW, fresh, patient_count
from thecal.adapters.composition import stimulator_context
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.worklist import UNCERTAIN_CODE, worklist
from thecal.interop.fhir_compare import check_same
from thecal.interop.fhir_export import export_patient
from thecal.interop.fhir_import import Catalogs, ImportResult, import_bundle
from thecal.interop.fhir_read import quantity
from thecal.units import Q_, InputError

Bundle = dict[str, Any]


@pytest.fixture(scope="module")
def clinic() -> HistoryClinic:
    return HistoryClinic()


@pytest.fixture(scope="module")
def first(clinic: HistoryClinic) -> Bundle:
    return export(clinic, clinic.uow, clinic.ids[MRN])


def export(clinic: HistoryClinic, uow: Any, pid: str, zone: Any = UTC) -> Bundle:
    return export_patient(uow, patient_id=pid, library=clinic.library, catalog=clinic.catalog,
                          zone=zone)  # fmt: skip


def load(clinic: HistoryClinic, uow: MemoryUnitOfWork, bundle: Any, zone: Any = UTC,
         ) -> ImportResult:  # fmt: skip
    cats = Catalogs(clinic.library, clinic.catalog, stimulator_context())
    return import_bundle(uow, lambda: NOW, DOCTOR, bundle, cats=cats, source="p.json", zone=zone)


def test_every_kind_comes_back_with_every_field(clinic: HistoryClinic, first: Bundle) -> None:
    uow = fresh()
    result = load(clinic, uow, first)
    assert export(clinic, uow, result.patient.id) == first
    assert result.taken["Task"] == 2 and result.taken["Flag"] == 2
    with uow.reader() as repo:
        pid = result.patient.id
        refill = next(r for r in repo.refills_for(pid) if r.id == clinic.refill.id)
        alarms = {a.id: a for a in repo.alarms_for(pid)}
        deliveries = {d.id: d for d in repo.link_deliveries_for(pid)}
        interrogation = repo.interrogations_for(pid)[-1]
        changes = {c.id: c for c in repo.program_changes_for(pid)}
    # The records themselves, field for field (the ids are kept).
    assert refill == clinic.refill
    assert alarms[clinic.resolved.id] == clinic.resolved
    assert alarms[clinic.open.id] == clinic.open
    assert deliveries[clinic.uncertain.id] == clinic.uncertain
    assert deliveries[clinic.confirmed.id] == clinic.confirmed
    assert interrogation == clinic.interrogation
    assert changes[clinic.change.id] == clinic.change  # a change without findings is kept


def test_standard_elements_show_what_r4_can(first: Bundle, clinic: HistoryClinic) -> None:
    refill = anchor(first, clinic.refill.id)
    assert refill["followUp"][0]["text"].startswith("next refill by 2026-12-12T09:30:00+00:00")
    resolved = anchor(first, clinic.resolved.id)
    assert resolved["status"] == "inactive"
    div = resolved["text"]["div"]
    assert "Acknowledged by nina at 2026-10-30T08:05:00+00:00" in div
    assert "refilled &lt;20 mL&gt; &amp; checked" in div  # escaped XHTML
    task = anchor(first, clinic.uncertain.id)
    assert task["status"] == "in-progress" and task["businessStatus"]["text"] == "uncertain"
    assert task["owner"] == {"reference": f"Device/{clinic.pump.id}"}
    change = anchor(first, clinic.change.id)
    assert change["code"]["coding"][0]["code"] == "program-change"
    assert change["focalDevice"][0]["manipulated"]["reference"] == f"Device/{clinic.pump.id}"


def test_an_uncertain_delivery_stays_a_hard_worklist_item(clinic: HistoryClinic,
                                                           first: Bundle) -> None:  # fmt: skip
    uow = fresh()
    pid = load(clinic, uow, first).patient.id
    with uow.reader() as repo:
        items = worklist(repo, date(2026, 11, 23), Q_(14, "d"))
    hard = [i for i in items if i.patient_id == pid and i.code == UNCERTAIN_CODE]
    assert len(hard) == 1 and hard[0].level == "hard"


def test_a_bundle_in_utc_imports_in_another_zone(clinic: HistoryClinic, first: Bundle) -> None:
    uow = fresh()
    berlin = ZoneInfo("Europe/Berlin")
    pid = load(clinic, uow, first, zone=berlin).patient.id
    with uow.reader() as repo:
        refill = next(r for r in repo.refills_for(pid) if r.id == clinic.refill.id)
    # 09:30:15.25 UTC on 2 November is 10:30:15.25 in Berlin (CET, UTC+1).
    assert refill.performed_at == datetime(2026, 11, 2, 10, 30, 15, 250000)
    # Exported in Berlin: the same instants (the implant-clock bolus times as wall clock).
    second = export(clinic, uow, pid, zone=berlin)
    assert second != first
    check_same([e["resource"] for e in first["entry"]], [e["resource"] for e in second["entry"]])


Edit = Callable[[dict[str, Any], HistoryClinic], None]


def _set(key: str, value: Any) -> Edit:
    def edit(data: dict[str, Any], clinic: HistoryClinic) -> None:
        data[key] = value(clinic) if callable(value) else value

    return edit


def _drop(key: str) -> Edit:
    return lambda data, clinic: data.pop(key)


def _catheter(clinic: HistoryClinic) -> str:
    return clinic.catheter.id


ML = {"value": 20, "unit": "mL"}
# (record, edit of its payload, the field the error names)
BAD: list[tuple[str, Edit, str]] = [
    ("refill", _drop("filled"), "filled"),
    ("refill", _set("by", 5), "by"),
    ("refill", _set("filled", {"value": "NaN", "unit": "mL"}), "filled.value"),
    ("refill", _set("filled", {"value": True, "unit": "mL"}), "filled.value"),
    ("refill", _set("filled", {"value": 20, "unit": "mg"}), "filled"),
    ("refill", _set("filled", 20), "filled"),  # a number without its unit
    ("refill", _set("withdrawn", {"value": -1, "unit": "mL"}), "withdrawn"),
    ("refill", _set("device", "no-such-device"), "device"),
    ("refill", _set("device", _catheter), "device"),
    ("refill", _set("prescription_version", 9), "prescription_version"),
    ("refill", _set("prescription_version", "1"), "prescription_version"),
    ("refill", _set("drug_lot", "L" * 65), "drug_lot"),
    ("refill", _set("by", "nurse\tx"), "by"),
    ("refill", _set("refill_by", "next week"), "refill_by"),
    ("refill", _set("candidates", [{"at": "2026-12-01T00:00:00+00:00"}]), "candidates[0].kind"),
    (
        "refill",
        _set("findings", [{"level": "fatal", "code": "X", "message": "m", "source": "s"}]),
        "findings[0].level",
    ),
    ("refill", _set("overrides", [["DOSE-START-MAX"]]), "overrides[0]"),
    ("refill", _set("surprise", 1), "surprise"),
    ("refill", _set("id", "a/b"), "id"),
    ("change", _drop("reason"), "reason"),
    ("change", _set("new_version", 9), "new_version"),
    ("change", _set("old_version", 0), "old_version"),
    ("change", _set("by", "p" * 81), "by"),
    ("interrogation", _set("device", "no-such-device"), "device"),
    ("interrogation", _set("device", _catheter), "device"),
    ("interrogation", _set("status", [1, 2]), "status"),
    ("interrogation", _set("log", ["x"]), "log[0]"),
    ("interrogation", _drop("at"), "at"),
    ("resolved", _drop("cleared_by"), "cleared_by"),
    ("resolved", _set("code", "C" * 65), "code"),
    ("resolved", _set("message", ["m"]), "message"),
    ("resolved", _set("device", "no-such-device"), "device"),
    ("open", _set("resolution", "why"), "resolution"),
    ("uncertain", _set("outcome", "lost"), "outcome"),
    ("uncertain", _set("device", _catheter), "device"),
    ("uncertain", _set("what", "w" * 21), "what"),
    ("uncertain", _set("payload", [["volume"]]), "payload[0]"),
    ("confirmed", _set("prescription_version", 2), "prescription_version"),
]


def _record_id(clinic: HistoryClinic, name: str) -> str:
    records: dict[str, Any] = {
        "refill": clinic.refill, "change": clinic.change, "resolved": clinic.resolved,
        "open": clinic.open, "interrogation": clinic.interrogation,
        "uncertain": clinic.uncertain, "confirmed": clinic.confirmed,
    }  # fmt: skip
    return str(records[name].id)


@pytest.mark.parametrize(("record", "edit", "field"), BAD,
                         ids=[f"{r}-{f}-{i}" for i, (r, _, f) in enumerate(BAD)])  # fmt: skip
def test_a_bad_payload_field_is_refused_by_name(
    clinic: HistoryClinic, first: Bundle, record: str, edit: Edit, field: str
) -> None:
    bundle = copy.deepcopy(first)
    target = anchor(bundle, _record_id(clinic, record))
    data = payload(target)
    edit(data, clinic)
    set_payload(target, data)
    uow = fresh()
    with pytest.raises(InputError) as e:
        load(clinic, uow, bundle)
    where = f"{target['resourceType']}/{target['id']}.extension(record-json)"
    assert e.value.field == f"{where}.{field}", str(e.value)
    assert patient_count(uow) == 0


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_in_a_payload_are_refused(clinic: HistoryClinic, first: Bundle,
                                                  constant: str) -> None:  # fmt: skip
    bundle = copy.deepcopy(first)
    target = anchor(bundle, clinic.refill.id)
    ext = target["extension"][0]
    assert '"value":20}' in ext["valueString"]  # the volume filled
    ext["valueString"] = ext["valueString"].replace('"value":20}', f'"value":{constant}}}', 1)
    with pytest.raises(InputError) as e:
        load(clinic, fresh(), bundle)
    assert e.value.field == f"Procedure/{target['id']}.extension(record-json)"


def _observation(bundle: Bundle, suffix: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].endswith(suffix))


def test_an_edited_standard_element_is_refused_naming_it(clinic: HistoryClinic,
                                                          first: Bundle) -> None:  # fmt: skip
    bundle = copy.deepcopy(first)
    obs = _observation(bundle, f"{clinic.refill.id}-withdrawn")
    obs["valueQuantity"]["value"] = 12.0
    uow = fresh()
    with pytest.raises(InputError) as e:
        load(clinic, uow, bundle)
    assert e.value.field == f"Observation/{obs['id']}.valueQuantity.value"
    # The record says 3.0 mL withdrawn; the Bundle's element says 12.
    assert e.value.message == "12.0 in the Bundle, 3 from its record"
    assert patient_count(uow) == 0


@pytest.mark.parametrize(("record", "element"), [
    ("resolved", "text.div"), ("uncertain", "status"), ("refill", "followUp[0].text"),
    ("change", "performer[0].actor.display"),
])  # fmt: skip
def test_an_edited_anchor_element_is_refused(clinic: HistoryClinic, first: Bundle,
                                             record: str, element: str) -> None:  # fmt: skip
    bundle = copy.deepcopy(first)
    target = anchor(bundle, _record_id(clinic, record))
    node: Any = target
    steps = element.replace("[0]", ".0").split(".")
    for step in steps[:-1]:
        node = node[int(step)] if step.isdigit() else node[step]
    last = steps[-1]
    node[last] = "completed" if last == "status" else node[last].replace("n", "m", 1)
    with pytest.raises(InputError) as e:
        load(clinic, fresh(), bundle)
    assert e.value.field == f"{target['resourceType']}/{target['id']}.{element}"


def test_an_edited_payload_is_refused_at_what_it_no_longer_gives(
    clinic: HistoryClinic, first: Bundle
) -> None:
    bundle = copy.deepcopy(first)
    target = anchor(bundle, clinic.refill.id)
    data = payload(target)
    data["filled"] = {"value": 19, "unit": "mL"}
    set_payload(target, data)
    with pytest.raises(InputError) as e:
        load(clinic, fresh(), bundle)
    # The first resource the changed record gives differently: the fill's dose.
    assert e.value.field == f"MedicationAdministration/{clinic.refill.id}.dosage.dose.value"
    assert e.value.message == "20 in the Bundle, 19 from its record"


def test_missing_and_extra_resources_are_refused(clinic: HistoryClinic, first: Bundle) -> None:
    # A derived resource left out of the Bundle: the record gives it, the Bundle lacks it.
    bundle = copy.deepcopy(first)
    gone = _observation(bundle, f"{clinic.refill.id}-filled")
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"] is not gone]
    with pytest.raises(InputError) as e:
        load(clinic, fresh(), bundle)
    assert e.value.field == f"Observation/{gone['id']}"
    # One added by hand: no record gives it.
    bundle = copy.deepcopy(first)
    extra = copy.deepcopy(_observation(bundle, f"{clinic.refill.id}-filled"))
    extra["id"] = "added-by-hand"
    bundle["entry"].append({"resource": extra})
    with pytest.raises(InputError) as e:
        load(clinic, fresh(), bundle)
    assert e.value.field == "Observation/added-by-hand"
    assert "--without-history" in e.value.message


def test_a_bad_record_last_leaves_nothing_written(clinic: HistoryClinic, first: Bundle) -> None:
    bundle = copy.deepcopy(first)
    last = next(e["resource"] for e in reversed(bundle["entry"])
                if e["resource"]["resourceType"] == "Task")  # fmt: skip
    data = payload(last)
    data["outcome"] = "lost"
    set_payload(last, data)
    uow = fresh()
    with pytest.raises(InputError):
        load(clinic, uow, bundle)
    assert patient_count(uow) == 0
    # A refusal found only after the writes (the comparison) rolls them back too.
    bundle = copy.deepcopy(first)
    last = bundle["entry"][-1]["resource"]
    last["authoredOn"] = "2020-01-01T00:00:00+00:00"
    with pytest.raises(InputError) as e:
        load(clinic, uow, bundle)
    assert e.value.field.endswith(".authoredOn")
    assert patient_count(uow) == 0
    with uow.reader() as repo:
        assert repo.link_deliveries_for(clinic.ids[MRN]) == []


def test_without_history_leaves_every_kind_out_and_counts_it(clinic: HistoryClinic,
                                                               first: Bundle) -> None:  # fmt: skip
    cats = Catalogs(clinic.library, clinic.catalog, stimulator_context())
    uow = fresh()
    result = import_bundle(uow, lambda: NOW, DOCTOR, first, cats=cats, source="p.json",
                           zone=UTC, without_history=True)  # fmt: skip
    assert result.left_out["Task"] == 2 and result.left_out["Flag"] == 2
    assert "Task" not in result.taken and "Flag" not in result.taken
    with uow.reader() as repo:
        assert repo.refills_for(result.patient.id) == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "20"])
def test_fhir_quantities_must_be_finite_numbers(value: Any) -> None:
    r = {"resourceType": "Device", "id": "d"}
    q = {"value": value, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"}
    with pytest.raises(InputError) as e:
        quantity(r, "property[0].valueQuantity", q, "mL")
    assert e.value.field == "Device/d.property[0].valueQuantity"
    assert quantity(r, "x", {**q, "value": 20}, "mL") == Q_(20, "mL")


def test_the_payload_is_canonical_json(first: Bundle, clinic: HistoryClinic) -> None:
    text = anchor(first, clinic.refill.id)["extension"][0]["valueString"]
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False)  # fmt: skip
