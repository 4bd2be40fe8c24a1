"""FHIR MedicationRequest per prescription version (docs/fhir.md, "Prescriptions").

The admixture is a contained Medication: each drug an ingredient whose strength is a Ratio
(mass per 1 mL). Each drug's nominal daily dose is one Dosage with the intrathecal route
(SNOMED CT 72607000) and ``doseAndRate.rateRatio`` mass per 1 d: the time base stays explicit
in the denominator, where an ``mg/d`` rateQuantity would hide it in a unit code. The plan file
itself rides along in the ``plan-json`` extension so an import rebuilds the exact prescription.
"""

import copy
from collections.abc import Iterator
from typing import Any

from thecal.devices.catalog import DeviceCatalog
from thecal.interop import fhir_codes as c
from thecal.interop.fhir_record import PatientData, Stamp, fid, per, ref
from thecal.therapy.delivery import daily_dose
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.units import InputError, fmt

Resource = dict[str, Any]


def _resolved(plan_json: str, library: DrugLibrary, catalog: DeviceCatalog) -> ResolvedPlan | None:
    from thecal.therapy.plan_file import PlanFile

    try:
        return resolve(PlanFile.model_validate_json(plan_json).to_typed(), library, catalog)
    except (InputError, ValueError):
        # A plan the current library no longer resolves (a drug removed since): the request
        # still carries the plan and the admixture's text, without computed doses.
        return None


def _medication(plan: ResolvedPlan | None, fallback: list[tuple[str, str]]) -> Resource:
    if plan is None:
        return {"resourceType": "Medication", "id": "admixture",
                "ingredient": [{"itemCodeableConcept": {"text": f"{drug} {conc}"}}
                               for drug, conc in fallback]}  # fmt: skip
    return {
        "resourceType": "Medication",
        "id": "admixture",
        "ingredient": [{"itemCodeableConcept": {"text": i.drug.name},
                        "strength": per(i.concentration)}
                       for i in plan.admixture.ingredients],
    }  # fmt: skip


def _dosages(plan: ResolvedPlan | None) -> list[Resource]:
    if plan is None:
        return [{"text": "see the plan", "route": c.intrathecal_route()}]
    doses = daily_dose(plan.schedule, plan.admixture).nominal
    return [{"sequence": n, "text": f"{drug}: {fmt(dose)} nominal daily dose",
             "route": c.intrathecal_route(),
             "doseAndRate": [{"rateRatio": per(dose)}]}
            for n, (drug, dose) in enumerate(doses.items(), start=1)]  # fmt: skip


Therapy = tuple[Resource, list[Resource]]
"""The contained Medication and the dosages of one plan."""


def _therapy(plan_json: str, library: DrugLibrary, catalog: DeviceCatalog) -> Therapy:
    from thecal.therapy.plan_file import PlanFile

    fallback = [(i.drug, str(i.concentration))
                for i in PlanFile.model_validate_json(plan_json).admixture]  # fmt: skip
    plan = _resolved(plan_json, library, catalog)
    return _medication(plan, fallback), _dosages(plan)


def medication_requests(
    data: PatientData, library: DrugLibrary, catalog: DeviceCatalog, stamp: Stamp,
    cache: dict[str, Therapy] | None = None,
) -> Iterator[Resource]:  # fmt: skip
    """One MedicationRequest per prescription version; the latest is ``active``, each earlier
    one ``completed`` (replaced by the next: ``priorPrescription`` links them). ``cache``: the
    medication and dosages by plan JSON, kept by a caller exporting many patients (the same
    library and catalog throughout) so each distinct plan is resolved once."""
    versions = sorted(data.prescriptions, key=lambda rx: rx.version)
    for n, rx in enumerate(versions):
        found = cache.get(rx.plan_json) if cache is not None else None
        if found is None:
            found = _therapy(rx.plan_json, library, catalog)
            if cache is not None:
                cache[rx.plan_json] = found
        medication, dosages = copy.deepcopy(found)
        out: Resource = {
            "resourceType": "MedicationRequest",
            "id": fid(rx.id),
            "extension": [{"url": c.EXT_PLAN, "valueString": rx.plan_json}],
            "identifier": [{"system": c.PRESCRIPTION_VERSION, "value": str(rx.version)}],
            "status": "active" if n == len(versions) - 1 else "completed",
            "intent": "order",
            "contained": [medication],
            "medicationReference": {"reference": "#admixture"},
            "subject": ref("Patient", rx.patient_id),
            "authoredOn": stamp(rx.created_at),
            "requester": {"display": rx.author},
            "note": [{"text": rx.reason}],
            "dosageInstruction": dosages,
        }
        if n > 0:
            out["priorPrescription"] = ref("MedicationRequest", versions[n - 1].id)
        yield out
