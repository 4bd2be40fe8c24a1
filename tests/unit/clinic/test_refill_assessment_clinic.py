"""The clinic's refill workflow renders the one refill assessment: its findings are the gate's
for the refill it builds, and an impossible withdrawn volume is refused before anything is
written."""

from datetime import datetime
from typing import Any

import pytest

from thecal.clinic import refill_workflow
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.workflows import RefillInput, preview_refill, record_refill
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_assessment import RefillAssessment
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.units import Q_

from .conftest import NURSE, FakeClock, setup_patient


def _entry(withdrawn: str) -> RefillInput:
    return RefillInput(Q_(withdrawn), Q_("20 mL"), "LOT-1",
                       planned_refill=datetime(2024, 4, 26, 9, 0))  # fmt: skip


def test_clinic_refill_findings_are_the_gates(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    seen: list[RefillProposal] = []
    real = refill_workflow.assess_refill

    def spy(proposal: RefillProposal, lib: Any) -> RefillAssessment:
        seen.append(proposal)
        return real(proposal, lib)

    monkeypatch.setattr(refill_workflow, "assess_refill", spy)
    with uow.reader() as repo:
        out = preview_refill(
            repo, library, catalog, patient_id=patient.id, entry=_entry("25 mL"), at=clock(), by="n"
        )
    (proposal,) = seen
    # The refill the workflow built: last fill 20 mL on 2024-01-02 09:00 (the prescription's
    # [fill]), 25 mL withdrawn, 20 mL filled now.
    assert proposal.last_fill == Fill(Q_("20 mL"), datetime(2024, 1, 2, 9, 0))
    assert proposal.withdrawn == Q_("25 mL") and proposal.fill.volume.to("mL") == Q_("20 mL")
    assert out.findings == check(proposal, library).findings
    assert out.findings[0].code is Code.WITHDRAWN_EXCEEDS_RESERVOIR
    # The stored numbers are the assessment's: expected 20 − 60 d × 0.3 mL/d = 2 mL.
    assert out.assessment is not None and out.assessment.expected is not None
    assert out.record.expected_remaining == out.assessment.expected.volume
    assert out.record.expected_remaining.to("mL").magnitude == pytest.approx(2.0)
    # 25 − 2 = +23 mL: the number is kept, its discrepancy findings are not (hard stop instead).
    assert out.record.discrepancy.to("mL").magnitude == pytest.approx(23.0)
    with pytest.raises(OverrideError, match="REFILL-WITHDRAWN-OVER-CAPACITY"):
        record_refill(
            uow, clock, library, catalog, actor=NURSE, patient_id=patient.id, entry=_entry("25 mL")
        )
    assert uow.state.refills == []
