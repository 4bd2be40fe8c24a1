"""The patient header every patient page shows: who (name, record number, age), what is
implanted and for how long, every drug of the admixture with its daily dose and concentration,
the pump's daily volume (mL/d) and rate (mL/h), the next refill (date, days left) and the
expected reservoir volume now, and the number of open alarms.

The numbers come from the clinic and therapy cores (the calendar's :func:`entry_for`, the
therapy core's :func:`daily_dose` and :func:`expected_volume` under the prescriptions since the
last fill), so the header says what the calendar and the charts say."""

from dataclasses import dataclass
from datetime import date, datetime

import pint

from thecal.api.context import AppContext
from thecal.clinic.calendar import CalendarEntry, entry_for
from thecal.clinic.model import Device, Patient, PrescriptionVersion, RefillRecord
from thecal.clinic.program_history import programs_since_fill
from thecal.clinic.workflows import current_prescription
from thecal.therapy.delivery import daily_dose
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.reservoir import Fill, expected_volume
from thecal.units import InputError


@dataclass(frozen=True)
class DrugLine:
    """One drug of the admixture: its concentration (mass/mL) and nominal daily dose (mass/d)."""

    drug: str
    concentration: pint.Quantity
    daily_dose: pint.Quantity
    worst_case: pint.Quantity


@dataclass(frozen=True)
class PatientHeader:
    """What the header shows. ``age`` in whole years from the birth year (None: not recorded);
    ``devices``: in place, with their dwell time (d); ``volume`` the pump's nominal daily
    volume (mL/d) and ``rate`` the same as mL/h; ``reservoir_now`` the expected volume now (mL,
    None when no fill is known); ``problem`` a reason a number could not be computed."""

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


def _fill_and_volume(
    versions: list[PrescriptionVersion], refills: list[RefillRecord], resolved: ResolvedPlan,
    ctx: AppContext, now: datetime,
) -> pint.Quantity | None:  # fmt: skip
    """The expected reservoir volume (mL) at ``now`` from the last fill (the last refill, else
    the prescription's [fill]) under every prescription since: the reservoir chart's rule."""
    last = refills[-1] if refills else None
    fill = Fill(last.filled.to("mL"), last.performed_at) if last else resolved.fill
    if fill is None:
        return None
    at = max(fill.at, now)
    since = programs_since_fill(versions, fill.at, at, ctx.library, ctx.catalog)
    volume = expected_volume(fill, since.schedule, at, changes=since.changes).volume
    return volume.to("mL")


def build_header(ctx: AppContext, patient_id: str) -> PatientHeader:
    """The header of ``patient_id`` now (``NotFoundError``/``InputError`` for no patient)."""
    now = ctx.clock()
    today: date = now.date()
    with ctx.uow.reader() as repo:
        patient = repo.get_patient(patient_id)
        devices = tuple((d, d.dwell_time(today)) for d in repo.devices_for(patient_id)
                        if d.in_place)  # fmt: skip
        versions = list(repo.prescriptions_for(patient_id))
        rx = current_prescription(repo, patient_id)
        refills = list(repo.refills_for(patient_id))
        open_alarms = sum(1 for a in repo.alarms_for(patient_id) if a.open)
    refill = entry_for(patient, refills[-1] if refills else None, today, ctx.soon)
    age = today.year - patient.birth_year if patient.birth_year else None
    drugs: tuple[DrugLine, ...] = ()
    volume = rate = reservoir = None
    problem = None
    if rx is not None:
        try:
            resolved = resolve(rx.plan().to_typed(), ctx.library, ctx.catalog)
            dose = daily_dose(resolved.schedule, resolved.admixture, resolved.program.patient_bolus)
            drugs = tuple(
                DrugLine(
                    i.drug.name,
                    i.concentration,
                    dose.nominal[i.drug.name],
                    dose.worst_case[i.drug.name],
                )
                for i in resolved.admixture.ingredients
            )
            volume = dose.nominal_volume.to("mL/d")
            rate = volume.to("mL/h")
            reservoir = _fill_and_volume(versions, refills, resolved, ctx, now)
        except InputError as exc:  # an old plan that no longer resolves: say so, show the rest
            problem = str(exc)
    return PatientHeader(patient, age, devices, rx.version if rx else None, drugs, volume, rate,
                         refill, reservoir, open_alarms, problem)  # fmt: skip


def header_for(ctx: AppContext, patient_id: str) -> PatientHeader | None:
    """:func:`build_header`, or None when there is no such patient (the page says so itself)."""
    try:
        return build_header(ctx, patient_id)
    except InputError:
        return None


def years(q: pint.Quantity) -> str:
    """A dwell time in days as text: "412 d (1.1 years)"; 1 year = 365.25 d (Julian year)."""
    days = float(q.to("d").magnitude)
    return f"{days:,.0f} d ({days / 365.25:.1f} years)" if days >= 365.25 else f"{days:,.0f} d"


__all__ = ["DrugLine", "PatientHeader", "build_header", "header_for", "years"]
