"""The numbers every report shows about a patient's therapy, from the therapy core: each drug's
concentration and daily dose, the pump's daily volume, and the expected reservoir volume at a
time. The same rules as the patient page's header (``web/patient_header.py``): the daily dose
of :func:`thecal.therapy.delivery.daily_dose`, and the expected volume of
:func:`thecal.therapy.reservoir.expected_volume` from the last fill under every prescription
written since (:func:`thecal.clinic.program_history.programs_since_fill`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pint

from thecal.clinic.calendar import CalendarEntry, entry_for
from thecal.clinic.model import Device, Patient, PrescriptionVersion, RefillRecord
from thecal.clinic.patient_context import current_prescription
from thecal.clinic.program_history import programs_since_fill
from thecal.clinic.services import ClinicServices
from thecal.therapy.delivery import daily_dose
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.reservoir import Fill, expected_volume
from thecal.units import InputError


@dataclass(frozen=True)
class DrugLine:
    """One drug of the admixture: concentration (mass/mL), nominal daily dose (mass/d) and the
    daily dose with every allowed patient bolus taken (mass/d)."""

    drug: str
    concentration: pint.Quantity
    daily_dose: pint.Quantity
    worst_case: pint.Quantity


@dataclass(frozen=True)
class Therapy:
    """A prescription version's therapy: its drugs, the pump's nominal daily volume (mL/d) and
    the same as an hourly rate (mL/h)."""

    version: int
    resolved: ResolvedPlan
    drugs: tuple[DrugLine, ...]
    volume: pint.Quantity
    rate: pint.Quantity


def therapy_of(svc: ClinicServices[Any], rx: PrescriptionVersion) -> Therapy:
    """The therapy of ``rx`` (:class:`InputError` when its plan no longer resolves)."""
    resolved = resolve(rx.plan().to_typed(), svc.library, svc.catalog)
    dose = daily_dose(resolved.schedule, resolved.admixture, resolved.program.patient_bolus)
    drugs = tuple(
        DrugLine(
            i.drug.name, i.concentration, dose.nominal[i.drug.name], dose.worst_case[i.drug.name]
        )
        for i in resolved.admixture.ingredients
    )
    volume = dose.nominal_volume.to("mL/d")
    return Therapy(rx.version, resolved, drugs, volume, volume.to("mL/h"))


def expected_at(
    svc: ClinicServices[Any], versions: Sequence[PrescriptionVersion],
    refills: Sequence[RefillRecord], therapy: Therapy, at: datetime,
) -> pint.Quantity | None:  # fmt: skip
    """The expected reservoir volume (mL) at ``at`` (or at the fill, if ``at`` is before it)
    from the last fill (the last refill, else the prescription's [fill]); None: no fill known."""
    last = refills[-1] if refills else None
    fill = Fill(last.filled.to("mL"), last.performed_at) if last else therapy.resolved.fill
    if fill is None:
        return None
    when = max(fill.at, at)
    since = programs_since_fill(list(versions), fill.at, when, svc.library, svc.catalog)
    return expected_volume(fill, since.schedule, when, changes=since.changes).volume.to("mL")


@dataclass(frozen=True)
class ReportHeader:
    """What ``_patient_header.html`` shows, on every patient page and in the PDF reports."""

    patient: Patient
    age: int | None
    devices: tuple[tuple[Device, pint.Quantity], ...]
    version: int | None
    drugs: tuple[DrugLine, ...]
    volume: pint.Quantity | None
    rate: pint.Quantity | None
    refill: CalendarEntry
    reservoir_now: pint.Quantity | None
    open_alarms: int
    problem: str | None
    therapy: Therapy | None


def header(svc: ClinicServices[Any], patient_id: str) -> ReportHeader:
    """The header of ``patient_id`` at the clinic's time now (NotFoundError: no patient)."""
    now = svc.clock()
    today: date = now.date()
    with svc.uow.reader() as repo:
        patient = repo.get_patient(patient_id)
        devices = tuple((d, d.dwell_time(today)) for d in repo.devices_for(patient_id)
                        if d.in_place)  # fmt: skip
        versions = list(repo.prescriptions_for(patient_id))
        rx = current_prescription(repo, patient_id)
        refills = list(repo.refills_for(patient_id))
        open_alarms = sum(1 for a in repo.alarms_for(patient_id) if a.open)
    refill = entry_for(patient, refills[-1] if refills else None, today, svc.due_soon)
    age = today.year - patient.birth_year if patient.birth_year else None
    therapy = reservoir = None
    problem = None
    if rx is not None:
        try:
            therapy = therapy_of(svc, rx)
            reservoir = expected_at(svc, versions, refills, therapy, now)
        except InputError as exc:  # an old plan that no longer resolves: say so, show the rest
            problem = str(exc)
    return ReportHeader(
        patient, age, devices, rx.version if rx else None, therapy.drugs if therapy else (),
        therapy.volume if therapy else None, therapy.rate if therapy else None, refill,
        reservoir, open_alarms, problem, therapy,
    )  # fmt: skip


__all__ = ["DrugLine", "ReportHeader", "Therapy", "expected_at", "header", "therapy_of"]
