"""Restarting after an interruption: opioid tolerance may be lost (Ruan et al., Pain Physician
2010).

A restart at the previous opioid dose needs a clinician's decision; the software proposes
re-titration from a lower dose using the institution's rules, or, with none configured, from the
labelled opioid-naive range of the drug (its ``daily_dose_max`` limit for opioid-naive patients).

How long an interruption must last before tolerance is lost has no intrathecal source. So:

- ``settings.restart_rules``: the institution's graded rules (shortest first) decide;
- else ``settings.restart_min_interruption`` (institution): shorter interruptions are not
  counted; from it on, the opioid-naive proposal;
- else ``settings.tolerance_loss_after`` (shipped product choice, sourced from methadone
  maintenance): from it on, the opioid-naive proposal; a shorter interruption (an MRI rotor stop
  of a few hours) proposes NO dose cut but still asks for a clinician's decision when the
  restart is at or above the previous dose.

Edges: an interruption exactly as long as a minimum counts (``at_or_above``).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.compare import above, at_or_above, below
from thecal.therapy.drugs import Bound, Drug
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import RestartRule, Settings
from thecal.therapy.proposal import Interruption
from thecal.units import fmt


@dataclass(frozen=True)
class RestartProposal:
    """``proposed_daily`` None: no reduced dose is proposed. ``decision_only`` True: the
    interruption is shorter than the minimum the software proposes a cut for — the clinician
    decides whether tolerance was lost (no cut is suggested)."""

    drug: str
    previous_daily: pint.Quantity
    proposed_daily: pint.Quantity | None
    basis: str
    source: str
    decision_only: bool = False


def restart_proposal(
    drug: Drug, previous_daily: pint.Quantity, interruption: Interruption, settings: Settings
) -> RestartProposal | None:
    """The reduced restart dose for ``drug`` after ``interruption`` (None when the drug is not
    an opioid, or the institution's rules say this interruption is too short to matter)."""
    if not drug.is_opioid:
        return None
    duration = interruption.duration
    if settings.restart_rules:
        rule = _rule_for(duration, settings.restart_rules)
        if rule is None:
            return None  # shorter than the shortest interruption the institution counts
        pct = rule.restart_fraction * 100
        return RestartProposal(
            drug.name,
            previous_daily,
            (previous_daily * rule.restart_fraction).to(previous_daily.units),
            f"institution rule: after ≥ {fmt(rule.min_interruption)} off, restart at {pct:.0f} % "
            "of the previous daily dose and re-titrate",
            rule.source,
        )
    minimum = settings.restart_min_interruption
    if minimum is not None:
        if below(duration, minimum):
            return None  # the institution does not count an interruption this short
        return _naive(drug, previous_daily, settings, settings.restart_min_interruption_source)
    after = settings.tolerance_loss_after
    if after is not None and at_or_above(duration, after):
        return _naive(drug, previous_daily, settings, settings.tolerance_loss_after_source)
    shorter = f"shorter than {fmt(after.to('d'))}, " if after is not None else ""
    return RestartProposal(
        drug.name,
        previous_daily,
        None,
        f"the interruption is {shorter}and the institution has not set the minimum "
        "interruption after which tolerance counts as lost (a drug library setting): "
        "a clinician decides whether to restart at the previous dose; no dose cut is proposed",
        settings.tolerance_loss_after_source,
        decision_only=True,
    )


def _naive(
    drug: Drug, previous_daily: pint.Quantity, settings: Settings, threshold_source: str
) -> RestartProposal:
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
            "; ".join(s for s in (lim.source, threshold_source) if s),
        )
    return RestartProposal(
        drug.name,
        previous_daily,
        None,
        "no institution rule and no labelled opioid-naive dose for this drug: choose a reduced "
        "restart dose and re-titrate",
        "; ".join(s for s in (settings.tolerance_source, threshold_source) if s),
    )


def restart_findings(
    drug: Drug,
    previous_daily: pint.Quantity,
    new_daily: pint.Quantity,
    interruption: Interruption,
    settings: Settings,
) -> list[Finding]:
    """Soft finding when an opioid restarts above the proposed reduced dose (or, with no cut
    proposed for a short interruption, at or above the previous dose); info findings for drugs
    with a withdrawal syndrome (baclofen, clonidine)."""
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
    if proposal.proposed_daily is not None and not above(new_daily, proposal.proposed_daily):
        return out
    if proposal.decision_only and below(new_daily, previous_daily):
        return out  # already restarting below the old dose: the clinician has decided
    if proposal.decision_only:
        message = (
            f"{drug.name} delivery stopped for {hours:.0f} h ({interruption.cause}). Restarting "
            f"at {fmt(new_daily)} (previously {fmt(previous_daily)}) needs a clinician's "
            f"decision: {proposal.basis}."
        )
    else:
        suggestion = (
            f"Proposed restart: {fmt(proposal.proposed_daily)} ({proposal.basis})."
            if proposal.proposed_daily is not None
            else proposal.basis + "."
        )
        message = (
            f"{drug.name} delivery stopped for {hours:.0f} h ({interruption.cause}); opioid "
            f"tolerance may be lost. Restarting at {fmt(new_daily)} (previously "
            f"{fmt(previous_daily)}) risks respiratory depression. {suggestion}"
        )
    out.append(
        Finding(
            Level.SOFT,
            Code.RESTART_AFTER_INTERRUPTION,
            message,
            "; ".join(s for s in (settings.tolerance_source, proposal.source) if s),
            drug.name,
            proposal.proposed_daily,
            new_daily,
        )
    )
    return out


def _rule_for(duration: pint.Quantity, rules: tuple[RestartRule, ...]) -> RestartRule | None:
    chosen = None
    for rule in rules:  # sorted by min_interruption
        if at_or_above(duration, rule.min_interruption):
            chosen = rule
    return chosen


def restart_findings_for(
    admixture: Admixture,
    old: Mapping[str, pint.Quantity],
    new: Mapping[str, pint.Quantity],
    gap: Interruption,
    settings: Settings,
) -> list[Finding]:
    """:func:`restart_findings` for every drug of ``admixture`` that ran before ``gap``
    (``old``/``new``: nominal daily dose per drug name, mass/d)."""
    out: list[Finding] = []
    for ing in admixture.ingredients:
        name = ing.drug.name
        if name in old:
            out += restart_findings(ing.drug, old[name], new[name], gap, settings)
    return out
