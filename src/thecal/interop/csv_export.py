"""CSV export of the registry tables and the audit log, for audits and research.

One CSV file per table (:data:`TABLES`: patients, devices, procedures, prescriptions, refills,
interrogations, alarms, and ``audit``), UTF-8, a header row, comma-separated, RFC 4180 quoting.
Lossless where a cell allows it (the review of a similar export found zeros turned into blanks,
https://github.com/nightscout/cgm-remote-monitor/issues/7545):

* a quantity is two columns, ``<name>`` the number as a plain decimal (never an exponent; the
  shortest text that reads back to the same float) and ``<name>_unit`` its UCUM code; zero is
  ``0``, and only an absent value is an empty cell;
* times are ISO 8601 in clinic local time, days ``YYYY-MM-DD``, booleans ``true``/``false``;
* lists (findings, reasons given, diagnoses) are ``;``-separated ``key:value`` items, and a
  prescription's plan and an interrogation's snapshot are their JSON text.

A free-text cell beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
leading ``'`` so a spreadsheet shows it as text rather than running it as a formula (OWASP,
"CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection); numbers are never
changed. The audit log is exported only for a physician or a nurse (its reader rule)."""

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pint

from thecal.clinic.audit_view import AuditQuery, check_reader
from thecal.clinic.interrogation import read_snapshot
from thecal.clinic.model import Role, StoredFinding, User
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.services import ClinicServices
from thecal.units import InputError, to_ucum

Row = dict[str, Any]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_AUDIT_CHUNK = 1000  # audit entries read per query


def number(value: float) -> str:
    """``value`` as a plain decimal, shortest round-trip digits: 1e-05 → ``0.00001``."""
    return str(np.format_float_positional(float(value), trim="-"))


def quantity(name: str, q: pint.Quantity | None, unit: str | None = None) -> Row:
    """The two cells of a quantity (optionally converted to the pint unit ``unit``)."""
    if q is None:
        return {name: None, f"{name}_unit": None}
    shown = q.to(unit) if unit else q
    return {name: float(shown.magnitude), f"{name}_unit": to_ucum(shown)}


def findings(items: Sequence[StoredFinding]) -> str:
    """``level:CODE`` items, ``;``-separated."""
    return ";".join(f"{f.level.value}:{f.code}" for f in items)


def pairs(items: Sequence[tuple[str, str]]) -> str:
    return ";".join(f"{k}:{v}" for k, v in items)


def cell(value: Any) -> str:
    """One cell's text (see the module doc)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _patients(repo: ClinicRepository) -> Iterator[Row]:
    for p in repo.list_patients():
        d = repo.patient_details(p.id)
        yield {
            "id": p.id, "mrn": p.mrn, "name": p.display_name, "birth_year": p.birth_year,
            "date_of_birth": d.date_of_birth if d else None, "sex": d.sex.value if d else None,
            "diagnoses": ";".join(f"{x.code.value}:{x.detail}" for x in d.diagnoses) if d else "",
            "opioid_naive": p.opioid_naive, "spasticity_origin": p.spasticity_origin,
            "notes": p.notes, "version": p.version,
        }  # fmt: skip


def _devices(repo: ClinicRepository, pids: Sequence[str]) -> Iterator[Row]:
    for pid in pids:
        for d in repo.devices_for(pid):
            extra = repo.device_details(d.id)
            yield {
                "id": d.id, "patient_id": d.patient_id, "kind": d.kind.value, "model": d.model,
                "serial": d.serial, "udi": extra.udi if extra else None,
                "pocket_side": extra.pocket_side.value if extra and extra.pocket_side else None,
                "implanted_on": d.implanted_on, "removed_on": d.removed_on,
                **quantity("implanted_length", d.implanted_length),
                "tip_level": d.tip_level, **quantity("volume", d.volume), "notes": d.notes,
            }  # fmt: skip


def _procedures(repo: ClinicRepository, pids: Sequence[str]) -> Iterator[Row]:
    for pid in pids:
        for p in repo.procedures_for(pid):
            yield {"id": p.id, "patient_id": p.patient_id, "kind": p.kind.value,
                   "performed_on": p.performed_on, "placed": ";".join(p.placed),
                   "removed": ";".join(p.removed), "by": p.by, "notes": p.notes}  # fmt: skip


def _prescriptions(repo: ClinicRepository, pids: Sequence[str]) -> Iterator[Row]:
    for pid in pids:
        for v in repo.prescriptions_for(pid):
            yield {"id": v.id, "patient_id": v.patient_id, "version": v.version,
                   "created_at": v.created_at, "author": v.author, "reason": v.reason,
                   "plan_json": v.plan_json}  # fmt: skip


def _refills(repo: ClinicRepository, pids: Sequence[str]) -> Iterator[Row]:
    for pid in pids:
        for r in repo.refills_for(pid):
            yield {
                "id": r.id, "patient_id": r.patient_id, "device_id": r.device_id,
                "prescription_version": r.prescription_version, "performed_at": r.performed_at,
                "by": r.by, **quantity("expected_remaining", r.expected_remaining, "mL"),
                **quantity("withdrawn", r.withdrawn, "mL"),
                **quantity("discrepancy", r.discrepancy, "mL"),
                **quantity("filled", r.filled, "mL"),
                **quantity("confirmed_after_fill", r.confirmed_after_fill, "mL"),
                "drug_lot": r.drug_lot, "concentrations": pairs(r.concentrations),
                "refill_by": r.refill_by, "decided_by": r.decided_by,
                "planned_refill": r.planned_refill, "findings": findings(r.findings),
                "reasons": pairs(r.overrides),
            }  # fmt: skip


def _interrogations(repo: ClinicRepository, pids: Sequence[str]) -> Iterator[Row]:
    for pid in pids:
        for i in repo.interrogations_for(pid):
            v = read_snapshot(i)
            yield {
                "id": i.id, "patient_id": i.patient_id, "device_id": i.device_id, "at": i.at,
                "by": i.by, "serial": v.serial, "state": v.state,
                **quantity("reservoir_estimate", v.reservoir_estimate, "mL"),
                **quantity("low_reservoir_threshold", v.low_reservoir_threshold, "mL"),
                "alarms": ";".join(a.name for a in v.active_alarms), "events": len(v.events),
                "findings": findings(i.findings),
                "status_json": json.dumps(i.status, sort_keys=True, default=str),
            }  # fmt: skip


def _alarms(repo: ClinicRepository, pids: Sequence[str]) -> Iterator[Row]:
    for pid in pids:
        for a in repo.alarms_for(pid):
            yield {
                "id": a.id, "patient_id": a.patient_id, "device_id": a.device_id,
                "code": a.code, "level": a.level, "message": a.message,
                "raised_at": a.raised_at, "acknowledged_at": a.acknowledged_at,
                "acknowledged_by": a.acknowledged_by, "cleared_at": a.cleared_at,
                "cleared_by": a.cleared_by, "resolution": a.resolution, "open": a.open,
            }  # fmt: skip


def _audit(repo: ClinicRepository) -> Iterator[Row]:
    offset = 0
    while True:
        chunk = repo.audit_entries(AuditQuery(), _AUDIT_CHUNK, offset)
        for r in chunk:
            yield {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action,
                   "entity": r.entity, "entity_id": r.entity_id, "reason": r.reason,
                   "data_json": None if r.data is None
                   else json.dumps(r.data, sort_keys=True, default=str)}  # fmt: skip
        if len(chunk) < _AUDIT_CHUNK:
            return
        offset += _AUDIT_CHUNK


@dataclass(frozen=True)
class Table:
    """A table's columns (in order) and its rows from a repository and the patient ids."""

    columns: tuple[str, ...]
    rows: Callable[[ClinicRepository, Sequence[str]], Iterator[Row]]


def _q(*names: str) -> tuple[str, ...]:
    return tuple(c for n in names for c in (n, f"{n}_unit"))


TABLES: dict[str, Table] = {
    "patients": Table(("id", "mrn", "name", "birth_year", "date_of_birth", "sex", "diagnoses",
                       "opioid_naive", "spasticity_origin", "notes", "version"),
                      lambda repo, _: _patients(repo)),
    "devices": Table(("id", "patient_id", "kind", "model", "serial", "udi", "pocket_side",
                      "implanted_on", "removed_on", *_q("implanted_length"), "tip_level",
                      *_q("volume"), "notes"), _devices),
    "procedures": Table(("id", "patient_id", "kind", "performed_on", "placed", "removed", "by",
                         "notes"), _procedures),
    "prescriptions": Table(("id", "patient_id", "version", "created_at", "author", "reason",
                            "plan_json"), _prescriptions),
    "refills": Table(("id", "patient_id", "device_id", "prescription_version", "performed_at",
                      "by", *_q("expected_remaining", "withdrawn", "discrepancy", "filled",
                                "confirmed_after_fill"),
                      "drug_lot", "concentrations", "refill_by", "decided_by", "planned_refill",
                      "findings", "reasons"), _refills),
    "interrogations": Table(("id", "patient_id", "device_id", "at", "by", "serial", "state",
                             *_q("reservoir_estimate", "low_reservoir_threshold"), "alarms",
                             "events", "findings", "status_json"), _interrogations),
    "alarms": Table(("id", "patient_id", "device_id", "code", "level", "message", "raised_at",
                     "acknowledged_at", "acknowledged_by", "cleared_at", "cleared_by",
                     "resolution", "open"), _alarms),
    "audit": Table(("seq", "at", "actor", "action", "entity", "entity_id", "reason",
                    "data_json"), lambda repo, _: _audit(repo)),
}  # fmt: skip


def _check(actor: User, names: Sequence[str]) -> None:
    for name in names:
        if name not in TABLES:
            raise InputError("table", f"no table {name[:40]!r}", ", ".join(TABLES))
        if name == "audit":
            check_reader(actor)


def _csv(table: Table, repo: ClinicRepository, pids: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows(repo, pids):
        writer.writerow([cell(row[c]) for c in table.columns])
    return out.getvalue()


def export_tables(svc: ClinicServices[Any], actor: User, names: Sequence[str]) -> dict[str, str]:
    """Tables ``names`` (of :data:`TABLES`) as CSV text by file name (``<name>.csv``), all
    read in one transaction (one consistent snapshot). InputError naming ``table`` for an
    unknown name; PermissionDenied for ``audit`` unless ``actor`` is a physician or a nurse."""
    _check(actor, names)
    with svc.uow.reader() as repo:
        pids = [p.id for p in repo.list_patients()]
        return {f"{n}.csv": _csv(TABLES[n], repo, pids) for n in names}


def export_all(svc: ClinicServices[Any], actor: User) -> dict[str, str]:
    """Every table the actor may read: the registry tables, and the audit log for a physician
    or a nurse."""
    readers = (Role.PHYSICIAN, Role.NURSE)
    names = [n for n in TABLES if n != "audit" or actor.role in readers]
    return export_tables(svc, actor, names)


__all__ = ["TABLES", "cell", "export_all", "export_tables", "number", "quantity"]
