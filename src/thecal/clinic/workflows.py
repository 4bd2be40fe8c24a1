"""The refill and program-change workflows: run the therapy core's checks on what the nurse or
physician entered, refuse hard findings, require a reason for every soft one, and store the
result — each workflow one transaction.

``preview_*`` computes everything without writing (the old-vs-new confirmation screen);
``record_*`` runs the same computation inside the transaction and stores it.

The workflows live in :mod:`thecal.clinic.refill_workflow` and
:mod:`thecal.clinic.program_workflow`, what they read about a patient in
:mod:`thecal.clinic.patient_context`; this module keeps their public names in one place.
"""

from thecal.clinic.patient_context import current_prescription, pump_in_place
from thecal.clinic.program_workflow import (
    ProgramOutcome,
    ProgramPreview,
    RevisedRefill,
    change_program,
    preview_program_change,
    revised_refill,
)
from thecal.clinic.refill_workflow import (
    RefillInput,
    RefillOutcome,
    preview_refill,
    record_refill,
)

__all__ = [
    "ProgramOutcome",
    "ProgramPreview",
    "RefillInput",
    "RefillOutcome",
    "RevisedRefill",
    "change_program",
    "current_prescription",
    "preview_program_change",
    "preview_refill",
    "pump_in_place",
    "record_refill",
    "revised_refill",
]
