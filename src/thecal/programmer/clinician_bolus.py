"""Clinician, priming and bridge boluses through the safety gate (pure).

A bolus is checked against the implant's admixture and pump model (soft findings need a reason,
hard ones block) and refused while a dosing command's outcome is unknown.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from thecal.programmer.clinician_session import (
    ProgrammerError,
    Session,
    UncertainDelivery,
)
from thecal.programmer.commands import Op, Qty, Reply, quantity_from_json, quantity_json
from thecal.therapy.findings import Finding, check_overrides
from thecal.therapy.proposal import BolusProposal
from thecal.therapy.safety_gate import check
from thecal.units import Dimension, InputError, check_dimension


@dataclass(frozen=True)
class BolusOutcome:
    reply: Reply
    findings: tuple[Finding, ...]

    @property
    def delivered(self) -> bool:
        return self.reply.ok and self.reply.state_changed


def bolus(
    s: Session,
    volume: Qty,
    duration: Qty,
    reasons: Mapping[str, str] | None = None,
    kind: str = "clinician",
) -> BolusOutcome:
    """Clinician, priming or bridge bolus (``kind``) of ``volume`` (mL) over ``duration``."""
    check_dimension(volume, "volume", Dimension.VOLUME)
    check_dimension(duration, "duration", Dimension.TIME)
    op = {
        "clinician": Op.CLINICIAN_BOLUS,
        "priming": Op.PRIMING_BOLUS,
        "bridge": Op.BRIDGE_BOLUS,
    }
    if kind not in op:
        raise InputError("kind", f"unknown bolus kind {kind!r}", "clinician, priming or bridge")
    if s.uncertain is not None:
        raise UncertainDelivery("interrogate the implant before any new dosing command")
    program = s.status.program
    if program is None:
        raise ProgrammerError("the implant has no program: its admixture is unknown")
    proposal = BolusProposal(
        program.admixture,
        volume,
        duration,
        s.spec,
        s.status.device_time,
        s.patient,
        kind,
    )
    findings = check(proposal, s.library).findings
    check_overrides(findings, dict(reasons or {}))
    reply = s.send(op[kind], {"volume": quantity_json(volume), "duration": quantity_json(duration)})
    return BolusOutcome(s.require(reply), findings)


def reply_volume(reply: Reply, name: str) -> Qty | None:
    """A named quantity from a device result in ``reply`` (None when absent)."""
    values = reply.data.get("result", {}).get("values", {})
    return quantity_from_json(values[name], name) if name in values else None


__all__ = ["BolusOutcome", "bolus", "reply_volume"]
