"""The code systems, codes and URLs of Thecal's FHIR R4 export (docs/fhir.md explains each).

Only codes with a source are public codes: the intrathecal route (SNOMED CT 72607000, FHIR
SNOMED route value set, https://build.fhir.org/valueset-route-codes.html) and UCUM units.
No public codes exist for reservoir volumes, refill discrepancies, contact impedances or
stimulator batteries (HL7 CardX-CIED uses a documented local code system for the same gap,
https://build.fhir.org/ig/HL7/CardX-CIED), so everything else is coded in Thecal's own code
systems under :data:`BASE`.
"""

from typing import Any, Final

BASE: Final = "https://thecal.invalid/fhir"
"""Product choice: the canonical base of Thecal's code systems and extensions. ``.invalid`` is
reserved (RFC 2606): no one else can own it, and it says plainly that Thecal has no published
canonical site yet. A deployment that publishes its own replaces it here."""

SNOMED: Final = "http://snomed.info/sct"
UCUM: Final = "http://unitsofmeasure.org"
INTRATHECAL: Final = "72607000"  # SNOMED CT "Intrathecal route"
INTRATHECAL_DISPLAY: Final = "Intrathecal route"

# Thecal code systems (CodeSystem.url values).
FINDING_CODES: Final = f"{BASE}/CodeSystem/finding-code"  # thecal.therapy.findings.Code values
OBSERVATION_CODES: Final = f"{BASE}/CodeSystem/observation"
DEVICE_KINDS: Final = f"{BASE}/CodeSystem/device-kind"  # thecal.clinic.model.DeviceKind
PROCEDURE_KINDS: Final = f"{BASE}/CodeSystem/procedure-kind"  # ProcedureKind + "refill"
# + "program-change"
DEVICE_ACTIONS: Final = f"{BASE}/CodeSystem/device-action"  # implanted | removed | refilled
# | reprogrammed
DEVICE_PROPERTIES: Final = f"{BASE}/CodeSystem/device-property"
REPORT_CODES: Final = f"{BASE}/CodeSystem/report"
ALARM_CODES: Final = f"{BASE}/CodeSystem/alarm"
DIAGNOSIS_CODES: Final = f"{BASE}/CodeSystem/diagnosis"  # registration.DiagnosisCode
COMPLICATION_CODES: Final = f"{BASE}/CodeSystem/complication"  # model.ComplicationCode
LINK_WRITES: Final = f"{BASE}/CodeSystem/link-write"  # LinkDelivery.what: program, refill, …
LINK_OUTCOMES: Final = f"{BASE}/CodeSystem/link-outcome"  # implant_link_model.DeliveryOutcome

# Procedure codes (PROCEDURE_KINDS) of clinical-history records, besides ProcedureKind's.
REFILL: Final = "refill"
PROGRAM_CHANGE: Final = "program-change"

# Identifier systems.
MRN: Final = f"{BASE}/identifier/mrn"
SERIAL: Final = f"{BASE}/identifier/serial"
PRESCRIPTION_VERSION: Final = f"{BASE}/identifier/prescription-version"

# Extensions (each carries what no R4 element holds; docs/fhir.md lists them).
EXT_PLAN: Final = f"{BASE}/StructureDefinition/plan-json"  # MedicationRequest: the plan file
EXT_OPIOID_NAIVE: Final = f"{BASE}/StructureDefinition/opioid-naive"  # Patient: boolean
EXT_LEAD_NAME: Final = f"{BASE}/StructureDefinition/lead-name"  # Device (lead): "L1"

# Observation codes (OBSERVATION_CODES).
OBS: Final = {
    "expected-remaining": "Reservoir volume expected before the refill",
    "withdrawn": "Reservoir volume withdrawn at the refill",
    "discrepancy": "Refill discrepancy (withdrawn − expected)",
    "filled": "Volume filled into the reservoir",
    "confirmed-after-fill": "Reservoir volume confirmed after the fill",
    "reservoir-estimate": "Reservoir volume estimated by the implant",
    "delivered-total": "Total volume delivered (implant counter)",
    "elective-replacement": "Elective replacement indicator date (battery)",
    "contact-impedances": "Contact impedances",
    "contact-impedance": "Contact impedance",
    "battery": "Stimulator battery",
    "battery-voltage": "Battery cell voltage",
    "battery-percent": "Battery charge reported by the stimulator",
    "recharge": "Reading ends a recharge session",
    "recharge-duration": "Recharge session duration",
}

SEVERITY: Final = {"hard": "high", "soft": "moderate", "info": "low"}
"""DetectedIssue.severity (FHIR required binding high | moderate | low) per finding level."""


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding (display only when given)."""
    out: dict[str, Any] = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding and the display as text."""
    out: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if display:
        out["text"] = display
    return out


def intrathecal_route() -> dict[str, Any]:
    """The route of every Thecal drug: SNOMED CT 72607000 "Intrathecal route"."""
    return concept(SNOMED, INTRATHECAL, INTRATHECAL_DISPLAY)


def code_of(concept: Any, system: str) -> str | None:
    """The code of ``concept``'s first coding in ``system`` (None when it has none)."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, dict) and coding.get("system") == system:
            code = coding.get("code")
            return code if isinstance(code, str) else None
    return None


# h2: stimulation and assessments
STIM_PROGRAM_VERSION: Final = f"{BASE}/identifier/stimulation-program-version"
STIM_PARAMETERS: Final = f"{BASE}/CodeSystem/stimulation-parameter"  # DeviceRequest.parameter
ASSESSMENT_KINDS: Final = f"{BASE}/CodeSystem/assessment-kind"  # AssessmentKind values
ASSESSMENT_URGENCY: Final = f"{BASE}/CodeSystem/assessment-urgency"  # decision URGENCIES

STIM_PARAMETER: Final = {
    "amplitude": "Stimulation amplitude (mA in current mode, V in voltage mode)",
    "pulse-width": "Pulse width",
    "rate": "Pulse rate",
}
"""The codes of :data:`STIM_PARAMETERS`: one of each per stimulation area."""
