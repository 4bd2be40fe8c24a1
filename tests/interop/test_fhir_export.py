"""FHIR R4 export of demo-clinic patients: every resource validates with the R4B models of
fhir.resources, references resolve inside the Bundle, and the codes the package does not check
(value-set bindings) are checked here: the intrathecal route, UCUM units, our code systems."""

from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from tests.interop.conftest import Clinic
from thecal.clinic.errors import NotFoundError
from thecal.interop import fhir_codes as c
from thecal.interop.fhir_export import export_patient
from thecal.units import Q_, parse_quantity, unit_from_ucum
from thecal.units.table import Dimension

MRNS = ("SEED-000", "SEED-001", "SEED-003-1", "SEED-003-2", "DEMO-0001", "DEMO-0002")


def export(clinic: Clinic, mrn: str) -> dict[str, Any]:
    return export_patient(clinic.uow, patient_id=clinic.ids[mrn], library=clinic.library,
                          catalog=clinic.catalog, zone=UTC)  # fmt: skip


def resources(bundle: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]
            if kind is None or e["resource"]["resourceType"] == kind]  # fmt: skip


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


@pytest.mark.parametrize("mrn", MRNS)
def test_every_resource_validates_with_fhir_resources_r4b(clinic: Clinic, mrn: str) -> None:
    bundle = export(clinic, mrn)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    for r in resources(bundle):
        get_fhir_model_class(r["resourceType"]).model_validate(r)


@pytest.mark.parametrize("mrn", MRNS)
def test_references_resolve_inside_the_bundle_and_ids_are_unique(clinic: Clinic, mrn: str) -> None:
    bundle = export(clinic, mrn)
    keys = [f"{r['resourceType']}/{r['id']}" for r in resources(bundle)]
    assert len(keys) == len(set(keys))
    for node in walk(bundle):
        target = node.get("reference")
        if isinstance(target, str) and not target.startswith("#"):
            assert target in keys, target


def test_the_export_is_stable(clinic: Clinic) -> None:
    assert export(clinic, "SEED-000") == export(clinic, "SEED-000")


def test_unknown_patient_is_not_found(clinic: Clinic) -> None:
    with pytest.raises(NotFoundError):
        export_patient(clinic.uow, patient_id="nobody", library=clinic.library,
                       catalog=clinic.catalog)  # fmt: skip


@pytest.mark.parametrize("mrn", MRNS)
def test_only_sourced_public_codes_and_parsable_ucum_units(clinic: Clinic, mrn: str) -> None:
    for node in walk(export(clinic, mrn)):
        system = node.get("system")
        if system == c.SNOMED:
            # 72607000 "Intrathecal route": https://build.fhir.org/valueset-route-codes.html
            assert node["code"] == "72607000"
        elif system == c.UCUM:
            assert unit_from_ucum(node["code"]) is not None, node
            assert node["unit"] == node["code"]
        elif isinstance(system, str) and "coding" not in node:
            assert system.startswith(c.BASE), system  # no LOINC or other unsourced system


def test_prescription_carries_route_admixture_and_daily_dose(clinic: Clinic) -> None:
    bundle = export(clinic, "DEMO-0001")
    with clinic.uow.reader() as repo:
        rx = repo.prescriptions_for(clinic.ids["DEMO-0001"])[-1]
    plan = rx.plan()
    (request,) = resources(bundle, "MedicationRequest")
    assert request["status"] == "active"
    assert request["extension"][0]["valueString"] == rx.plan_json
    (dosage,) = request["dosageInstruction"]
    assert dosage["route"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "72607000", "display": "Intrathecal route"}
    ]
    # A continuous generated plan: the nominal daily dose is the plan's schedule.dose, per 1 d.
    expected = parse_quantity(plan.schedule.dose, "schedule.dose", Dimension.DOSE_RATE)
    ratio = dosage["doseAndRate"][0]["rateRatio"]
    assert ratio["denominator"] == {"value": 1, "unit": "d", "system": c.UCUM, "code": "d"}
    got = Q_(ratio["numerator"]["value"], ratio["numerator"]["code"]) / Q_(1, "d")
    assert got.to(expected.units).magnitude == pytest.approx(expected.magnitude, rel=1e-9)
    (ingredient,) = request["contained"][0]["ingredient"]
    conc = parse_quantity(plan.admixture[0].concentration, "c", Dimension.CONCENTRATION)
    strength = ingredient["strength"]
    assert ingredient["itemCodeableConcept"]["text"] == plan.admixture[0].drug
    assert strength["denominator"]["code"] == "mL"
    got_c = Q_(strength["numerator"]["value"], strength["numerator"]["code"]) / Q_(1, "mL")
    assert got_c.to(conc.units).magnitude == pytest.approx(conc.magnitude, rel=1e-9)


def test_refill_volumes_and_discrepancy(clinic: Clinic) -> None:
    bundle = export(clinic, "DEMO-0001")
    with clinic.uow.reader() as repo:
        r = repo.refills_for(clinic.ids["DEMO-0001"])[-1]
    obs = {o["id"]: o for o in resources(bundle, "Observation")}
    disc = obs[f"{r.id}-discrepancy"]["valueQuantity"]
    withdrawn = obs[f"{r.id}-withdrawn"]["valueQuantity"]["value"]
    expected = obs[f"{r.id}-expected-remaining"]["valueQuantity"]["value"]
    # discrepancy = withdrawn − expected (RefillRecord), in mL
    assert disc["code"] == "mL"
    assert disc["value"] == pytest.approx(withdrawn - expected, abs=1e-9)
    fills = {m["id"]: m for m in resources(bundle, "MedicationAdministration")}
    fill = fills[r.id]
    assert fill["dosage"]["dose"]["value"] == pytest.approx(r.filled.to("mL").magnitude)
    assert fill["dosage"]["route"]["coding"][0]["code"] == "72607000"
    assert fill["partOf"] == [{"reference": f"Procedure/{r.id}"}]


def test_refill_findings_are_detected_issues_in_the_thecal_code_system(clinic: Clinic) -> None:
    bundle = export(clinic, "SEED-003-2")
    issues = resources(bundle, "DetectedIssue")
    assert issues
    from thecal.therapy.findings import Code

    known = {code.value for code in Code}
    for issue in issues:
        (coding,) = issue["code"]["coding"]
        assert coding["system"] == c.FINDING_CODES
        assert coding["code"] in known
        assert issue["severity"] in {"high", "moderate", "low"}


def test_pump_patient_devices_and_uses(clinic: Clinic) -> None:
    bundle = export(clinic, "SEED-000")
    kinds = {d["type"]["coding"][0]["code"] for d in resources(bundle, "Device")}
    assert {"pump", "catheter", "stimulator", "lead"} <= kinds
    catheters = [d for d in resources(bundle, "Device")
                 if d["type"]["coding"][0]["code"] == "catheter"]  # fmt: skip
    props = [p for d in catheters for p in d.get("property", [])]
    assert any(p["type"]["coding"][0]["code"] == "implanted-length"
               and p["valueQuantity"][0]["code"] == "cm" for p in props)  # fmt: skip
    uses = resources(bundle, "DeviceUseStatement")
    assert len(uses) == len(resources(bundle, "Device"))
    removed = [d for d in resources(bundle, "Device") if d["status"] == "inactive"]
    assert removed  # the case report's replaced pump
    by_id = {u["id"]: u for u in uses}
    for d in removed:
        assert by_id[d["id"]]["status"] == "completed" and "end" in by_id[d["id"]]["timingPeriod"]
    procedures = {p["code"]["coding"][0]["code"] for p in resources(bundle, "Procedure")}
    assert {"implant", "replacement", "refill"} <= procedures


def test_stimulator_patient_leads_impedances_and_battery(clinic: Clinic) -> None:
    bundle = export(clinic, "SEED-001")
    devices = resources(bundle, "Device")
    ipgs = {d["id"] for d in devices if d["type"]["coding"][0]["code"] == "stimulator"}
    # The stimulator's leads (StimLead records) name their IPG as the parent Device.
    leads = [d for d in devices if d["type"]["coding"][0]["code"] == "lead" and "parent" in d]
    assert ipgs and leads
    assert all(lead["parent"]["reference"].removeprefix("Device/") in ipgs for lead in leads)
    codes = [o["code"]["coding"][0]["code"] for o in resources(bundle, "Observation")]
    assert "contact-impedances" in codes
    # SEED-000's replaced stimulator has a battery history (voltage in V).
    batteries = [o for o in resources(export(clinic, "SEED-000"), "Observation")
                 if o["code"]["coding"][0]["code"] == "battery"]  # fmt: skip
    assert batteries
    for o in batteries:
        volts = [x for x in o["component"] if x["code"]["coding"][0]["code"] == "battery-voltage"]
        assert all(x["valueQuantity"]["code"] == "V" for x in volts)
    for o in resources(bundle, "Observation"):
        for comp in o.get("component", []):
            q = comp.get("valueQuantity")
            if comp["code"]["coding"][0]["code"] == "contact-impedance" and q is not None:
                assert q["code"] == "Ohm"


def test_interrogation_is_a_diagnostic_report_over_its_observations(clinic: Clinic) -> None:
    bundle = export(clinic, "DEMO-0002")
    (report,) = resources(bundle, "DiagnosticReport")
    obs = {f"Observation/{o['id']}": o for o in resources(bundle, "Observation")}
    results = [obs[r["reference"]] for r in report["result"]]
    by_code = {o["code"]["coding"][0]["code"]: o for o in results}
    assert by_code["reservoir-estimate"]["valueQuantity"]["value"] == 12.5
    assert by_code["delivered-total"]["valueQuantity"]["value"] == 301.25
    assert by_code["elective-replacement"]["valueDateTime"] == "2031-05-01T00:00:00+00:00"
    assert report["effectiveDateTime"] == "2026-11-23T10:30:00+00:00"


def test_alarms_are_flags(clinic: Clinic) -> None:
    flags = resources(export(clinic, "DEMO-0001"), "Flag")
    assert flags
    for f in flags:
        assert f["code"]["coding"][0]["system"] == c.ALARM_CODES
        assert f["status"] in {"active", "inactive"}


def test_logged_boluses_are_medication_administrations(clinic: Clinic) -> None:
    bundle = export(clinic, "DEMO-0002")
    (report,) = resources(bundle, "DiagnosticReport")
    logged = [m for m in resources(bundle, "MedicationAdministration")
              if m.get("supportingInformation")]  # fmt: skip
    (bolus,) = logged  # the refused one is not an administration
    assert bolus["dosage"]["dose"] == {"value": 0.25, "unit": "mL", "system": c.UCUM, "code": "mL"}
    assert bolus["dosage"]["route"]["coding"][0]["code"] == "72607000"
    assert bolus["effectiveDateTime"] == "2026-11-22T20:15:00+00:00"
    assert bolus["supportingInformation"] == [{"reference": f"DiagnosticReport/{report['id']}"}]
