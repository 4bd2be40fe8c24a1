"""``thecal refill`` renders the one refill assessment: its findings are the gate's for the same
refill, and a physically impossible withdrawn volume is refused (exit 3)."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from typer.testing import Result

from thecal.cli.plan import resolve_file
from thecal.therapy.findings import Code, ordered
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.units import Q_

from .conftest import example

RunJson = Callable[..., tuple[int, Any]]


def test_cli_refill_findings_are_the_gates(run_json: RunJson) -> None:
    # refill-morphine.toml, with 25 mL withdrawn from its 20 mL SynchroMed II.
    path = example("refill-morphine.toml")
    code, data = run_json("refill", path, "--withdrawn", "25 mL")
    resolved, library = resolve_file(path, [])
    plan = resolved.plan
    # The same refill, built here from the plan's numbers and judged by the gate.
    proposal = RefillProposal(
        resolved.program, Fill(Q_("20 mL"), plan.at), plan.next_refill, resolved.alarm_threshold,
        last_fill=Fill(Q_("20 mL"), datetime(2024, 1, 2, 9, 0)), withdrawn=Q_("25 mL"),
        filled=Q_("20 mL"), confirmed_after_fill=Q_("19.8 mL"),
    )  # fmt: skip
    gate = ordered([*check(proposal, library).findings, *resolved.rounding])
    assert data["findings"] == json.loads(json.dumps([f.to_json() for f in gate]))
    assert code == 3 and data["blocked"] is True
    assert data["findings"][0]["code"] == Code.WITHDRAWN_EXCEEDS_RESERVOIR.value
    # 20 mL reservoir + 1 mL measuring tolerance = 21 mL at most.
    assert data["findings"][0]["limit"]["value"] == 21.0
    assert "integrated exactly" in data["expected_from"]


def test_cli_refill_zero_withdrawn_is_not_ignored(run: Callable[..., Result]) -> None:
    # '--withdrawn 0 mL' is an entry (0 mL is falsy, but it is what was withdrawn): expected
    # 2 mL (see the example's hand check), so the discrepancy is 0 − 2 = −2 mL.
    result = run("--json", "refill", example("refill-morphine.toml"), "--withdrawn", "0 mL")
    data = json.loads(result.stdout)
    assert data["withdrawn"]["value"] == 0.0
    assert data["discrepancy"]["value"] == pytest.approx(-2.0)
