"""Import an existing registry: one row per patient, optionally with the implanted pump and
catheter. Every row is checked; the import is all or nothing, and a refusal lists every bad
row by line and field.

Columns (header row; names as below, any order; empty cells are "not given"):

- patient: ``mrn``, ``name``, ``date_of_birth`` (YYYY-MM-DD), ``sex``, ``contact``,
  ``diagnoses`` (``;``-separated codes, e.g. ``ckd:G4; diabetes``)
- implant (all or none of the first three): ``implanted_on``, ``pump_model``,
  ``pocket_side``, ``pump_serial``, ``pump_udi``; a catheter with ``catheter_model``,
  ``catheter_length`` (with its unit, e.g. ``45 cm``) and ``tip_level`` (e.g. ``T10``)
- stimulator: ``ipg_model``, ``ipg_serial``, ``ipg_implanted_on``, ``ipg_pocket_side`` and
  its leads ``lead1_model``, ``lead1_serial``, ``lead1_kind``, ``lead1_contacts`` … ``lead4_…``
  (:mod:`thecal.clinic.stimulator_import`)
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from thecal.clinic.errors import PermissionDenied
from thecal.clinic.lifecycle import check_procedure
from thecal.clinic.model import Device, Patient, Procedure, ProcedureKind, User
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.registration import (
    DeviceDetails,
    DeviceInput,
    PatientDetails,
    PatientInput,
    day,
    device_input,
    patient_input,
)
from thecal.clinic.stimulator_import import (
    STIMULATOR_COLUMNS,
    StimulatorRow,
    placed_stimulator,
    stimulator_row,
)
from thecal.devices.catalog import DeviceCatalog
from thecal.stimulation.catalog import StimulatorCatalog
from thecal.units import InputError

PATIENT_COLUMNS = ("mrn", "name", "date_of_birth", "sex", "contact", "diagnoses")
IMPLANT_COLUMNS = ("implanted_on", "pump_model", "pocket_side", "pump_serial", "pump_udi",
                   "catheter_model", "catheter_length", "tip_level")  # fmt: skip
COLUMNS = PATIENT_COLUMNS + IMPLANT_COLUMNS + STIMULATOR_COLUMNS
ROWS_MAX = 100_000  # one import at most: a memory bound, not a clinical one


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row: its line in the file (the header is line 1) and field."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


class ImportRefused(InputError):
    """Nothing was imported: ``errors`` lists every bad row."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        shown = "; ".join(str(e) for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__("csv", f"{len(errors)} bad row(s), nothing imported: {shown}{more}",
                         "every row valid")  # fmt: skip
        self.errors = tuple(errors)


@dataclass(frozen=True)
class ImportRow:
    line: int
    patient: PatientInput
    implanted_on: date | None = None
    devices: tuple[DeviceInput, ...] = field(default=())
    stimulator: StimulatorRow | None = None


def check_columns(header: Sequence[str]) -> None:
    """The header names known columns, each once, with every patient column but ``contact``
    and ``diagnoses``."""
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InputError("csv.header", f"unknown column(s) {', '.join(unknown)}",
                         "columns from: " + ", ".join(COLUMNS))  # fmt: skip
    twice = sorted({h for h in header if list(header).count(h) > 1})
    if twice:
        raise InputError("csv.header", f"column(s) {', '.join(twice)} given twice", "each once")
    missing = [c for c in ("mrn", "name", "date_of_birth", "sex") if c not in header]
    if missing:
        raise InputError("csv.header", f"missing column(s) {', '.join(missing)}", "mrn, name, "
                         "date_of_birth, sex")  # fmt: skip


def _row(
    line: int, raw: Mapping[str, str], today: date, catalog: DeviceCatalog,
    stimulators: StimulatorCatalog | None,
) -> ImportRow:  # fmt: skip
    patient = patient_input(raw, today)
    stimulator = stimulator_row(raw, today, stimulators)
    given = [c for c in ("implanted_on", "pump_model", "pocket_side") if raw.get(c, "").strip()]
    extra = [c for c in IMPLANT_COLUMNS[3:] if raw.get(c, "").strip()]
    if not given and not extra:
        return ImportRow(line, patient, stimulator=stimulator)
    missing = [c for c in ("implanted_on", "pump_model", "pocket_side") if c not in given]
    if missing:
        raise InputError(missing[0], "is required with an implant", "the implant's value")
    on = day(raw.get("implanted_on"), "implanted_on", today)
    assert on is not None  # given
    pump = device_input({"kind": "pump", "model": raw.get("pump_model"),
                         "serial": raw.get("pump_serial"), "udi": raw.get("pump_udi"),
                         "pocket_side": raw.get("pocket_side")}, catalog, name="pump")  # fmt: skip
    devices = [pump]
    if any(raw.get(c, "").strip() for c in ("catheter_model", "catheter_length", "tip_level")):
        devices.append(device_input({"kind": "catheter", "model": raw.get("catheter_model"),
                                     "length": raw.get("catheter_length"),
                                     "tip_level": raw.get("tip_level")}, catalog,
                                    name="catheter"))  # fmt: skip
    return ImportRow(line, patient, on, tuple(devices), stimulator)


def check_rows(
    rows: Sequence[tuple[int, Mapping[str, str]]], today: date, catalog: DeviceCatalog,
    stimulators: StimulatorCatalog | None = None,
) -> tuple[list[ImportRow], list[RowError]]:  # fmt: skip
    """Check every ``(line, cells)`` row; MRNs must differ within the file. ``stimulators``:
    the stimulator catalog, needed only by rows with an IPG."""
    good: list[ImportRow] = []
    bad: list[RowError] = []
    if len(rows) > ROWS_MAX:
        return [], [RowError(1, "csv", f"{len(rows)} rows; at most {ROWS_MAX} per import")]
    seen: dict[str, int] = {}
    for line, raw in rows:
        try:
            row = _row(line, raw, today, catalog, stimulators)
        except InputError as e:
            bad.append(RowError(line, e.field, str(e).removeprefix(f"{e.field}: ")))
            continue
        if row.patient.mrn in seen:
            bad.append(RowError(line, "mrn", f"{row.patient.mrn!r} is also on line "
                                f"{seen[row.patient.mrn]}"))  # fmt: skip
            continue
        seen[row.patient.mrn] = line
        good.append(row)
    return good, bad


def import_rows(
    uow: UnitOfWork, clock: Clock, actor: User, rows: Sequence[ImportRow]
) -> tuple[Patient, ...]:
    """Register every row's patient (and implant) in one transaction: an MRN already
    registered refuses the whole import (:class:`ImportRefused` listing each such row)."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "import patients")
    now = clock()
    out: list[Patient] = []
    with uow.transaction(actor.username, now, f"registry import of {len(rows)} patient(s)") as repo:
        taken = [RowError(r.line, "mrn", f"{r.patient.mrn!r} is already registered")
                 for r in rows if repo.patient_by_mrn(r.patient.mrn) is not None]  # fmt: skip
        if taken:
            raise ImportRefused(taken)
        for r in rows:
            p = r.patient
            patient = Patient(p.mrn, p.display_name, p.date_of_birth.year)
            repo.add_patient(patient)
            repo.put_patient_details(PatientDetails(patient.id, p.date_of_birth, p.sex,
                                                    p.contact, p.diagnoses))  # fmt: skip
            if r.implanted_on is not None:
                _implant(repo, actor, now.date(), patient.id, r)
            if r.stimulator is not None:
                _stimulator(repo, actor, now.date(), patient.id, r)
            out.append(patient)
    return tuple(out)


def _implant(
    r: ClinicRepository, actor: User, today: date, patient_id: str, row: ImportRow
) -> None:
    assert row.implanted_on is not None
    devices = [Device(patient_id, d.kind, d.model, row.implanted_on, d.serial,
                      implanted_length=d.implanted_length, tip_level=d.tip_level,
                      volume=d.volume, id=d.id) for d in row.devices]  # fmt: skip
    procedure = Procedure(patient_id, ProcedureKind.IMPLANT, row.implanted_on,
                          tuple(d.id for d in devices), (), "registry import",
                          actor.username)  # fmt: skip
    try:
        check_procedure(procedure, devices, [], r.devices_for(patient_id), today)
    except InputError as e:
        raise ImportRefused([RowError(row.line, e.field, str(e))]) from None
    for d, entry in zip(devices, row.devices, strict=True):
        r.add_device(d)
        if entry.udi or entry.pocket_side is not None:
            r.add_device_details(DeviceDetails(d.id, patient_id, entry.udi, entry.pocket_side))
    r.add_procedure(procedure)


def _stimulator(
    r: ClinicRepository, actor: User, today: date, patient_id: str, row: ImportRow
) -> None:
    assert row.stimulator is not None
    procedure, devices, leads = placed_stimulator(patient_id, row.stimulator, actor)
    try:
        check_procedure(procedure, list(devices), [], r.devices_for(patient_id), today)
    except InputError as e:
        raise ImportRefused([RowError(row.line, e.field, str(e))]) from None
    for d in devices:
        r.add_device(d)
    side = row.stimulator.ipg.pocket_side
    r.add_device_details(DeviceDetails(devices[0].id, patient_id, "", side))
    for lead in leads:
        r.add_stim_lead(lead)
    r.add_procedure(procedure)
