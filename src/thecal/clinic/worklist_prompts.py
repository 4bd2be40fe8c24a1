"""The automatic prompts' light read: which devices the decision rules need to be run on.

Running the rules on the registry alone (:meth:`AssessmentServices.automatic`) builds each
device's whole presentation, some ten reads a device: minutes for a clinic of 100,000 pumps.
But on the registry alone no symptom, pocket or operative finding is entered, so a rule can
only fire through a *signal* the registry holds for few devices: an open implant alarm, an
abnormal latest interrogation, a residual outside the pump's band, an impedance trend. For a
device without any signal each of those facts takes its quiet value (:data:`QUIET`).

:func:`needs_signal` decides, from the rules' conditions alone, whether every rule needs at
least one signal to fire (true of the shipped rules). Then the rules are run only on the
candidates (:func:`candidates`): devices with an open alarm the rules know, pumps of patients
with interrogation findings, every stimulator in place, and pumps whose latest refill is not
clearly inside their accuracy band. The result is the same as running every device (tested
against it). If an institution adds a rule that may fire without a signal (on the dwell time
alone, say), :func:`candidates` returns None and every device is run, as before."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from thecal.clinic.assessment_registry import ALARMS
from thecal.clinic.model import DeviceKind
from thecal.clinic.ports import ClinicRepository
from thecal.decision import Rule
from thecal.decision.conditions import All, AnyOf, Condition, FactTest, SymptomTest, evaluate
from thecal.decision.presentation import Presentation
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import above_count
from thecal.units import InputError

# The values a fact takes on the registry alone for a device with no signal: the entered
# facts at their defaults (nothing is entered), the signal facts at "nothing to say".
QUIET: dict[str, tuple[Any, ...]] = {
    "occasion": ("visit",),
    "dose_trend": ("unknown",),
    "concentration_trend": ("unknown",),
    "loss_of_effect": (False,),
    "symptoms": (frozenset(),),
    "pocket_findings": (frozenset(),),
    "intraoperative_findings": (frozenset(),),
    "alarms": (frozenset(),),
    "interrogation": ("not_done", "normal"),
    "low_residual_count": (0,),
    "high_residual_count": (0,),
    "impedance_trend": ("not_measured",),
    "impedance_below_minimum": (False,),
}
_DRUG_PUMPS = (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP)
_QUIET_P = Presentation(device="intrathecal_pump")  # evaluate's presentation (symptoms: none)


def needs_signal(c: Condition) -> bool:
    """True when ``c`` cannot hold on the registry alone for a device with no signal: every
    way for it to hold goes through a fact away from its quiet value. Conservative: a ``not``
    or a test on any other fact (dwell time, drugs...) may hold."""
    if isinstance(c, All):
        return any(needs_signal(p) for p in c.parts)
    if isinstance(c, AnyOf):
        return all(needs_signal(p) for p in c.parts)
    if isinstance(c, SymptomTest):
        return True  # no symptom is entered on the registry alone
    if isinstance(c, FactTest) and c.fact in QUIET:
        return all(evaluate(c, {c.fact: v}, _QUIET_P) is None for v in QUIET[c.fact])
    return False  # Not, or a fact the registry gives every device


@dataclass(frozen=True)
class Candidate:
    """A device to run the rules on (the shape of a Device the caller needs)."""

    patient_id: str
    device_id: str


def _clearly_inside(expected: float, withdrawn: float, band: float) -> bool:
    # Within half the band of the expected volume (mL): the rules' streak of residuals outside
    # the band (thecal.decision.facts.residual_counts) cannot start here, whatever the
    # rounding. Anything else is run through the rules, which decide on the edge.
    return not above_count(abs(withdrawn - expected), expected * band / 2)


def _band(catalog: DeviceCatalog, model: str, cache: dict[str, float | None]) -> float | None:
    """The wider side of the labelled band as registry_presentation takes it (None: none)."""
    if model not in cache:
        try:
            spec = catalog.pump(model)
            bands = [b for b in (spec.accuracy_over, spec.accuracy_under) if b is not None]
        except InputError:
            bands = []
        cache[model] = max(bands) if bands else None
    return cache[model]


def candidates(
    repo: ClinicRepository, catalog: DeviceCatalog, rules: Sequence[Rule]
) -> list[Candidate] | None:
    """The devices the rules may fire on from the registry alone (see the module doc), each
    once; None when some rule may fire without a signal (run every device)."""
    if not all(needs_signal(r.when) for r in rules):
        return None
    found: dict[str, Candidate] = {}
    patients: set[str] = set()  # every pump and stimulator in place of these patients
    for a in repo.open_alarms():
        if a.code in ALARMS:
            if a.device_id is None:
                patients.add(a.patient_id)
            else:
                found.setdefault(a.device_id, Candidate(a.patient_id, a.device_id))
    patients |= set(repo.patients_with_interrogation_findings())
    for pid in sorted(patients):
        for d in repo.devices_for(pid):
            if d.in_place and d.kind in (*_DRUG_PUMPS, DeviceKind.STIMULATOR):
                found.setdefault(d.id, Candidate(pid, d.id))
    for d in repo.stimulators_in_place():
        found.setdefault(d.id, Candidate(d.patient_id, d.id))
    bands: dict[str, float | None] = {}
    for r in repo.latest_refill_volumes():
        band = _band(catalog, r.model, bands)
        if band is None or r.device_id in found:
            continue  # no band: the rules cannot judge residuals
        e, w = r.expected.to("mL").magnitude, r.withdrawn.to("mL").magnitude
        if not _clearly_inside(float(e), float(w), band):
            found[r.device_id] = Candidate(r.patient_id, r.device_id)
    return list(found.values())
