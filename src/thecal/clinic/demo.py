"""A synthetic demo clinic: the published case reports as synthetic patients and ~20 generated
patients with refill histories, plus one demo user per role. Everything here is SYNTHETIC demo
data — names say so, and the doses are the shipped example plans' illustrative values.

Pure: plans come in through ``example`` (an adapter reads the packaged example files), time is
``today``, randomness is a seeded :class:`random.Random`. Every write goes through the clinic's
workflows, so the demo data carries the same audit trail and safety-gate findings as real use.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import pint

from thecal.clinic import demo_stimulators as stim
from thecal.clinic.lifecycle import record_procedure
from thecal.clinic.model import (
    Alarm,
    Complication,
    ComplicationCode,
    Device,
    DeviceKind,
    Patient,
    Procedure,
    ProcedureKind,
    Role,
    User,
)
from thecal.clinic.ports import UnitOfWork
from thecal.clinic.refill_workflow import RefillOutcome
from thecal.clinic.registration import Diagnosis, DiagnosisCode, PatientDetails, Sex
from thecal.clinic.stimulator_workflow import StimulatorContext
from thecal.clinic.workflows import (
    RefillInput,
    change_program,
    preview_program_change,
    preview_refill,
)
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import above
from thecal.therapy.findings import Code, needs_reason
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_

DEMO_REASON = "demo data: synthetic patient"
_ALL_REASONS = {code.value: DEMO_REASON for code in Code}
SEED_PATIENTS = 4
"""How many case-report patients the demo has besides the generated ones."""


@dataclass(frozen=True)
class DemoLogin:
    """A demo user and its password (printed by ``thecal serve --demo``)."""

    user: User
    password: str


DEMO_LOGINS = (
    DemoLogin(User("physician", "Dr Demo Physician (synthetic)", Role.PHYSICIAN), "demo-physician"),
    DemoLogin(User("nurse", "Demo Nurse (synthetic)", Role.NURSE), "demo-nurse"),
    DemoLogin(User("viewer", "Demo Viewer (synthetic)", Role.VIEWER), "demo-viewer"),
)


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class _Ctx:
    uow: UnitOfWork
    library: DrugLibrary
    catalog: DeviceCatalog
    clock: _Clock
    doctor: User
    nurse: User
    rng: random.Random
    today: date
    stimulation: StimulatorContext | None = None
    progress: Callable[[str], None] | None = None

    def done(self, patient: Patient) -> None:
        """One more patient loaded (tells the caller's progress display)."""
        if self.progress is not None:
            self.progress(patient.mrn)


def _at(d: date, hour: int = 9) -> datetime:
    return datetime.combine(d, time(hour, 0))


def _add_patient(c: _Ctx, patient: Patient, on: date) -> None:
    c.clock.now = _at(on, 8)
    with c.uow.transaction(c.doctor.username, c.clock(), DEMO_REASON) as repo:
        repo.add_patient(patient)


def _procedure(
    c: _Ctx, patient: Patient, kind: ProcedureKind, on: date, placed: list[Device],
    removed: tuple[str, ...] = (), notes: str = "",
) -> None:  # fmt: skip
    c.clock.now = _at(on, 8)
    record_procedure(
        c.uow, c.clock, c.doctor, Procedure(patient.id, kind, on, removed=removed, notes=notes),
        placed, DEMO_REASON,
    )  # fmt: skip


def _prescribe(c: _Ctx, patient: Patient, plan: PlanFile, on: date) -> None:
    """Start ``plan`` on ``on`` 09:00 with a full fill then; soft findings get the demo reason."""
    at = _at(on)
    fill = plan.fill.model_copy(update={"at": at}) if plan.fill else None
    plan = plan.model_copy(update={"at": at, "fill": fill, "priming": None, "next_refill": None})
    c.clock.now = at
    with c.uow.reader() as repo:
        findings = preview_program_change(
            repo, c.library, c.catalog, patient_id=patient.id, plan=plan, at=at
        ).findings  # fmt: skip
    reasons = {f.code.value: DEMO_REASON for f in needs_reason(findings)}
    change_program(
        c.uow,
        c.clock,
        c.library,
        c.catalog,
        actor=c.doctor,
        patient_id=patient.id,
        plan=plan,
        reason=DEMO_REASON,
        overrides=reasons,
    )


def _refills(c: _Ctx, patient: Patient, until: date) -> RefillOutcome | None:
    """Refill a few days before each refill-by date until ``until``; the withdrawn volume is the
    expected residual ± a few percent (synthetic discrepancies). Returns the last refill."""
    from thecal.clinic.workflows import record_refill

    last: RefillOutcome | None = None
    while True:
        with c.uow.reader() as repo:
            refills = repo.refills_for(patient.id)
            prescription = repo.prescriptions_for(patient.id)[-1]
        plan = prescription.plan()
        assert plan.fill is not None
        fill_volume: pint.Quantity = Q_(plan.fill.volume).to("mL")
        due = refills[-1].refill_by if refills and refills[-1].refill_by is not None else None
        if due is None:
            # First refill: ask the forecast what the fill lasts (a zero-withdrawal preview).
            with c.uow.reader() as repo:
                probe = preview_refill(
                    repo, c.library, c.catalog, patient_id=patient.id,
                    entry=RefillInput(Q_(0.0, "mL"), fill_volume, "probe"),
                    at=_at(plan.fill.at.date() + timedelta(days=1)), by="demo",
                )  # fmt: skip
            # The fill lasts about as long as the next one: a conservative first step.
            due = probe.record.refill_by
            if due is None:
                return last
        at = _at((due - timedelta(days=c.rng.randint(2, 10))).date(), c.rng.choice([9, 10, 14]))
        if at.date() > until:
            return last
        with c.uow.reader() as repo:
            probe = preview_refill(
                repo, c.library, c.catalog, patient_id=patient.id,
                entry=RefillInput(Q_(0.0, "mL"), fill_volume, "probe"), at=at, by="demo",
            )  # fmt: skip
        expected = float(probe.record.expected_remaining.to("mL").magnitude)
        withdrawn = max(0.0, round(expected * (1 + c.rng.uniform(-0.04, 0.04)), 1))
        lot = f"DEMO-LOT-{c.rng.randint(1000, 9999)}"
        c.clock.now = at
        # A reason offered for every code: the record keeps only those its soft findings need
        # (one assessment per refill instead of a preview and then the same one again).
        last = record_refill(
            c.uow, c.clock, c.library, c.catalog, actor=c.nurse, patient_id=patient.id,
            entry=RefillInput(Q_(withdrawn, "mL"), fill_volume, lot, overrides=_ALL_REASONS),
        )  # fmt: skip


def _low_reservoir_alarm(
    c: _Ctx, patient: Patient, pump: Device, last: RefillOutcome | None
) -> None:
    """A LOW_RESERVOIR alarm only where the record implies one: the expected reservoir this
    morning (07:00) is at or below the pump's low-reservoir alarm volume (the pump alarms when
    its estimate reaches the threshold). It was raised when the last fill's forecast says the
    threshold was reached (nominal rate), else this morning. No alarm after a fill this
    morning or later (the reservoir is full)."""
    now = _at(c.today, 7)
    if last is not None and last.record.performed_at >= now:
        return
    with c.uow.reader() as repo:
        fill = repo.prescriptions_for(patient.id)[-1].plan().fill
        assert fill is not None
        probe = preview_refill(
            repo, c.library, c.catalog, patient_id=patient.id,
            entry=RefillInput(Q_(0.0, "mL"), Q_(fill.volume).to("mL"), "probe"), at=now, by="demo",
        )  # fmt: skip
    if probe.forecast is None or above(
        probe.record.expected_remaining, probe.forecast.alarm_threshold
    ):
        return
    reached = last.forecast.low_alarm_nominal if last and last.forecast else None
    raised = reached if reached is not None and reached <= now else now
    text = "low reservoir alarm reported (synthetic)"
    with c.uow.transaction("physician", raised, DEMO_REASON) as repo:
        repo.add_alarm(Alarm(patient.id, "LOW_RESERVOIR", "non-critical", text, raised, pump.id))


def _stimulator(
    c: _Ctx, old: Device, old_removed: Device, new: Device, impedance: Callable[[float], float],
    volts: Callable[[float], float] | None, years_before: float,
) -> None:  # fmt: skip
    """Leads, a program and the histories of a stimulator replaced (or relocated) by ``new``;
    the impedance and voltage curves take years since ``old``'s implant."""
    assert c.stimulation is not None
    clock = stim.SettableClock(c.clock())
    for ipg in (old, new):
        stim.add_leads(c.uow, clock, c.doctor, ipg, old.implanted_on,
                       "T8-T10 midline (illustrative)")  # fmt: skip
        stim.program(c.uow, clock, c.doctor, c.stimulation, ipg, "3.5 mA", "tonic")
    # Its own seeded generator: the generated patients' histories stay what they were.
    rng = random.Random(f"stimulator {old.serial}")
    stim.history(c.uow, clock, c.nurse, old_removed, c.today, impedance, volts, rng)
    stim.history(c.uow, clock, c.nurse, new, c.today, lambda y: impedance(y + years_before),
                 (lambda y: 3.05 - 0.045 * y) if volts else None, rng)  # fmt: skip


def _seed_cases(c: _Ctx, example: Callable[[str], PlanFile]) -> None:
    # Case report, Pain Medicine Case Reports 2024;8(6) ("Intraoperative Findings of Pathologic
    # Calcification Surrounding an Intrathecal Pain Pump"): a morphine pump reaching end of
    # service replaced in a calcified pocket, the old catheter segment spliced; a spinal cord
    # stimulator replaced too. The stimulator's model, leads, program, impedances and battery
    # are illustrative (demo_stimulators).
    p = Patient(
        "SEED-000", "Synthetic: calcified pump pocket (Pain Med Case Rep 2024)", 1952, False
    )
    _add_patient(c, p, date(2009, 3, 10))
    old_pump = Device(p.id, DeviceKind.PUMP, "Prometra II 20 mL", date(2009, 3, 10), "DEMO-P0")
    cath = Device(p.id, DeviceKind.CATHETER, "Prometra catheter", date(2009, 3, 10),
                  implanted_length=Q_(60.0, "cm"), tip_level="T10")  # fmt: skip
    _procedure(c, p, ProcedureKind.IMPLANT, date(2009, 3, 10), [old_pump, cath])
    primary = "Medtronic primary-cell SCS IPG"
    scs = Device(p.id, DeviceKind.STIMULATOR, primary, date(2015, 6, 1), "DEMO-S0")
    _procedure(c, p, ProcedureKind.IMPLANT, date(2015, 6, 1), [scs])
    new_pump = Device(p.id, DeviceKind.PUMP, "Prometra II 20 mL", date(2023, 2, 14), "DEMO-P1")
    _procedure(c, p, ProcedureKind.REPLACEMENT, date(2023, 2, 14), [new_pump], (old_pump.id,),
               "end of service; pocket calcified; stiff catheter segment spliced")  # fmt: skip
    new_scs = Device(p.id, DeviceKind.STIMULATOR, primary, date(2023, 2, 14), "DEMO-S1")
    _procedure(c, p, ProcedureKind.REVISION, date(2023, 2, 14), [new_scs], (scs.id,),
               "stimulator generator replaced in the same session")  # fmt: skip
    with c.uow.transaction(c.doctor.username, c.clock(), DEMO_REASON) as repo:
        pocket = "calcified pump pocket"
        repo.add_complication(
            Complication(p.id, ComplicationCode.OTHER, date(2023, 2, 14), pocket, new_pump.id)
        )
    if c.stimulation is not None:
        # Illustrative: a slow rise over years (700 ohm + 60 ohm per year since 2015), the
        # primary cell falling towards its end of service, replaced with the pump in 2023.
        _stimulator(c, scs, replace(scs, removed_on=date(2023, 2, 14)), new_scs,
                    lambda y: 700 + 60 * y, lambda y: 3.05 - 0.045 * y, 7.7)  # fmt: skip
    _prescribe(c, p, example("seed000-catheter-splice"), date(2023, 2, 14))
    _low_reservoir_alarm(c, p, new_pump, _refills(c, p, c.today))
    c.done(p)

    # Bamps et al., J Clin Case Rep 2017;7: severe focal ectopic calcification of an abdominal
    # IPG pocket in a 58-year-old woman on long-term haemodialysis (failed back surgery
    # syndrome, spinal cord stimulator); the generator was relocated to the contralateral side
    # before a kidney transplant (records only). The report gives no dates: the relocation is
    # put in 2016 (before the publication, at 58: born 1958), the implant five years earlier;
    # both dates are illustrative, as are the curves below. The report names no generator: the
    # catalog's generic primary-cell entry (a registry median, no product) stands in, because a
    # named current model (e.g. Proclaim XR, approved years later) would be an anachronism.
    woman = "synthetic; the case report's patient: a woman, 58 at the relocation"
    title = "Synthetic: dialysis, IPG pocket calcification (Bamps 2017)"
    p = Patient("SEED-001", title, 1958, notes=woman)
    implanted, relocated = date(2011, 4, 4), date(2016, 5, 9)
    _add_patient(c, p, implanted)
    # Her coded comorbidities (the report: long-term haemodialysis for end-stage renal failure,
    # KDIGO G5), so that the decision rules see them: the date of birth is illustrative.
    with c.uow.transaction(c.doctor.username, c.clock(), DEMO_REASON) as repo:
        repo.put_patient_details(PatientDetails(
            p.id, date(1958, 1, 1), Sex.FEMALE,
            diagnoses=(Diagnosis(DiagnosisCode.DIALYSIS), Diagnosis(DiagnosisCode.CKD, "G5")),
        ))  # fmt: skip
    generic = "Medtronic primary-cell SCS IPG"
    ipg = Device(p.id, DeviceKind.STIMULATOR, generic, implanted, "DEMO-S2")
    lead = Device(p.id, DeviceKind.LEAD, "Vectris 977A2", implanted)
    _procedure(c, p, ProcedureKind.IMPLANT, implanted, [ipg, lead])
    moved = Device(p.id, DeviceKind.STIMULATOR, generic, relocated, "DEMO-S3",
                   notes="relocated generator")  # fmt: skip
    _procedure(c, p, ProcedureKind.REVISION, relocated, [moved], (ipg.id,),
               "IPG relocated to the contralateral side before a kidney transplant: severe "
               "ectopic calcification of the abdominal pocket")  # fmt: skip
    with c.uow.transaction(c.doctor.username, c.clock(), DEMO_REASON) as repo:
        repo.add_complication(Complication(p.id, ComplicationCode.OTHER, relocated,
                                           "ectopic calcification of the IPG pocket (dialysis)",
                                           moved.id, "physician"))  # fmt: skip
    if c.stimulation is not None:
        # Illustrative: impedance rising faster around calcifying tissue (700 ohm x e^(0.12 per
        # year)), on before and after the relocation (the same leads); 2011-04-04 to
        # 2016-05-09 is 1,862 d = 5.1 years (5 x 365 + 2 leap days + 35 d).
        _stimulator(c, ipg, replace(ipg, removed_on=relocated), moved,
                    lambda y: 700 * math.exp(0.12 * y), None, 5.1)  # fmt: skip
    c.done(p)

    # Chai et al., Pain Physician 2013;16:E107-E111: two cancer-pain patients, an intrathecal
    # trial then an implanted pump.
    for n in (1, 2):
        implant = example(f"seed003-case{n}-implant")
        on = implant.at.date()
        p = Patient(
            f"SEED-003-{n}", f"Synthetic: cancer pain, case {n} (Chai 2013)", 1960 + n, False
        )
        _add_patient(c, p, on - timedelta(days=14))
        trial = Device(p.id, DeviceKind.TRIAL_PUMP, "external trial pump (record)",
                       on - timedelta(days=14))  # fmt: skip
        _procedure(c, p, ProcedureKind.TRIAL, on - timedelta(days=14), [trial])
        _procedure(c, p, ProcedureKind.EXPLANT, on - timedelta(days=7), [], (trial.id,),
                   "trial ended: good response")  # fmt: skip
        pump = Device(p.id, DeviceKind.PUMP, implant.pump.model, on, f"DEMO-C{n}")
        _procedure(c, p, ProcedureKind.IMPLANT, on, [pump])
        _prescribe(c, p, implant, on)
        _low_reservoir_alarm(c, p, pump, _refills(c, p, c.today))
        c.done(p)


_REGIMENS = (
    ("morphine", "10 mg/mL", "3 mg/d"),
    ("morphine", "10 mg/mL", "2 mg/d"),
    ("hydromorphone", "10 mg/mL", "1.999 mg/d"),
)
_PUMPS = ("SynchroMed II 8637-20", "Prometra II 20 mL")


def _generated(c: _Ctx, n: int) -> None:
    for i in range(1, n + 1):
        drug, conc, dose = c.rng.choice(_REGIMENS)
        model = c.rng.choice(_PUMPS)
        on = c.today - timedelta(days=c.rng.randint(120, 900))
        p = Patient(f"DEMO-{i:04d}", f"Synthetic Patient {i:02d}", c.rng.randint(1940, 1990), False)
        _add_patient(c, p, on)
        pump = Device(p.id, DeviceKind.PUMP, model, on, f"DEMO-G{i:04d}")
        _procedure(c, p, ProcedureKind.IMPLANT, on, [pump])
        plan = PlanFile.model_validate({
            "title": f"synthetic {drug} {dose}", "at": _at(on), "patient": {"opioid_naive": False},
            "pump": {"model": model}, "admixture": [{"drug": drug, "concentration": conc}],
            "schedule": {"mode": "continuous", "dose": dose, "drug": drug},
            "fill": {"volume": "20 mL", "at": _at(on), "first_fill": True},
        })  # fmt: skip
        _prescribe(c, p, plan, on)
        # Some patients stop short of today: their refill is overdue on the dashboard.
        last = _refills(c, p, c.today - timedelta(days=c.rng.choice([0, 0, 0, 20, 40])))
        c.rng.random()  # was a random alarm: drawn still, so the next patients stay the same
        _low_reservoir_alarm(c, p, pump, last)
        c.done(p)


def load_demo(
    uow: UnitOfWork,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    example: Callable[[str], PlanFile],
    today: date,
    generated: int = 20,
    seed: int = 5,
    stimulation: StimulatorContext | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[DemoLogin, ...]:
    """Fill an empty clinic with the demo users, the case-report patients and ``generated``
    synthetic patients whose refill histories run up to ``today``. Returns the demo logins (the
    caller stores their password hashes). With ``stimulation`` the stimulators get leads,
    programs and (illustrative) impedance and battery histories. ``progress`` is called with
    each patient's record number once it is loaded (:data:`SEED_PATIENTS` + ``generated``
    calls)."""
    c = _Ctx(uow, library, catalog, _Clock(_at(today)), DEMO_LOGINS[0].user,
             DEMO_LOGINS[1].user, random.Random(seed), today, stimulation, progress)  # fmt: skip
    with uow.transaction("setup", _at(date(2009, 1, 1), 0), DEMO_REASON) as repo:
        for login in DEMO_LOGINS:
            repo.add_user(login.user)
    _seed_cases(c, example)
    _generated(c, generated)
    return DEMO_LOGINS
