"""The findings a bridge bolus reports: what the patient receives while the old fill clears,
with and without a bridge program (ITB best practices, Saulino 2016)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pint

from thecal.therapy.compare import equal
from thecal.therapy.findings import Code, Finding, Level
from thecal.units import fmt

if TYPE_CHECKING:  # the result types live with the calculation
    from thecal.therapy.bridge_bolus import BridgeProgram, DrugDuringClearing

# Bridge bolus at a concentration change: intrathecal baclofen best practices (Saulino 2016).
BRIDGE_SOURCE = "ITB best practices (Saulino 2016)"


def bridge_findings(
    drugs: tuple[DrugDuringClearing, ...],
    program: BridgeProgram | None,
    dead: pint.Quantity,
    rate: pint.Quantity,
    clear_time: pint.Quantity,
    formula: str,
) -> list[Finding]:
    """Info findings: the bridge (rate mL/d for a duration) and any other drug of the old fill
    whose daily rate differs from the new program's; or, when the fills share no drug, what
    each drug runs at while the dead volume (mL) clears at ``rate`` (mL/d) in ``clear_time``."""
    out: list[Finding] = []
    by_drug = {d.drug: d for d in drugs}
    if program is not None:
        d = by_drug[program.target_drug]
        out.append(
            Finding(
                Level.INFO,
                Code.BRIDGE_BOLUS,
                f"The pump tubing and catheter still hold {fmt(dead)} of the old fill "
                f"({program.target_drug} {fmt(program.old_concentration)}); {formula}. Without a "
                f"bridge it takes {fmt(clear_time)} at {fmt(rate)} to clear, and "
                f"{program.target_drug} runs at {fmt(d.delivered_daily)} instead of "
                f"{fmt(d.intended_daily)} ({signed_difference(d)}). Bridge: program "
                f"{fmt(program.rate)} for {fmt(program.duration)}, then {fmt(rate)} "
                f"({program.formula}).",
                BRIDGE_SOURCE,
                program.target_drug,
                d.intended_daily,
                d.delivered_daily,
            )
        )
        for name, during in program.dose_rates.items():
            if name == program.target_drug:
                continue
            intended = program.intended_dose_rates[name]
            if equal(during, intended):
                continue
            out.append(
                Finding(
                    Level.INFO,
                    Code.BRIDGE_BOLUS,
                    f"During the bridge {name} (old fill) runs at {fmt(during)} "
                    f"({fmt(program.doses[name])} in {fmt(program.duration)}) instead of the new "
                    f"program's {fmt(intended)}.",
                    BRIDGE_SOURCE,
                    name,
                    intended,
                    during,
                )
            )
        return out
    listing = "; ".join(
        f"{d.drug} {fmt(d.delivered_daily)} instead of {fmt(d.intended_daily)} "
        f"({signed_difference(d)})"
        for d in drugs
    )
    out.append(
        Finding(
            Level.INFO,
            Code.BRIDGE_BOLUS,
            f"The old and new fills share no drug, so no bridge rate can hold a new dose with the "
            f"old fluid. The pump tubing and catheter still hold {fmt(dead)} of the old fill "
            f"({formula}); at {fmt(rate)} it takes {fmt(clear_time)} to clear: {listing}. The "
            "clinician decides how to manage the change.",
            BRIDGE_SOURCE,
        )
    )
    return out


def signed_difference(d: DrugDuringClearing) -> str:
    """'shortfall 2 mg over the clearing time', 'excess ...' or 'no difference'."""
    if d.direction == "none":
        return "no difference"
    size = d.difference if d.difference.magnitude > 0 else d.difference * -1.0
    return f"{d.direction} {fmt(size)} over the clearing time"
