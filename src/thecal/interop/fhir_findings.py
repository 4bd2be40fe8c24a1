"""The recorded safety findings of a record (a refill, a program change, an interrogation, a
stimulation program version) as FHIR DetectedIssues (docs/fhir.md): derived resources, each
coded in the Thecal finding-code system, the reason given for a soft one as its mitigation.
Its own module so that the pump-history and the stimulator modules both use it without
importing each other."""

from collections.abc import Iterator, Sequence
from typing import Any

from thecal.clinic.model import StoredFinding
from thecal.interop import fhir_codes as c
from thecal.interop.fhir_record import fid, ref

Resource = dict[str, Any]


def findings(
    record_id: str, patient_id: str, found: Sequence[StoredFinding],
    overrides: Sequence[tuple[str, str]], at: str, implicated: Resource | None,
) -> Iterator[Resource]:  # fmt: skip
    """Each stored finding as a DetectedIssue coded in the Thecal finding-code system; the
    reason recorded for a soft one is its mitigation."""
    reasons = dict(overrides)
    for n, f in enumerate(found):
        out: Resource = {
            "resourceType": "DetectedIssue", "id": fid(record_id, "f", str(n)),
            "status": "final", "code": c.concept(c.FINDING_CODES, f.code, f.code),
            "severity": c.SEVERITY[f.level.value], "patient": ref("Patient", patient_id),
            "identifiedDateTime": at, "detail": f.message,
            "evidence": [{"code": [{"text": f"source: {f.source}"}]}],
        }  # fmt: skip
        if implicated is not None:
            out["implicated"] = [implicated]
        if f.code in reasons:
            out["mitigation"] = [{"action": {"text": f"reason given: {reasons[f.code]}"}}]
        yield out
