"""The scenario runner's refill action renders the one refill assessment: the findings it
reports are the gate's for the refill it built, with the numbers the nurse would have."""

from pathlib import Path
from typing import Any

import pytest

from thecal.adapters.scenario_files import load_scenario
from thecal.devices.catalog import DeviceCatalog
from thecal.implant import scenario
from thecal.implant.scenario import run_scenario
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_assessment import RefillAssessment
from thecal.therapy.safety_gate import check

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def test_scenario_refill_findings_are_the_gates(
    library: DrugLibrary, catalog: DeviceCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[RefillProposal, RefillAssessment]] = []
    real = scenario.assess_refill

    def spy(proposal: RefillProposal, lib: Any) -> RefillAssessment:
        out = real(proposal, lib)
        seen.append((proposal, out))
        return out

    monkeypatch.setattr(scenario, "assess_refill", spy)
    sc = load_scenario(SCENARIOS / "seed000-catheter-calcification.toml")
    result = run_scenario(sc, library, catalog)
    refills = [x for x in result.reports if x.kind == "refill"]
    assert len(refills) == len(seen) == 2
    for report, (proposal, assessment) in zip(refills, seen, strict=True):
        assert report.findings == check(proposal, library).findings
        values = dict(report.values)
        assert assessment.expected is not None and assessment.discrepancy is not None
        assert values["expected_by_schedule"] == assessment.expected.volume
        assert values["discrepancy"] == assessment.discrepancy.discrepancy
    # Refill 2 (day 112): 20 − 56 d × 0.3 mL/d = 3.2 mL expected by the schedule; 9.5 mL
    # withdrawn (the occluded catheter) → +6.3 mL.
    second = dict(refills[1].values)
    assert float(second["expected_by_schedule"].to("mL").magnitude) == pytest.approx(3.2)
    assert float(second["discrepancy"].to("mL").magnitude) == pytest.approx(6.3, abs=0.003)
