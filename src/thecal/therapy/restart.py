"""Restarting after an interruption: opioid tolerance may be lost (Ruan 2010, seed 003).

A restart at the previous opioid dose needs a clinician's decision; the software proposes
re-titration from a lower dose using the institution's rules, or, with none configured, from the
labelled opioid-naive range of the drug (its ``daily_dose_max`` limit for opioid-naive patients).
"""

from dataclasses import dataclass

import pint

from thecal.therapy.drugs import Bound, Drug
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import RestartRule, Settings
from thecal.therapy.proposal import Interruption
from thecal.units import fmt


@dataclass(frozen=True)
class RestartProposal:
    drug: str
    previous_daily: pint.Quantity
    proposed_daily: pint.Quantity | None
    basis: str
    source: str


def restart_proposal(
    drug: Drug, previous_daily: pint.Quantity, interruption: Interruption, settings: Settings
) -> RestartProposal | None:
    """The reduced restart dose for ``drug`` after ``interruption`` (None when the drug is not
    an opioid, or the institution's rules say this interruption is too short to matter)."""
    if not drug.is_opioid:
        return None
    rule = _rule_for(interruption.duration, settings.restart_rules)
    if settings.restart_rules and rule is None:
        return None  # shorter than the shortest interruption the institution counts
    if rule is not None:
        pct = rule.restart_fraction * 100
        return RestartProposal(
            drug.name,
            previous_daily,
            (previous_daily * rule.restart_fraction).to(previous_daily.units),
            f"institution rule: after ≥ {fmt(rule.min_interruption)} off, restart at {pct:.0f} % "
            "of the previous daily dose and re-titrate",
            rule.source,
        )
    naive = drug.limits_for(Bound.DAILY_DOSE_MAX, {"opioid_naive": "true"})
    if naive:
        lim = min(naive, key=lambda x: x.value.to("mg/d").magnitude)
        proposed = min(previous_daily, lim.value.to(previous_daily.units))
        return RestartProposal(
            drug.name,
            previous_daily,
            proposed,
            f"no institution rule configured: re-titrate from the labelled opioid-naive range "
            f"(up to {fmt(lim.value)})",
            lim.source,
        )
    return RestartProposal(
        drug.name,
        previous_daily,
        None,
        "no institution rule and no labelled opioid-naive dose for this drug: choose a reduced "
        "restart dose and re-titrate",
        settings.tolerance_source,
    )


def restart_findings(
    drug: Drug,
    previous_daily: pint.Quantity,
    new_daily: pint.Quantity,
    interruption: Interruption,
    settings: Settings,
) -> list[Finding]:
    """Soft finding when an opioid restarts above the proposed reduced dose; info findings for
    drugs with a withdrawal syndrome (baclofen, clonidine)."""
    out: list[Finding] = []
    hours = interruption.duration.to("h").magnitude
    if drug.withdrawal_warning:
        out.append(
            Finding(
                Level.INFO,
                Code.WITHDRAWAL_RISK,
                f"{drug.name} was interrupted for {hours:.0f} h ({interruption.cause}): "
                + drug.withdrawal_warning,
                drug.source,
                drug.name,
            )
        )
    proposal = restart_proposal(drug, previous_daily, interruption, settings)
    if proposal is None:
        return out
    if proposal.proposed_daily is not None and new_daily <= proposal.proposed_daily * (1 + 1e-9):
        return out
    suggestion = (
        f"Proposed restart: {fmt(proposal.proposed_daily)} ({proposal.basis})."
        if proposal.proposed_daily is not None
        else proposal.basis + "."
    )
    out.append(
        Finding(
            Level.SOFT,
            Code.RESTART_AFTER_INTERRUPTION,
            f"{drug.name} delivery stopped for {hours:.0f} h ({interruption.cause}); opioid "
            f"tolerance may be lost. Restarting at {fmt(new_daily)} (previously "
            f"{fmt(previous_daily)}) risks respiratory depression. {suggestion}",
            f"{settings.tolerance_source}; {proposal.source}",
            drug.name,
            proposal.proposed_daily,
            new_daily,
        )
    )
    return out


def _rule_for(duration: pint.Quantity, rules: tuple[RestartRule, ...]) -> RestartRule | None:
    chosen = None
    for rule in rules:  # sorted by min_interruption
        if duration >= rule.min_interruption:
            chosen = rule
    return chosen
