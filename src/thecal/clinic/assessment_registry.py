"""The part of a decision-support presentation the registry already knows, read in one
transaction: the device and its dwell time, the drugs of the current prescription and how
long an opioid has been in the pump, times since implant, trial, refill and program change,
the refills' residuals with the pump's labelled accuracy band, the latest interrogation and
the open alarms, the stimulator's impedance trend and the coded diagnoses.

The result is a mapping in the shape of :class:`thecal.decision.Presentation` (durations as
pint quantities, days before ``now``); what the clinician enters is laid over it
(:mod:`thecal.clinic.assessment_workflow`). A fact the registry does not hold is left out,
so the rules see it as unknown (a comparison with an unknown value never fires)."""

from datetime import datetime
from typing import Any

from thecal.clinic.model import Device, DeviceKind, ProcedureKind
from thecal.clinic.patient_context import current_prescription
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.registration import DiagnosisCode
from thecal.clinic.settings import ClinicSettings
from thecal.clinic.stimulator_workflow import StimulatorContext, summarise
from thecal.decision.presentation import OPIOIDS
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level
from thecal.units import Q_, InputError

DRUGS = frozenset(
    {"morphine", "hydromorphone", "fentanyl", "sufentanil", "baclofen", "ziconotide",
     "bupivacaine", "clonidine"}
)  # fmt: skip
"""The drugs the rules know (thecal.decision.presentation.Drug); others are left out."""

# The implant's alarm names (thecal.devices.alarms.AlarmCondition) the rules know.
ALARMS = {
    "EMPTY_RESERVOIR": "empty_reservoir",
    "LOW_RESERVOIR": "low_reservoir",
    "ELECTIVE_REPLACEMENT": "elective_replacement",
    "END_OF_SERVICE": "elective_replacement",
    "MOTOR_STALL": "motor_stall",
}
_DRUG_PUMPS = (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP)
_CKD = {"G1": 1, "G2": 2, "G3a": 3, "G3b": 3, "G4": 4, "G5": 5}


def _days(now: datetime, then: datetime) -> Any:
    days = (now - then).total_seconds() / 86400
    return Q_(round(days, 3), "d") if days >= 0 else None


def assessed_device(repo: ClinicRepository, patient_id: str, device_id: str | None) -> Device:
    """``device_id`` of this patient, else the drug pump in place, else the stimulator in
    place. InputError on ``assessment.device`` when there is none (or another patient's)."""
    devices = list(repo.devices_for(patient_id))
    if device_id:
        for d in devices:
            if d.id == device_id and d.kind in (*_DRUG_PUMPS, DeviceKind.STIMULATOR):
                return d
        raise InputError("assessment.device", f"no pump or stimulator {device_id!r} here",
                         "a device of this patient")  # fmt: skip
    for kinds in (_DRUG_PUMPS, (DeviceKind.STIMULATOR,)):
        for d in devices:
            if d.kind in kinds and d.in_place:
                return d
    raise InputError("assessment.device", "the patient has no pump or stimulator in place",
                     "register the device first")  # fmt: skip


def _comorbidities(repo: ClinicRepository, patient_id: str) -> dict[str, Any]:
    details = repo.patient_details(patient_id)
    out: dict[str, Any] = {}
    for d in details.diagnoses if details is not None else ():
        if d.code is DiagnosisCode.SPINAL_METASTASES:
            out["cancer"] = out["spinal_metastases"] = True
        elif d.code is DiagnosisCode.DIALYSIS:
            out["dialysis"] = True
        elif d.code is DiagnosisCode.CKD and d.detail in _CKD:
            out["ckd_stage"] = max(out.get("ckd_stage", 0), _CKD[d.detail])
    return out


def _pump_facts(
    repo: ClinicRepository, catalog: DeviceCatalog, device: Device, now: datetime
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    versions = repo.prescriptions_for(device.patient_id)
    current = current_prescription(repo, device.patient_id)
    if current is not None:
        drugs = [i.drug.strip().casefold() for i in current.plan().admixture]
        out["drugs"] = sorted({d for d in drugs if d in DRUGS})
    # How long an opioid has been in the pump: since the first version of the unbroken run of
    # prescriptions with one, up to the current one.
    start = None
    for v in versions:
        if {i.drug.strip().casefold() for i in v.plan().admixture} & OPIOIDS:
            start = start or v.created_at
        else:
            start = None
    if start is not None:
        out["time_on_intrathecal_opioid"] = _days(now, start)
    refills = [r for r in repo.refills_for(device.patient_id) if r.device_id == device.id]
    if refills:
        out["time_since_refill"] = _days(now, refills[-1].performed_at)
        out["residuals"] = [{"expected": r.expected_remaining, "withdrawn": r.withdrawn}
                            for r in refills[-50:]]  # fmt: skip
        try:
            spec = catalog.pump(device.model)
        except InputError:
            spec = None
        bands = [b for b in (getattr(spec, "accuracy_over", None),
                             getattr(spec, "accuracy_under", None)) if b is not None]  # fmt: skip
        if bands:
            # The wider side of the labelled band: only a residual outside it on either side
            # counts as a discrepancy (the engine takes one band).
            out["accuracy_band"] = Q_(max(bands) * 100, "percent")
        else:
            del out["residuals"]  # no band: the rules cannot judge residuals
    changes = repo.program_changes_for(device.patient_id)
    if changes:
        out["time_since_program_change"] = _days(now, changes[-1].at)
    readings = [i for i in repo.interrogations_for(device.patient_id) if i.device_id == device.id]
    if readings:
        bad = any(f.level is not Level.INFO for f in readings[-1].findings)
        out["interrogation"] = "abnormal" if bad else "normal"
    return out


def _stimulator_facts(
    repo: ClinicRepository, ctx: StimulatorContext | None, settings: ClinicSettings,
    device: Device, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    if ctx is None:
        return {}
    s = summarise(repo, ctx, settings, device, now.date())
    if not s.impedances:
        return {}
    codes = {f.code for f in s.findings}
    trend = ("abrupt_drop" if Code.STIM_IMPEDANCE_DROP in codes
             else "rising" if Code.STIM_IMPEDANCE_RISING in codes else "stable")  # fmt: skip
    return {"impedance_trend": trend,
            "impedance_below_minimum": Code.STIM_IMPEDANCE_SHORT in codes}  # fmt: skip


def registry_presentation(
    repo: ClinicRepository, *, patient_id: str, device: Device, now: datetime,
    catalog: DeviceCatalog, settings: ClinicSettings, stimulation: StimulatorContext | None,
) -> dict[str, Any]:  # fmt: skip
    """What the registry knows for a presentation about ``device`` at ``now`` (module doc)."""
    pump = device.kind in _DRUG_PUMPS
    out: dict[str, Any] = {"device": "intrathecal_pump" if pump else "stimulator"}
    out["dwell_time"] = device.dwell_time(now.date())
    out["time_since_implant"] = out["dwell_time"]
    trials = [p for p in repo.procedures_for(patient_id) if p.kind is ProcedureKind.TRIAL]
    if trials:
        last = max(p.performed_on for p in trials)
        out["time_since_trial"] = Q_(float((now.date() - last).days), "d")
    if pump:
        out.update(_pump_facts(repo, catalog, device, now))
    else:
        out.update(_stimulator_facts(repo, stimulation, settings, device, now))
    open_alarms = [a for a in repo.alarms_for(patient_id) if a.open and a.code in ALARMS]
    alarms = sorted({ALARMS[a.code] for a in open_alarms if a.device_id in (None, device.id)})
    if alarms:
        out["alarms"] = alarms
    comorbid = _comorbidities(repo, patient_id)
    if comorbid:
        out["comorbidities"] = comorbid
    return {k: v for k, v in out.items() if v is not None}
