"""Stimulator records through FHIR and back (the demo's stimulator patients, seeds 000 and
001): impedance sets, battery readings and program versions validate with fhir.resources R4B
and use only Thecal codes and UCUM; each anchor's record-json decodes to the record it was
made from, written into a fresh clinic it exports the same resources; every bad payload field
is refused naming the resource and the field."""

import copy
import itertools
import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.interop.conftest import TODAY, Clinic
from tests.interop.history_helpers import (
    STAMP,
    anchors,
    context,
    decode_all,
    fresh,
    record,
    validate,
    where,
    write_all,
)
from thecal.adapters.composition import stimulator_context
from thecal.clinic.demo_stimulators import demo_program
from thecal.clinic.model import DeviceKind
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ContactImpedance,
    ImpedanceSet,
    MeasurementSource,
    StimProgramVersion,
)
from thecal.clinic.stimulator_workflow import change_stim_program
from thecal.interop import fhir_codes as c
from thecal.interop import fhir_stimulation as fs
from thecal.interop.fhir_history import payload_of
from thecal.units import Q_, InputError

MRNS = ("SEED-000", "SEED-001")


@pytest.fixture(scope="module")
def stim(clinic: Clinic) -> Clinic:
    """The demo clinic with a second program version (3.0 mA, written by the physician
    through the workflow) on SEED-000's stimulator in place: a priorRequest chain."""
    with clinic.uow.reader() as repo:
        doctor = repo.user_by_name("physician")
        ipg = next(d for d in repo.devices_for(clinic.ids["SEED-000"])
                   if d.kind is DeviceKind.STIMULATOR and d.in_place)  # fmt: skip
    assert doctor is not None
    change_stim_program(clinic.uow, lambda: datetime(2026, 11, 20, 9, 0), stimulator_context(),
                        doctor, ipg.patient_id, ipg.id, demo_program(ipg.model, "3.0 mA", "lower"),
                        "less paraesthesia wanted\n(patient's words)")  # fmt: skip
    return clinic


def exported(clinic: Clinic, mrn: str) -> list[dict[str, Any]]:
    return list(fs.resources(record(clinic.uow, clinic.ids[mrn]), STAMP))


def anchor(clinic: Clinic, name: str, n: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    return anchors(exported(clinic, "SEED-000"), fs.KINDS, name)[n]


def decode(clinic: Clinic, name: str, payload: dict[str, Any], r: dict[str, Any]) -> Any:
    kind = next(k for k in fs.KINDS if k.name == name)
    ctx = context(clinic, record(clinic.uow, clinic.ids["SEED-000"]))
    return kind.decode(payload, where(r), ctx)


def refused(clinic: Clinic, name: str, change: Any, field: str, n: int = 0) -> InputError:
    """The anchor ``n`` of kind ``name`` with its payload changed by ``change`` is refused,
    the error naming the resource and ``field`` of the payload."""
    r, payload = anchor(clinic, name, n)
    bad = copy.deepcopy(payload)
    change(bad)
    with pytest.raises(InputError) as exc:
        decode(clinic, name, bad, r)
    assert exc.value.field == f"{where(r)}.{field}", exc.value
    return exc.value


# --- export ------------------------------------------------------------------------------


@pytest.mark.parametrize("mrn", MRNS)
def test_resources_validate_and_use_thecal_codes_and_ucum(stim: Clinic, mrn: str) -> None:
    out = exported(stim, mrn)
    validate(out)
    kinds = {r["resourceType"] for r in out}
    assert {"Observation", "DeviceRequest", "DetectedIssue"} <= kinds


def test_program_versions_chain_and_only_the_latest_in_place_is_active(stim: Clinic) -> None:
    data = record(stim.uow, stim.ids["SEED-000"])
    requests = [r for r in exported(stim, "SEED-000") if r["resourceType"] == "DeviceRequest"]
    in_place = {d.id for d in data.devices if d.in_place and d.kind is DeviceKind.STIMULATOR}
    by_device: dict[str, list[dict[str, Any]]] = {}
    for r in requests:
        by_device.setdefault(r["codeReference"]["reference"].removeprefix("Device/"), []).append(r)
    # The removed generator: one version, completed. The one in place: 1 completed, 2 active.
    assert sorted(len(v) for v in by_device.values()) == [1, 2]
    for device, versions in by_device.items():
        numbers = [v["identifier"][0]["value"] for v in versions]
        assert numbers == [str(n) for n in range(1, len(versions) + 1)]
        assert [v["status"] for v in versions][-1] == ("active" if device in in_place
                                                       else "completed")  # fmt: skip
        for before, after in itertools.pairwise(versions):
            assert before["status"] == "completed"
            assert after["priorRequest"] == [{"reference": f"DeviceRequest/{before['id']}"}]
    latest = by_device[next(iter(in_place))][-1]
    params = {p["code"]["coding"][0]["code"]: p["valueQuantity"] for p in latest["parameter"]}
    # demo_program: 300 us at 50 Hz; the second version 3.0 mA.
    assert params["amplitude"] == {"value": 3, "unit": "mA", "system": c.UCUM, "code": "mA"}
    assert params["pulse-width"]["value"] == 300 and params["pulse-width"]["code"] == "us"
    assert params["rate"]["value"] == 50 and params["rate"]["code"] == "Hz"
    assert latest["requester"] == {"display": "physician"}
    assert latest["note"] == [{"text": "less paraesthesia wanted\n(patient's words)"}]


def test_program_findings_are_detected_issues_implicating_the_version(stim: Clinic) -> None:
    out = exported(stim, "SEED-000")
    data = record(stim.uow, stim.ids["SEED-000"])
    issues = [r for r in out if r["resourceType"] == "DetectedIssue"]
    assert len(issues) == sum(len(v.findings) for v in data.stim_programs) > 0
    versions = {f"DeviceRequest/{v.id}" for v in data.stim_programs}
    for i in issues:
        assert i["implicated"][0]["reference"] in versions
        assert i["code"]["coding"][0]["system"] == c.FINDING_CODES


# --- round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("mrn", MRNS)
def test_decode_gives_the_records_and_a_fresh_clinic_exports_the_same(
    stim: Clinic, mrn: str
) -> None:
    data = record(stim.uow, stim.ids[mrn])
    first = list(fs.resources(data, STAMP))
    decoded = decode_all(first, fs.KINDS, context(stim, data))
    records = [rec for _, rec in decoded]
    assert [r for r in records if isinstance(r, ImpedanceSet)] == list(data.impedance_sets)
    assert [r for r in records if isinstance(r, BatteryReading)] == list(data.battery_readings)
    assert [r for r in records if isinstance(r, StimProgramVersion)] == list(data.stim_programs)
    uow = fresh(data)
    write_all(uow, decoded)
    assert list(fs.resources(record(uow, data.patient.id), STAMP)) == first


_SETS = st.lists(
    st.tuples(st.from_regex(r"L[1-4]:[0-9]{1,2}", fullmatch=True),
              st.one_of(st.none(), st.floats(1e-3, 1e6)), st.booleans()),
    min_size=1, max_size=16, unique_by=lambda t: t[0],
).map(lambda xs: tuple(ContactImpedance(k, None if v is None else Q_(v, "ohm"),
                                        o or v is None) for k, v, o in xs))  # fmt: skip
# Magnitudes the project's parser takes (it refuses below 1e-20 except zero): what a stored
# record can hold.
_TIMES = st.datetimes(datetime(2000, 1, 1), datetime.combine(TODAY, datetime.min.time()))


@settings(max_examples=60, deadline=None)
@given(values=_SETS, at=_TIMES, source=st.sampled_from(MeasurementSource),
       by=st.sampled_from(["", "nurse", "a" * 80]))  # fmt: skip
def test_property_impedance_sets_round_trip(stim: Clinic, values: tuple[ContactImpedance, ...],
                                            at: datetime, source: MeasurementSource,
                                            by: str) -> None:  # fmt: skip
    data = record(stim.uow, stim.ids["SEED-001"])
    ipg = next(d for d in data.devices if d.kind is DeviceKind.STIMULATOR)
    s = ImpedanceSet(data.patient.id, ipg.id, at, source, values, by)
    payload = payload_of(fs.impedances(s, STAMP))
    assert payload is not None
    assert fs.decode_impedances(payload, "x", context(stim, data)) == s


@settings(max_examples=60, deadline=None)
@given(volts=st.one_of(st.none(), st.floats(1e-3, 20)),
       share=st.one_of(st.none(), st.just(0.0), st.floats(1e-3, 100)), recharge=st.booleans(),
       minutes=st.one_of(st.none(), st.just(0.0), st.floats(1e-3, 1e4)), at=_TIMES)  # fmt: skip
def test_property_battery_readings_round_trip(
    stim: Clinic, volts: float | None, share: float | None, recharge: bool,
    minutes: float | None, at: datetime,
) -> None:  # fmt: skip
    if volts is None and share is None:
        volts = 3.1
    data = record(stim.uow, stim.ids["SEED-001"])
    ipg = next(d for d in data.devices if d.kind is DeviceKind.STIMULATOR)
    b = BatteryReading(data.patient.id, ipg.id, at, MeasurementSource.MANUAL,
                       None if volts is None else Q_(volts, "V"),
                       None if share is None else Q_(share, "percent"), recharge,
                       None if minutes is None else Q_(minutes, "min"), "nurse")  # fmt: skip
    payload = payload_of(fs.battery(b, STAMP))
    assert payload is not None
    assert fs.decode_battery(payload, "x", context(stim, data)) == b


# --- refusals: impedance sets ------------------------------------------------------------


def _set(key: str, value: Any) -> Any:
    def change(d: dict[str, Any]) -> None:
        target = d
        *path, last = key.split(".")
        for k in path:
            target = target[int(k)] if isinstance(target, list) else target[k]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(("key", "value", "field"), [
    ("values", _DELETE, "values"),
    ("values", [], "values"),
    ("values.0.open_circuit", "yes", "values[0].open_circuit"),
    ("values.0.impedance", {"value": math.nan, "unit": "Ohm"},
     "values[0].impedance.value"),
    ("values.0.impedance", {"value": 800, "unit": "V"}, "values[0].impedance"),
    ("values.0.impedance", {"value": 0, "unit": "Ohm"}, "values[0].impedance"),
    ("values.0.impedance", "800", "values[0].impedance"),
    ("values.0.impedance", None, "values[0].impedance"),
    ("values.0.contact", "", "values[0].contact"),
    ("values.0.contact", "L" * 49, "values[0].contact"),
    ("values.1.contact", "L1:0", "values[1].contact"),
    ("values.0.colour", "red", "values[0].colour"),
    ("device_id", "nowhere", "device_id"),
    ("source", "guess", "source"),
    ("at", "yesterday", "at"),
    ("at", "2026-11-24T00:00:00+00:00", "at"),
    ("by", "x" * 81, "by"),
    ("id", "not an id!", "id"),
    ("extra", 1, "extra"),
])  # fmt: skip
def test_impedance_payload_refusals(stim: Clinic, key: str, value: Any, field: str) -> None:
    refused(stim, "impedance-set", _set(key, value), field)


def test_impedance_edges_are_taken(stim: Clinic) -> None:
    r, payload = anchor(stim, "impedance-set")
    ok = copy.deepcopy(payload)
    ok["values"][0] = {"contact": "L" * 48, "impedance": {"value": 1e-9, "unit": "Ohm"},
                       "open_circuit": False}  # fmt: skip
    ok["values"][1] = {"contact": "L1:9", "impedance": None, "open_circuit": True}
    ok["at"] = "2026-11-23T23:59:00+00:00"  # today is allowed
    s = decode(stim, "impedance-set", ok, r)
    assert s.values[0].impedance == Q_(1e-9, "ohm") and s.values[1].impedance is None


def test_a_device_that_is_not_a_stimulator_is_refused(stim: Clinic) -> None:
    data = record(stim.uow, stim.ids["SEED-000"])
    pump = next(d for d in data.devices if d.kind is DeviceKind.PUMP)
    lead = data.leads[0]
    for name in ("impedance-set", "battery-reading", "stim-program"):
        for other, kind in ((pump.id, "pump"), (lead.id, "lead")):
            e = refused(stim, name, _set("device_id", other), "device_id")
            assert f"is a {kind}" in e.message


def test_a_payload_with_nan_text_is_refused_by_payload_of(stim: Clinic) -> None:
    r, _ = anchor(stim, "impedance-set")
    bad = copy.deepcopy(r)
    text = bad["extension"][-1]["valueString"]
    bad["extension"][-1]["valueString"] = text.replace('"open_circuit":false', '"x":NaN', 1)
    with pytest.raises(InputError, match="not a number"):
        payload_of(bad)


# --- refusals: battery readings ----------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "field"), [
    ("voltage", {"value": 0, "unit": "V"}, "voltage"),
    ("voltage", {"value": math.inf, "unit": "V"}, "voltage.value"),
    ("voltage", {"value": 3.1, "unit": "mA"}, "voltage"),
    ("voltage", 3.1, "voltage"),
    ("percent", {"value": 100.001, "unit": "%"}, "percent"),
    ("percent", {"value": -1, "unit": "%"}, "percent"),
    ("percent", {"value": 50, "unit": "V"}, "percent"),
    ("recharge", "true", "recharge"),
    ("recharge", _DELETE, "recharge"),
    ("recharge_duration", {"value": -1, "unit": "min"}, "recharge_duration"),
    ("recharge_duration", {"value": 5, "unit": "mL"}, "recharge_duration"),
    ("source", None, "source"),
    ("at", _DELETE, "at"),
])  # fmt: skip
def test_battery_payload_refusals(stim: Clinic, key: str, value: Any, field: str) -> None:
    refused(stim, "battery-reading", _set(key, value), field)


def test_battery_needs_a_voltage_or_a_percentage_and_takes_the_edges(stim: Clinic) -> None:
    def neither(d: dict[str, Any]) -> None:
        d["voltage"] = d["percent"] = None

    refused(stim, "battery-reading", neither, "voltage")
    r, payload = anchor(stim, "battery-reading")
    for share in (0, 100):  # both ends of 0..100 % are allowed
        ok = {**payload, "percent": {"value": share, "unit": "%"},
              "recharge_duration": {"value": 0, "unit": "min"}}  # fmt: skip
        b = decode(stim, "battery-reading", ok, r)
        assert b.percent == Q_(share, "percent") and b.recharge_duration == Q_(0, "min")


# --- refusals: program versions ----------------------------------------------------------


def _program(change: Any) -> Any:
    def edit(d: dict[str, Any]) -> None:
        program = json.loads(d["program_json"])
        change(program)
        d["program_json"] = json.dumps(program)

    return edit


def test_a_program_with_a_hard_finding_is_refused_naming_the_resource(stim: Clinic) -> None:
    def strong(p: dict[str, Any]) -> None:
        # 10 mA x 400 us = 4 uC on a 1.3 mm x 3 mm ring (0.1225 cm2): 32.7 uC/cm2,
        # k = log10(32.7) + log10(4) = 1.51 + 0.60 = 2.12, above the catalog's k = 1.5.
        p["areas"][0].update(amplitude="10 mA", pulse_width="400 us", patient_max="10 mA")

    e = refused(stim, "stim-program", _program(strong), "program_json")
    assert e.field.startswith("DeviceRequest/")
    assert "the stimulation gate refuses this program" in e.message


@pytest.mark.parametrize(("key", "value", "field"), [
    ("program_json", _DELETE, "program_json"),
    ("program_json", {"title": "x"}, "program_json"),
    ("program_json", "{}", "program_json.ipg"),
    ("version", 0, "version"),
    ("version", "1", "version"),
    ("version", True, "version"),
    ("author", "a" * 81, "author"),
    ("author", 7, "author"),
    ("reason", "  ", "reason"),
    ("reason", "r" * 2001, "reason"),
    ("created_at", _DELETE, "created_at"),
    ("findings", "none", "findings"),
    ("findings.0.code", "NOT-A-CODE", "findings[0].code"),
    ("findings.0.level", "severe", "findings[0].level"),
    ("findings.0.message", None, "findings[0].message"),
    ("findings.0.override_by", "nurse", "findings[0].override_by"),
    ("overrides", [["STIM-INPUT-MISSING", "because"]], "overrides[0]"),
    ("overrides", [["STIM-INPUT-MISSING"]], "overrides[0]"),
])  # fmt: skip
def test_program_payload_refusals(stim: Clinic, key: str, value: Any, field: str) -> None:
    refused(stim, "stim-program", _set(key, value), field)


def test_a_program_the_catalog_does_not_know_is_refused(stim: Clinic) -> None:
    def unknown(p: dict[str, Any]) -> None:
        p["ipg"]["model"] = "No Such IPG"

    e = refused(stim, "stim-program", _program(unknown), "program_json.ipg.model")
    assert "No Such IPG" in e.message


def test_the_write_checks_the_model_and_the_version_order(stim: Clinic) -> None:
    data = record(stim.uow, stim.ids["SEED-000"])
    decoded = decode_all(list(fs.resources(data, STAMP)), fs.KINDS, context(stim, data))
    kind = next(k for k in fs.KINDS if k.name == "stim-program")
    versions = [rec for k, rec in decoded if k is kind]
    second = next(v for v in versions if v.version == 2)
    uow = fresh(data)
    with uow.transaction("importer", datetime(2026, 11, 23, 12), "FHIR import") as repo:
        with pytest.raises(InputError, match="version 2 after 0") as exc:
            kind.write(repo, second)  # version 1 not written yet
        assert exc.value.field == f"DeviceRequest/{second.id}.extension(record-json).version"
    other = next(d for d in data.devices if d.kind is DeviceKind.STIMULATOR and not d.in_place)
    moved = StimProgramVersion(data.patient.id, other.id, 2, second.program_json.replace(
        other.model, "Another IPG"), "physician", "r", second.created_at, (), (), "x1")  # fmt: skip
    with (
        uow.transaction("importer", datetime(2026, 11, 23, 12), "FHIR import") as repo,
        pytest.raises(InputError, match="is not this stimulator"),
    ):
        kind.write(repo, moved)


def test_a_future_time_is_refused_today_is_taken(stim: Clinic) -> None:
    tomorrow = STAMP(datetime.combine(TODAY + timedelta(days=1), datetime.min.time()))
    refused(stim, "stim-program", _set("created_at", tomorrow), "created_at")
    r, payload = anchor(stim, "stim-program")
    today = datetime.combine(TODAY, datetime.min.time()).replace(hour=23, tzinfo=UTC)
    ok = {**payload, "created_at": today.isoformat()}
    assert decode(stim, "stim-program", ok, r).created_at == today.replace(tzinfo=None)


def test_a_removed_generators_versions_are_kept_as_recorded(stim: Clinic) -> None:
    """A removed generator is history (fhir_import's rule for devices): its program versions
    keep the model recorded then and skip the catalog and the gate; one in place does not."""
    data = record(stim.uow, stim.ids["SEED-000"])
    removed = next(d for d in data.devices if d.kind is DeviceKind.STIMULATOR and not d.in_place)
    r, payload = next((r, p) for r, p in anchors(exported(stim, "SEED-000"), fs.KINDS,
                                                 "stim-program")
                      if p["device_id"] == removed.id)  # fmt: skip

    def dropped(p: dict[str, Any]) -> None:
        p["ipg"]["model"] = "A model dropped from the catalog"
        p["areas"][0].update(amplitude="10 mA", pulse_width="400 us", patient_max="10 mA")

    old = copy.deepcopy(payload)
    _program(dropped)(old)
    in_place = context(stim, data)
    kept = replace(in_place, removed=frozenset({removed.id}),
                   cats=replace(in_place.cats, stimulation=None))  # no catalog needed  # fmt: skip
    version = fs.decode_program(old, where(r), kept)
    assert version.program_json == old["program_json"] and version.device_id == removed.id
    # The same version on a generator in place goes through the catalog and is refused.
    with pytest.raises(InputError) as exc:
        fs.decode_program(old, where(r), in_place)
    assert exc.value.field == f"{where(r)}.program_json.ipg.model"
    # Kept as recorded, it is still a valid program file.
    with pytest.raises(InputError) as exc:
        fs.decode_program({**old, "program_json": "{}"}, where(r), kept)
    assert exc.value.field == f"{where(r)}.program_json.ipg"
