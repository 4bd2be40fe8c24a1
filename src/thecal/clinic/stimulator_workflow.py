"""Stimulator workflows: a program version through the stimulation gate, an impedance set, a
battery reading, and the summary the patient page and the API show.

A program version is the stimulation program file (its DTO, stored as JSON) checked by
:func:`thecal.stimulation.gate.check_program` against the stimulator catalog: a hard finding
refuses, each soft finding needs a reason from a role allowed to give it (the pump's rule,
:func:`thecal.clinic.authorization.may_give`), and a nurse may only lower amplitudes within the
current version. Everything is checked inside the write's transaction.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from thecal.clinic.authorization import OutsidePrescription, may_give
from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.impedance_trend import ContactTrend, TrendSettings, contact_trends
from thecal.clinic.model import Device, DeviceKind, Role, StoredFinding, User
from thecal.clinic.patient_context import with_version
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.settings import ClinicSettings
from thecal.clinic.stimulator_battery import BatteryOutlook, battery_outlook
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ContactImpedance,
    ImpedanceSet,
    MeasurementSource,
    StimLead,
    StimProgramVersion,
)
from thecal.stimulation.catalog import IpgSpec, StimulatorCatalog
from thecal.stimulation.gate import StimulationCheck, check_program
from thecal.stimulation.program_file import StimulationFile
from thecal.stimulation.resolve import resolve
from thecal.therapy.compare import above
from thecal.therapy.findings import Finding, check_overrides, needs_reason
from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class StimulatorContext:
    """The stimulator catalog (with the institution's charge limits) and the clinic's
    impedance-trend and replacement settings."""

    catalog: StimulatorCatalog
    trend: TrendSettings


def stimulator(repo: ClinicRepository, patient_id: str, device_id: str) -> Device:
    """The patient's stimulator ``device_id`` (NotFoundError: none, or not this patient's)."""
    repo.get_patient(patient_id)
    device = repo.get_device(device_id)
    if device.patient_id != patient_id or device.kind is not DeviceKind.STIMULATOR:
        raise NotFoundError("stimulator", device_id)
    return device


@dataclass(frozen=True)
class StimProgramPreview:
    program: StimulationFile
    check: StimulationCheck
    current: StimProgramVersion | None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.check.findings


def gate(program: StimulationFile, device: Device, ctx: StimulatorContext) -> StimulationCheck:
    """``program`` resolved against the catalog and checked (InputError naming the field)."""
    if program.ipg.model.strip().casefold() != device.model.strip().casefold():
        raise InputError("program.ipg.model", f"{program.ipg.model!r} is not this stimulator",
                         device.model)  # fmt: skip
    resolved = resolve(program, ctx.catalog)
    return check_program(resolved.program, resolved.contact_areas, resolved.ipg,
                         ctx.catalog.limits)  # fmt: skip


def _amplitudes(program: StimulationFile) -> list[dict[str, Any]]:
    return [a.model_dump(include={"amplitude", "patient_min", "patient_max", "mode"})
            for a in program.areas]  # fmt: skip


def nurse_stim_problem(current: StimulationFile | None, new: StimulationFile) -> str | None:
    """Why a nurse may not store ``new``, or None: the same program (contacts, pulse width,
    rate, waveform, IPG, leads) with no amplitude and no top of the patient's range above the
    current one's (equal is within). Anything else needs a physician."""
    if current is None:
        return "there is no current stimulator program to stay within"
    keep = {"amplitude", "patient_min", "patient_max"}
    same = [a.model_dump(exclude=keep) for a in new.areas] == [
        a.model_dump(exclude=keep) for a in current.areas
    ]
    if not same or new.ipg != current.ipg or new.leads != current.leads:
        return "only amplitudes may be changed by a nurse; anything else needs a physician"
    for i, (old, now) in enumerate(zip(current.areas, new.areas, strict=True)):
        dim = Dimension.CURRENT if now.mode == "current" else Dimension.VOLTAGE
        for key in ("amplitude", "patient_max"):
            before, after = getattr(old, key), getattr(now, key)
            if after is None:
                continue
            if before is None or above(
                parse_quantity(after, f"areas[{i}].{key}", dim),
                parse_quantity(before, f"areas[{i}].{key}", dim),
            ):
                what = "amplitude" if key == "amplitude" else "top of the patient's range"
                return (f"area {i + 1}: the {what} {after} is above the current {before}; "
                        "only a physician may raise it")  # fmt: skip
    return None


def preview_stim_program(
    repo: ClinicRepository, ctx: StimulatorContext, patient_id: str, device_id: str,
    program: StimulationFile, actor: User | None,
) -> StimProgramPreview:  # fmt: skip
    """The gate's check of ``program`` for this stimulator, nothing written; with ``actor``,
    PermissionDenied first for a viewer or a nurse beyond the current version."""
    device = stimulator(repo, patient_id, device_id)
    versions = repo.stim_programs_for(device_id)
    current = versions[-1] if versions else None
    if actor is not None:
        if actor.role is Role.VIEWER:
            raise PermissionDenied(actor.username, actor.role.value, "change stimulator programs")
        if actor.role is Role.NURSE:
            problem = nurse_stim_problem(current.program() if current else None, program)
            if problem:
                raise OutsidePrescription(actor, problem)
    return StimProgramPreview(program, gate(program, device, ctx), current)


def change_stim_program(
    uow: UnitOfWork, clock: Clock, ctx: StimulatorContext, actor: User, patient_id: str,
    device_id: str, program: StimulationFile, reason: str,
    overrides: Mapping[str, str] | None = None, *, patient_version: int | None = None,
) -> StimProgramVersion:  # fmt: skip
    """Store ``program`` as the stimulator's next version in one transaction: a reason is
    required; hard findings refuse (OverrideError); each soft finding needs a reason from a
    role that may give it (OverrideNotAllowed); ConcurrentEditError on a stale version."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "change stimulator programs")
    if not reason.strip():
        raise InputError("stimulator_program.reason", "is required", "why the program changes")
    reasons = {k: v for k, v in (overrides or {}).items() if v.strip()}
    at = clock()
    with uow.transaction(actor.username, at, reason) as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        preview = preview_stim_program(repo, ctx, patient_id, device_id, program, actor)
        check_overrides(preview.findings, reasons, may_give(actor.role))
        soft = {f.code.value for f in needs_reason(preview.findings)}
        version = StimProgramVersion(
            patient_id, device_id, (preview.current.version if preview.current else 0) + 1,
            program.model_dump_json(exclude_none=True), actor.username, reason.strip(), at,
            tuple(StoredFinding.of(f) for f in preview.findings),
            tuple(sorted((k, r.strip()) for k, r in reasons.items() if k in soft)),
        )  # fmt: skip
        repo.add_stim_program(version)
    return version


def _writer(actor: User, what: str) -> None:
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, what)


def impedance_set(
    now: datetime, patient_id: str, device_id: str, values: Sequence[ContactImpedance],
    source: MeasurementSource, at: datetime | None, by: str,
) -> ImpedanceSet:  # fmt: skip
    """A checked impedance set, not stored: every value above zero, each contact once, ``at``
    not after ``now`` (default ``now``). :class:`InputError` names the field."""
    when = at or now
    if when > now:
        raise InputError("impedances.at", "is in the future", "the time it was measured")
    if not values:
        raise InputError("impedances.values", "needs at least one contact")
    seen: set[str] = set()
    for i, v in enumerate(values):
        if not v.contact.strip() or v.contact in seen:
            raise InputError(f"impedances.values[{i}].contact", "empty or listed twice")
        seen.add(v.contact)
        # An open circuit may come without a number (a printout's "open"); a reading may not.
        if v.impedance is None and not v.open_circuit:
            raise InputError(f"impedances.values[{i}].impedance", "is required unless the "
                             "contact is an open circuit", Dimension.IMPEDANCE.example)  # fmt: skip
        if v.impedance is not None and not above(
            v.impedance, parse_quantity("0 ohm", "zero", Dimension.IMPEDANCE)
        ):
            raise InputError(f"impedances.values[{i}].impedance", "must be above zero",
                             Dimension.IMPEDANCE.example)  # fmt: skip
    return ImpedanceSet(patient_id, device_id, when, source,
                        tuple(ContactImpedance(v.contact.strip(),
                                               None if v.impedance is None
                                               else v.impedance.to("ohm"), v.open_circuit)
                              for v in values), by)  # fmt: skip


def record_impedances(
    uow: UnitOfWork, clock: Clock, actor: User, patient_id: str, device_id: str,
    values: Sequence[ContactImpedance], source: MeasurementSource, at: datetime | None = None,
    *, patient_version: int | None = None,
) -> ImpedanceSet:  # fmt: skip
    """Store one impedance set (see :func:`impedance_set` for the checks)."""
    _writer(actor, "record impedances")
    now = clock()
    record = impedance_set(now, patient_id, device_id, values, source, at, actor.username)
    with uow.transaction(actor.username, now, f"impedances ({source.value})") as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        stimulator(repo, patient_id, device_id)
        repo.add_impedance_set(record)
    return record


def add_lead(
    uow: UnitOfWork, clock: Clock, ctx: StimulatorContext, actor: User, lead: StimLead,
    *, patient_version: int | None = None,
) -> StimLead:  # fmt: skip
    """Record a lead on a stimulator: a name the programs can use (not "case", not taken by
    another lead in place), a catalog lead model, an implant date not in the future."""
    _writer(actor, "record leads")
    now = clock()
    name = lead.name.strip()
    if not name or name.casefold() == "case":
        raise InputError("lead.name", f"{lead.name!r} cannot name a lead", "e.g. 'L1'")
    ctx.catalog.lead(lead.model, "lead.model")
    if lead.implanted_on > now.date():
        raise InputError("lead.implanted_on", "is in the future", "the implant date")
    with uow.transaction(actor.username, now, f"lead {name} recorded") as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(lead.patient_id), patient_version))
        stimulator(repo, lead.patient_id, lead.device_id)
        taken = {x.name for x in repo.stim_leads_for(lead.device_id) if x.removed_on is None}
        if name in taken:
            raise InputError("lead.name", f"{name!r} is already a lead of this stimulator")
        stored = StimLead(lead.patient_id, lead.device_id, name, lead.model, lead.implanted_on,
                          lead.position.strip(), None, lead.id)  # fmt: skip
        repo.add_stim_lead(stored)
    return stored


def check_battery(now: datetime, reading: BatteryReading) -> None:
    """A battery reading's checks: a voltage above zero or a percentage in 0..100 % (both ends
    allowed), not after ``now``. :class:`InputError` names the field."""
    if reading.at > now:
        raise InputError("battery.at", "is in the future", "the time it was read")
    if reading.voltage is None and reading.percent is None:
        raise InputError("battery.voltage", "a voltage or a percentage is required", "'3.1 V'")
    zero = parse_quantity("0", "zero", Dimension.DIMENSIONLESS)
    if reading.percent is not None and (
        above(zero, reading.percent) or above(reading.percent, parse_quantity("100 %", "x",
                                                                              Dimension.DIMENSIONLESS))
    ):  # fmt: skip
        raise InputError("battery.percent", "is outside 0..100 %", "e.g. '80 %'")
    if reading.voltage is not None and not above(reading.voltage, parse_quantity(
            "0 V", "zero", Dimension.VOLTAGE)):  # fmt: skip
        raise InputError("battery.voltage", "must be above zero", "e.g. '3.1 V'")


def record_battery(
    uow: UnitOfWork, clock: Clock, actor: User, patient_id: str, device_id: str,
    reading: BatteryReading, *, patient_version: int | None = None,
) -> BatteryReading:  # fmt: skip
    """Store a battery reading (see :func:`check_battery`)."""
    _writer(actor, "record battery readings")
    now = clock()
    check_battery(now, reading)
    with uow.transaction(actor.username, now, "battery reading") as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        stimulator(repo, patient_id, device_id)
        repo.add_battery_reading(reading)
    return reading


@dataclass(frozen=True)
class StimulatorSummary:
    """One stimulator as the clinic shows it: leads, program versions (the current one with
    the gate's per-contact check; None when it no longer resolves), impedance history with
    trends, battery outlook and every finding."""

    device: Device
    ipg: IpgSpec | None
    leads: tuple[StimLead, ...]
    programs: tuple[StimProgramVersion, ...]
    check: StimulationCheck | None
    check_error: str | None
    impedances: tuple[ImpedanceSet, ...]
    trends: tuple[ContactTrend, ...]
    battery: BatteryOutlook
    batteries: tuple[BatteryReading, ...]
    findings: tuple[Finding, ...]


def _ipg(catalog: StimulatorCatalog, model: str) -> IpgSpec | None:
    try:
        return catalog.ipg(model, "device.model")
    except InputError:
        return None


def summarise(
    repo: ClinicRepository, ctx: StimulatorContext, settings: ClinicSettings, device: Device,
    today: date,
) -> StimulatorSummary:  # fmt: skip
    """The summary of one stimulator (see :class:`StimulatorSummary`)."""
    programs = tuple(repo.stim_programs_for(device.id))
    check, error = None, None
    if programs:
        try:
            check = gate(programs[-1].program(), device, ctx)
        except InputError as exc:
            error = str(exc)
    sets = tuple(repo.impedance_sets_for(device.id))
    readings: dict[str, list[tuple[datetime, Any]]] = {}
    opens: dict[str, list[datetime]] = {}
    for s in sets:
        for v in s.values:
            if v.open_circuit or v.impedance is None:
                opens.setdefault(v.contact, []).append(s.at)  # not a number: see the trend
            else:
                readings.setdefault(v.contact, []).append((s.at, v.impedance))
    trends, extra = contact_trends(readings, ctx.trend, device.model, opens)
    batteries = tuple(repo.battery_readings_for(device.id))
    ipg = _ipg(ctx.catalog, device.model)
    outlook = battery_outlook(
        batteries, ipg, device.model, device.implanted_on, today,
        ctx.trend.slope_errors, ctx.trend.sources.get("slope_errors", ""),
        settings.replacement_lead, settings.replacement_lead_source,
    )  # fmt: skip
    findings = [f for t in trends for f in t.findings] + list(extra) + list(outlook.findings)
    return StimulatorSummary(device, ipg, tuple(repo.stim_leads_for(device.id)), programs,
                             check, error, sets, trends, outlook, batteries,
                             tuple(findings))  # fmt: skip


def stimulator_summaries(
    repo: ClinicRepository, ctx: StimulatorContext, settings: ClinicSettings, patient_id: str,
    today: date,
) -> tuple[StimulatorSummary, ...]:  # fmt: skip
    """Every stimulator of the patient (in place first, then removed ones), summarised."""
    repo.get_patient(patient_id)
    devices = [d for d in repo.devices_for(patient_id) if d.kind is DeviceKind.STIMULATOR]
    devices.sort(key=lambda d: (not d.in_place, d.implanted_on), reverse=False)
    return tuple(summarise(repo, ctx, settings, d, today) for d in devices)
