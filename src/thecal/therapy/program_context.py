"""A program checked against the state it starts from: is it a start, which pump is implanted,
what the reservoir holds, and whether the reservoir ran dry.

- Starting-dose limits apply only to a start (``ProgramProposal.start``), or to a drug that a
  recorded previous program did not hold; a maintenance program whose previous program is not
  recorded gets an info finding that the step limits could not be checked.
- A program computed for another pump model than the implanted one is refused (hard): the
  rates, reservoir and limits it was checked against are another pump's.
- A program whose drugs or concentrations differ from what the reservoir holds, without a
  refill, is refused (hard): the pump would deliver the reservoir's drug at rates computed for
  another concentration.
- A reservoir expected empty at or before the change is an interruption: restarting an opioid
  at the old dose may meet a patient who lost tolerance (Ruan 2010), as at a refill.
"""

from thecal.therapy.admixture import Admixture
from thecal.therapy.compare import equal
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import Interruption, ProgramProposal
from thecal.therapy.restart import restart_findings_for
from thecal.therapy.titration import start_dose_findings
from thecal.units import fmt

MODEL_SOURCE = (
    "A program is computed and checked for one pump model (its reservoir, rates and limits from "
    "the device catalog); a pump programmed for another reservoir size ran empty months early "
    "(TMLT closed-claim case)"
)
RESERVOIR_SOURCE = (
    "The dose delivered is the programmed volume × the concentration actually in the reservoir; "
    "a concentration change is made at a refill, with the fluid left in the tubing and catheter "
    "bridged (ITB best practices, Saulino 2016)"
)


def program_context_findings(p: ProgramProposal, library: DrugLibrary) -> list[Finding]:
    """Every context finding for ``p`` (see the module docstring)."""
    return [*_start(p), *_pump_model(p), *_reservoir(p), *_ran_empty(p, library)]


def _start(p: ProgramProposal) -> list[Finding]:
    doses = daily_dose(p.schedule, p.admixture, p.patient_bolus).nominal
    before = set(p.previous.admixture.drug_names) if p.previous is not None else set()
    out: list[Finding] = []
    for ing in p.admixture.ingredients:
        ctx = {**p.patient.context(), "dilution": ing.dilution}
        new_drug = p.previous is not None and ing.drug.name not in before
        start = True if new_drug else p.start
        out += start_dose_findings(ing.drug, doses[ing.drug.name], start, ctx)
    if p.previous is None and p.start is not True:
        out.append(
            Finding(
                Level.INFO,
                Code.PREVIOUS_PROGRAM_UNKNOWN,
                "The program running before this one is not recorded: the size of the dose "
                "change, the time since the last increase and the increases per week could not "
                "be checked."
                + (
                    ""
                    if p.start is False
                    else " It is not recorded either whether this program starts the therapy."
                ),
                "therapy core: titration limits compare with the previous program",
            )
        )
    return out


def _pump_model(p: ProgramProposal) -> list[Finding]:
    implanted = p.implanted_model
    if implanted is None or implanted.strip().casefold() == p.pump.model.strip().casefold():
        return []
    return [
        Finding(
            Level.HARD,
            Code.PUMP_MODEL_MISMATCH,
            f"This program is for a {p.pump.model}, but the patient's pump is a "
            f"{implanted.strip()}. Choose the implanted pump model and check the program again.",
            MODEL_SOURCE,
        )
    ]


def differs(a: Admixture, b: Admixture) -> bool:
    """True when a drug was added or removed or a concentration differs (``equal``)."""
    x = {i.drug.name: i.concentration for i in a.ingredients}
    y = {i.drug.name: i.concentration for i in b.ingredients}
    return set(x) != set(y) or any(not equal(x[k], y[k]) for k in x)


def _describe(mix: Admixture) -> str:
    return " + ".join(f"{i.drug.name} {fmt(i.concentration)}" for i in mix.ingredients)


def _reservoir(p: ProgramProposal) -> list[Finding]:
    held = p.reservoir_admixture
    if held is None or not differs(held, p.admixture):
        return []
    intended = daily_dose(p.schedule, p.admixture).nominal
    real = daily_dose(p.schedule, held).nominal
    parts = []
    for name in dict.fromkeys([*intended, *real]):
        got = fmt(real[name]) if name in real else "no"
        want = fmt(intended[name]) if name in intended else "none"
        parts.append(f"{name} {got} instead of {want}")
    effect = "; ".join(parts)
    return [
        Finding(
            Level.HARD,
            Code.RESERVOIR_ADMIXTURE_MISMATCH,
            f"The reservoir holds {_describe(held)}; this program is written for "
            f"{_describe(p.admixture)}. Without a refill the pump would deliver {effect} a day. "
            "Change the concentration at a refill, or program the reservoir's concentration.",
            RESERVOIR_SOURCE,
        )
    ]


def _ran_empty(p: ProgramProposal, library: DrugLibrary) -> list[Finding]:
    since = p.reservoir_empty_since
    if since is None or p.interruption is not None or since > p.at:
        return []
    gap = Interruption(since, p.at, f"reservoir expected empty since {since:%Y-%m-%d %H:%M}")
    new = daily_dose(p.schedule, p.admixture).nominal
    old = (
        daily_dose(p.previous.schedule, p.previous.admixture).nominal
        if p.previous is not None
        else new  # no earlier program recorded: the restart is at this program's dose
    )
    return restart_findings_for(p.admixture, old, new, gap, library.settings)
