"""Registration commands (issue 13): ``thecal clinic patient add|update|list|search|show``,
``thecal clinic device add``, ``thecal clinic procedure add``, ``thecal clinic complication add``
and ``thecal clinic import-csv``.

Writes are audited as ``--user`` (default ``$THECAL_USER``), a clinic user in the database; a
viewer is refused. A patient is named by MRN or record id. Devices are given as
``key=value`` pairs separated by commas, e.g. ``--place "kind=catheter,model=Prometra
catheter,length=45 cm,tip_level=T10"``. Exit codes: 0 done; 2 invalid input (nothing written).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import typer

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.store.database import DATABASE_URL_ENV, database_url
from thecal.units import InputError

patient_app = typer.Typer(help="Register, list, search and show patients.", no_args_is_help=True)
device_app = typer.Typer(help="Register implanted devices.", no_args_is_help=True)
procedure_app = typer.Typer(help="Record implant, revision, replacement and explant "
                            "procedures.", no_args_is_help=True)  # fmt: skip
complication_app = typer.Typer(help="Record complications.", no_args_is_help=True)

DB = typer.Option(None, "--database-url", metavar="URL",
                  help=f"SQLAlchemy URL; default ${DATABASE_URL_ENV}, else an SQLite file in "
                  "the user data directory")  # fmt: skip
USER = typer.Option(..., "--user", envvar="THECAL_USER", help="clinic username the write is "
                    "audited as (default $THECAL_USER)")  # fmt: skip
JSON = typer.Option(False, "--json", help="machine-readable JSON output")


@contextmanager
def services_at(database: str | None) -> Iterator[Any]:
    from thecal.adapters import composition

    with composition.open_services(database_url(database)) as services:
        yield services


def wants_json(ctx: typer.Context, flag: bool) -> bool:
    return flag or o.state(ctx).json


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(name, f"got {value!r}", "a date YYYY-MM-DD") from None


def pairs(text: str, name: str) -> dict[str, str]:
    """``key=value,key=value`` as a mapping (each key once)."""
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(name, f"{part.strip()!r} is not key=value", "e.g. kind=pump,model=…")
        if key in out:
            raise InputError(name, f"{key} given twice", "each key once")
        out[key] = value
    return out


def patient_json(f: Any) -> dict[str, Any]:
    """A patient file (:class:`~thecal.clinic.registration_facade.PatientFile`) as JSON."""
    p, d = f.patient, f.details
    return {
        "id": p.id, "mrn": p.mrn, "name": p.display_name, "version": p.version,
        "date_of_birth": d.date_of_birth.isoformat() if d else None,
        "sex": d.sex.value if d else None, "contact": d.contact if d else "",
        "diagnoses": [x.label() for x in d.diagnoses] if d else [],
        "devices": [device_json(dev, x) for dev, x in f.devices],
        "leads": [{"id": x.id, "device_id": x.device_id, "name": x.name, "model": x.model,
                   "position": x.position} for x in f.leads],
        "procedures": [{"id": x.id, "kind": x.kind.value, "performed_on": x.performed_on
                        .isoformat(), "placed": list(x.placed), "removed": list(x.removed),
                        "by": x.by} for x in f.procedures],
        "complications": [{"id": x.id, "code": x.code.value, "occurred_on": x.occurred_on
                           .isoformat(), "device_id": x.device_id, "notes": x.notes}
                          for x in f.complications],
    }  # fmt: skip


def device_json(d: Any, x: Any) -> dict[str, Any]:
    return {
        "id": d.id, "kind": d.kind.value, "model": d.model, "serial": d.serial,
        "implanted_on": d.implanted_on.isoformat(),
        "removed_on": d.removed_on.isoformat() if d.removed_on else None,
        "length": o.q(d.implanted_length, "cm"), "tip_level": d.tip_level,
        "volume": o.q(d.volume, "mL"), "udi": x.udi if x else "",
        "pocket_side": x.pocket_side.value if x and x.pocket_side else None,
    }  # fmt: skip


def patient_rows(patients: Any) -> list[dict[str, Any]]:
    return [{"id": p.id, "mrn": p.mrn, "name": p.display_name, "version": p.version}
            for p in patients]  # fmt: skip


@patient_app.command("add")
@handles_errors
def patient_add(
    ctx: typer.Context,
    mrn: str = typer.Option(..., "--mrn", help="the clinic's record number"),
    name: str = typer.Option(..., "--name"),
    date_of_birth: str = typer.Option(..., "--dob", metavar="DATE", help="YYYY-MM-DD"),
    sex: str = typer.Option(..., "--sex", help="female, male, other or unknown"),
    contact: str = typer.Option("", "--contact"),
    diagnosis: list[str] = typer.Option([], "--diagnosis", help="repeatable: "
                                        "cancer-spinal-metastases, ckd:G1…G5, dialysis, "
                                        "diabetes, spasticity:spinal|cerebral, other:TEXT"),
    user: str = USER, database: str | None = DB, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Register a new patient."""
    raw = {"mrn": mrn, "name": name, "date_of_birth": date_of_birth, "sex": sex,
           "contact": contact, "diagnoses": diagnosis}  # fmt: skip
    with services_at(database) as services:
        reg = services.registration
        made = reg.register(actor=reg.user(user), entry=reg.patient_input(raw))
        shown = reg.patient_file(patient_id=made.patient.id)
    if wants_json(ctx, json_out):
        o.emit_json(patient_json(shown))
    else:
        typer.echo(f"registered {made.patient.mrn} {made.patient.display_name} "
                   f"(id {made.patient.id})")  # fmt: skip


def _current(f: Any) -> dict[str, object]:
    d = f.details
    return {"mrn": f.patient.mrn, "name": f.patient.display_name,
            "date_of_birth": d.date_of_birth.isoformat() if d else None,
            "sex": d.sex.value if d else None, "contact": d.contact if d else "",
            "diagnoses": [x.label() for x in d.diagnoses] if d else []}  # fmt: skip


@patient_app.command("update")
@handles_errors
def patient_update(
    ctx: typer.Context, patient: str = typer.Argument(..., help="MRN or id"),
    version: int = typer.Option(..., "--version", help="the patient version read (patient "
                                "show); refused when someone wrote since"),
    mrn: str | None = typer.Option(None, "--mrn"), name: str | None = typer.Option(None, "--name"),
    date_of_birth: str | None = typer.Option(None, "--dob", metavar="DATE"),
    sex: str | None = typer.Option(None, "--sex"), contact: str | None = typer.Option(None,
                                                                               "--contact"),
    diagnosis: list[str] = typer.Option([], "--diagnosis", help="repeatable; replaces the "
                                        "diagnoses (none given: kept)"),
    user: str = USER, database: str | None = DB, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Change a patient's registration; options not given keep their value."""
    with services_at(database) as services:
        reg = services.registration
        actor = reg.user(user)
        pid = reg.find(key=patient).id
        raw = _current(reg.patient_file(patient_id=pid))
        given = {"mrn": mrn, "name": name, "date_of_birth": date_of_birth, "sex": sex,
                 "contact": contact, "diagnoses": diagnosis or None}  # fmt: skip
        raw.update({k: v for k, v in given.items() if v is not None})
        reg.update(actor=actor, patient_id=pid, version=version, entry=reg.patient_input(raw))
        shown = reg.patient_file(patient_id=pid)
    if wants_json(ctx, json_out):
        o.emit_json(patient_json(shown))
    else:
        typer.echo(f"updated {shown.patient.mrn} {shown.patient.display_name} "
                   f"(version {shown.patient.version})")  # fmt: skip


def _list(ctx: typer.Context, query: str, limit: int, offset: int, database: str | None,
          json_out: bool) -> None:  # fmt: skip
    with services_at(database) as services:
        page = services.registration.search(query=query, limit=limit, offset=offset)
    if wants_json(ctx, json_out):
        o.emit_json({"total": page.total, "offset": offset, "limit": limit,
                     "patients": patient_rows(page.patients)})  # fmt: skip
        return
    out = o.console()
    shown = f"{offset + 1}–{offset + len(page.patients)}" if page.patients else "none"
    out.print(f"{page.total:,} patient(s); rows {shown} (--offset, --limit)")
    t = o.table("MRN", "name", "id")
    for p in page.patients:
        t.add_row(o.text(p.mrn), o.text(p.display_name), p.id)
    out.print(t)


LIMIT = typer.Option(50, "--limit", help="rows per page (1–500)")
OFFSET = typer.Option(0, "--offset", help="rows to skip")


@patient_app.command("list")
@handles_errors
def patient_list(ctx: typer.Context, limit: int = LIMIT, offset: int = OFFSET,
                 database: str | None = DB, json_out: bool = JSON) -> None:  # fmt: skip
    """One page of the registry, by MRN."""
    _list(ctx, "", limit, offset, database, json_out)


@patient_app.command("search")
@handles_errors
def patient_search(ctx: typer.Context, query: str = typer.Argument(..., help="part of the MRN, "
                   "name or id (case-insensitive)"), limit: int = LIMIT, offset: int = OFFSET,
                   database: str | None = DB, json_out: bool = JSON) -> None:  # fmt: skip
    """Patients whose MRN, name or id contains QUERY."""
    _list(ctx, query, limit, offset, database, json_out)


@patient_app.command("show")
@handles_errors
def patient_show(ctx: typer.Context, patient: str = typer.Argument(..., help="MRN or id"),
                 database: str | None = DB, json_out: bool = JSON) -> None:  # fmt: skip
    """The patient's registration, devices, procedures and complications."""
    with services_at(database) as services:
        reg = services.registration
        shown = patient_json(reg.patient_file(patient_id=reg.find(key=patient).id))
    if wants_json(ctx, json_out):
        o.emit_json(shown)
        return
    out = o.console()
    o.heading(out, f"{shown['mrn']} {shown['name']}")
    out.print(o.text(f"born {shown['date_of_birth'] or '—'} · {shown['sex'] or '—'} · "
                     f"diagnoses: {', '.join(shown['diagnoses']) or 'none'}"))  # fmt: skip
    t = o.table("device", "model", "serial", "in place", "details")
    for d in shown["devices"]:
        extra = d["tip_level"] or d["pocket_side"] or ""
        where = f"{d['implanted_on']} – {d['removed_on'] or 'in place'}"
        t.add_row(d["kind"], o.text(d["model"]), o.text(d["serial"]), where, o.text(extra))
    out.print(t)
    for p in shown["procedures"]:
        out.print(f"{p['performed_on']} {p['kind']} by {o.text(p['by'])}")
    for c in shown["complications"]:
        out.print(f"{c['occurred_on']} complication {c['code']}")


def _procedure(
    services: Any, user: str, patient: str, kind: str, on: str, place: list[str],
    remove: list[str], lead: list[str], notes: str,
) -> Any:  # fmt: skip
    from thecal.clinic.model import ProcedureKind
    from thecal.clinic.registration_services import LeadInput

    reg = services.registration
    actor = reg.user(user)
    pid = reg.find(key=patient).id
    kinds = {k.value: k for k in ProcedureKind}
    if kind not in kinds:
        raise InputError("--kind", f"got {kind!r}", "one of: " + ", ".join(kinds))
    placed = [reg.device_input(pairs(x, f"--place[{i}]"), f"--place[{i}]")
              for i, x in enumerate(place)]  # fmt: skip
    leads = []
    for i, x in enumerate(lead):
        kv = pairs(x, f"--lead[{i}]")
        try:
            index = int(kv.get("device", "0"))
        except ValueError:
            raise InputError(f"--lead[{i}].device", "is not a whole number", "0, 1, …") from None
        leads.append(LeadInput(kv.get("name", ""), kv.get("model", ""), kv.get("position", ""),
                               index))  # fmt: skip
    return reg.procedure(actor=actor, patient_id=pid, kind=kinds[kind],
                         performed_on=_day(on, "--on"), placed=placed, removed=remove,
                         leads=leads, notes=notes)  # fmt: skip


def _emit_procedure(ctx: typer.Context, json_out: bool, rec: Any) -> None:
    if wants_json(ctx, json_out):
        o.emit_json({"procedure": rec.procedure.id, "kind": rec.procedure.kind.value,
                     "placed": [device_json(d, None) for d in rec.placed],
                     "removed": list(rec.procedure.removed),
                     "leads": [x.id for x in rec.leads]})  # fmt: skip
    else:
        placed = ", ".join(f"{d.kind.value} {d.model} (id {d.id})" for d in rec.placed)
        typer.echo(f"{rec.procedure.kind.value} recorded on {rec.procedure.performed_on}"
                   + (f": placed {placed}" if placed else ""))  # fmt: skip


PLACE = typer.Option([], "--place", help="a device placed (repeatable): kind=pump|trial-pump|"
                     "catheter|stimulator,model=…,serial=…,udi=…,pocket_side=left|right|midline"
                     ",length=45 cm,tip_level=T10")  # fmt: skip
LEAD = typer.Option([], "--lead", help="a lead of a placed stimulator (repeatable): name=L1,"
                    "model=…,position=…,device=INDEX of the stimulator in --place")  # fmt: skip


@device_app.command("add")
@handles_errors
def device_add(
    ctx: typer.Context, patient: str = typer.Argument(..., help="MRN or id"),
    place: list[str] = PLACE, lead: list[str] = LEAD,
    on: str = typer.Option(..., "--on", metavar="DATE", help="implant date YYYY-MM-DD"),
    notes: str = typer.Option("", "--notes"),
    user: str = USER, database: str | None = DB, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Register devices implanted on --on (an implant procedure placing them)."""
    if not place:
        raise InputError("--place", "is required", "at least one device")
    with services_at(database) as services:
        rec = _procedure(services, user, patient, "implant", on, place, [], lead, notes)
    _emit_procedure(ctx, json_out, rec)


@procedure_app.command("add")
@handles_errors
def procedure_add(
    ctx: typer.Context, patient: str = typer.Argument(..., help="MRN or id"),
    kind: str = typer.Option(..., "--kind", help="implant, trial, revision, replacement or "
                             "explant"),
    on: str = typer.Option(..., "--on", metavar="DATE", help="YYYY-MM-DD"),
    place: list[str] = PLACE, lead: list[str] = LEAD,
    remove: list[str] = typer.Option([], "--remove", help="id of a device removed (repeatable)"),
    notes: str = typer.Option("", "--notes"),
    user: str = USER, database: str | None = DB, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Record a procedure: devices placed and removed in one transaction."""
    with services_at(database) as services:
        rec = _procedure(services, user, patient, kind, on, place, remove, lead, notes)
    _emit_procedure(ctx, json_out, rec)


@complication_app.command("add")
@handles_errors
def complication_add(
    ctx: typer.Context, patient: str = typer.Argument(..., help="MRN or id"),
    code: str = typer.Option(..., "--code", help="e.g. infection, csf-leak, seroma, other"),
    on: str = typer.Option(..., "--on", metavar="DATE", help="YYYY-MM-DD"),
    device: str | None = typer.Option(None, "--device", help="id of the device concerned"),
    notes: str = typer.Option("", "--notes"),
    user: str = USER, database: str | None = DB, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Record a complication."""
    from thecal.clinic.model import ComplicationCode

    codes = {c.value: c for c in ComplicationCode}
    if code not in codes:
        raise InputError("--code", f"got {code!r}", "one of: " + ", ".join(codes))
    with services_at(database) as services:
        reg = services.registration
        item = reg.complication(actor=reg.user(user), patient_id=reg.find(key=patient).id,
                                code=codes[code], occurred_on=_day(on, "--on"),
                                device_id=device, notes=notes)  # fmt: skip
    if wants_json(ctx, json_out):
        o.emit_json({"id": item.id, "code": item.code.value,
                     "occurred_on": item.occurred_on.isoformat()})  # fmt: skip
    else:
        typer.echo(f"complication {item.code.value} on {item.occurred_on} recorded")


def add_commands(clinic_app: typer.Typer) -> None:
    """Mount the registration commands on ``thecal clinic``."""
    clinic_app.add_typer(patient_app, name="patient")
    clinic_app.add_typer(device_app, name="device")
    clinic_app.add_typer(procedure_app, name="procedure")
    clinic_app.add_typer(complication_app, name="complication")
    from thecal.cli.registry_import import import_csv_cmd

    clinic_app.command("import-csv")(handles_errors(import_csv_cmd))
