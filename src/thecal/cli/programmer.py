"""``thecal programmer interrogate|program|refill|bolus|priming-bolus|ack|alarm-test|clock|mri``
and ``thecal ptm bolus|status``: talk to an implant served on 127.0.0.1 (``thecal implant
serve``). See ``docs/programmer.md``. Register with::

    app.add_typer(programmer.programmer_app, name="programmer")
    app.add_typer(programmer.ptm_app, name="ptm")
"""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import typer

from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.plan_files import load_plan
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.devices.protocol import Program
from thecal.link import Initiator, Role
from thecal.link.keystore import KeyFileError, read_key_file
from thecal.link.transport import tcp_connect
from thecal.programmer.clinician import (
    ChecklistItem,
    ClinicianProgrammer,
    CommandRefused,
    ProgrammerError,
    UncertainDelivery,
    mri_ready,
)
from thecal.programmer.commands import result_from_json
from thecal.programmer.link_client import AckLost, LinkClient, LinkRefused, log_link_event
from thecal.programmer.patient import PatientController
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.findings import OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.priming_bolus import priming_bolus
from thecal.therapy.proposal import Patient
from thecal.units import Dimension, InputError, fmt, parse_quantity

programmer_app = typer.Typer(help="Clinician programmer (telemetry link).", no_args_is_help=True)
ptm_app = typer.Typer(help="Patient controller (telemetry link).", no_args_is_help=True)

PORT = typer.Option(..., "--port", help="implant server port on 127.0.0.1")
KEY = typer.Option(..., "--key", help="role credential file (clinician or patient)")
ACK = typer.Option(5.0, "--ack-timeout", help="seconds to wait for an acknowledgement")
EXIT_REFUSED = 3


@contextmanager
def _client(port: int, key: Path, role: Role, ack_timeout: float) -> Iterator[LinkClient]:
    # typer reads "nan" and "inf" as floats.
    if not (math.isfinite(ack_timeout) and ack_timeout > 0):
        raise InputError("--ack-timeout", f"{ack_timeout!r} must be finite and above 0", "seconds")
    try:
        cred = read_key_file(key, "clinician" if role is Role.CLINICIAN else "patient")
    except KeyFileError as exc:
        raise InputError("--key", str(exc)) from None
    try:
        transport = tcp_connect(port, ack_timeout)
    except OSError as exc:
        raise InputError("--port", f"cannot connect to 127.0.0.1:{port}: {exc}") from None
    client = LinkClient(
        transport,
        Initiator(
            cred.serial,
            role,
            cred.key,
            time.monotonic,
            peer=f"127.0.0.1:{port}",
            logger=log_link_event,
        ),
        time.monotonic,
        ack_timeout_s=ack_timeout,
    )
    try:
        client.connect(ack_timeout)
        yield client
    finally:
        client.close()


def _reasons(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        code, sep, text = item.partition("=")
        if not sep or not text.strip():
            raise InputError("--reason", f"{item!r} is not CODE=TEXT", "e.g. DOSE-DAILY-MAX=why")
        out[code.strip()] = text.strip()
    return out


def _stop(message: str) -> typer.Exit:
    o.err_console().print(f"refused: {message}")
    return typer.Exit(EXIT_REFUSED)


def _clinician(
    ctx: typer.Context, client: LinkClient, opioid_naive: bool | None
) -> ClinicianProgrammer:
    library = load_library(o.state(ctx).library)
    return ClinicianProgrammer(client, library, load_catalog().pump, Patient(opioid_naive))


NAIVE = typer.Option(None, "--opioid-naive/--opioid-tolerant", help="patient opioid status")
REASON = typer.Option([], "--reason", help="CODE=TEXT for a soft finding; repeatable")


@programmer_app.command("interrogate")
@handles_errors
def interrogate_cmd(
    ctx: typer.Context,
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    events: int = typer.Option(10, "--events", help="log entries to show"),
) -> None:
    """Interrogate: identity, status, program, alarms, reservoir, battery, event log."""
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = _clinician(ctx, client, None)
        report = c.interrogate()
    s = report.status
    out = o.console()
    out.print(f"{s.serial} {s.model}  device time {s.device_time:%Y-%m-%d %H:%M}")
    out.print(f"delivering: {'yes' if s.delivering else 'no (' + ', '.join(s.holds) + ')'}")
    out.print(f"reservoir estimate: {fmt(s.reservoir_estimate)}")
    out.print(f"alarms: {', '.join(a.condition.name for a in s.alarms) or 'none'}")
    out.print(f"ERI: {s.eri_at or '—'}  EOS: {s.eos_at or '—'}")
    out.print(f"log entries: {len(report.events)} (last seq {s.last_seq})")
    for e in report.events[-events:]:
        out.print(f"  #{e.seq} {e.at:%Y-%m-%d %H:%M} {e.kind.value} {o.text(e.message)}")


@programmer_app.command("program")
@handles_errors
def program_cmd(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(
        ..., help="plan file with the new program", show_default=False
    ),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    yes: bool = typer.Option(False, "--yes", help="confirm without asking (scripts)"),
    reason: list[str] = REASON,
) -> None:
    """Show current vs pending program, run the safety gate, confirm, write, read back, verify."""
    library = load_library(o.state(ctx).library)
    plan = load_plan(plan_file)
    resolved = resolve(plan, library, load_catalog())
    reasons = _reasons(reason)
    out = o.console()
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = _clinician(ctx, client, plan.patient.opioid_naive)
        current = c.status.program
        threshold = (
            parse_quantity(
                plan.pump.low_reservoir_alarm, "pump.low_reservoir_alarm", Dimension.VOLUME
            )
            if plan.pump.low_reservoir_alarm
            else (current.low_reservoir_threshold if current else c.spec.low_reservoir_alarm)
        )
        if threshold is None:
            raise InputError("pump.low_reservoir_alarm", "is required", "e.g. '2 mL'")
        pending = Program(
            resolved.schedule, resolved.admixture, threshold, resolved.program.patient_bolus
        )
        change = c.prepare_program(pending)
        t = o.table("", "current", "pending")
        for row in change.rows:
            mark = "*" if row.changed else ""
            t.add_row(mark + row.item, o.text(row.current), o.text(row.pending))
        out.print(t)
        o.show_findings(out, change.findings)
        if change.blocked:
            raise _stop("a hard limit cannot be overridden")
        missing = [f.code.value for f in change.needs_reason if f.code.value not in reasons]
        if missing and not yes:
            for code in missing:
                reasons[code] = typer.prompt(f"reason for {code}")
        if not yes and not typer.confirm("write this program to the implant?"):
            raise _stop("not confirmed")
        try:
            result = c.write_program(change, reasons, confirmed=True)
        except (OverrideError, ProgrammerError) as exc:
            raise _stop(str(exc)) from None
    if not result.committed:
        o.show_findings(out, result.device_findings)
        raise _stop(f"the implant refused the program: {result.reply.message}")
    out.print(
        "program written, read back and verified" if result.verified else "WRITTEN BUT NOT VERIFIED"
    )
    if not result.verified:
        raise typer.Exit(EXIT_REFUSED)


def _admixture(library: DrugLibrary, items: list[str]) -> Admixture | None:
    """``--drug NAME=CONC`` (repeatable) as an admixture; None when none is given."""
    if not items:
        return None
    pairs = []
    for i, item in enumerate(items):
        name, sep, conc = item.partition("=")
        if not sep or not name.strip() or not conc.strip():
            raise InputError("--drug", f"{item!r} is not NAME=CONCENTRATION", "morphine=20 mg/mL")
        pairs.append(
            (
                library.get(name.strip()),
                parse_quantity(conc.strip(), f"--drug[{i}]", Dimension.CONCENTRATION),
            )
        )
    return make_admixture(pairs, "--drug")


def _opt_volume(text: str | None, field: str) -> o.Qty | None:
    return None if text is None else parse_quantity(text, field, Dimension.VOLUME)


@programmer_app.command("refill")
@handles_errors
def refill_cmd(
    ctx: typer.Context,
    withdrawn: str = typer.Option(..., "--withdrawn", help="volume withdrawn, e.g. '2.1 mL'"),
    fill: str = typer.Option(..., "--fill", help="volume filled, e.g. '20 mL'"),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    reason: list[str] = REASON,
    drug: list[str] = typer.Option(
        [],
        "--drug",
        help="NAME=CONCENTRATION of the new fill, e.g. 'morphine=20 mg/mL'; repeatable "
        "(default: the same admixture as the implant's program)",
    ),
    catheter_volume: str | None = typer.Option(
        None, "--catheter-volume", help="implanted catheter volume (required for a bridge)"
    ),
    internal_volume: str | None = typer.Option(
        None,
        "--internal-volume",
        help="pump internal (tubing) volume; not public: required for a bridge unless the "
        "catalog has it",
    ),
) -> None:
    """Record a refill: discrepancy findings, reservoir volume, bridge bolus when the
    concentration changed, next refill date."""
    w = parse_quantity(withdrawn, "--withdrawn", Dimension.VOLUME)
    f = parse_quantity(fill, "--fill", Dimension.VOLUME)
    cath = _opt_volume(catheter_volume, "--catheter-volume")
    internal = _opt_volume(internal_volume, "--internal-volume")
    out = o.console()
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = _clinician(ctx, client, None)
        new = _admixture(c.library, drug)
        try:
            report = c.refill(
                w,
                f,
                _reasons(reason),
                new_admixture=new,
                catheter_volume=cath,
                internal_volume=internal,
            )
        except InputError as exc:
            # Name the command-line option, not the service argument.
            raise InputError(
                "--" + exc.field.replace("_", "-"), exc.message, exc.expected
            ) from None
        except (OverrideError, ProgrammerError) as exc:
            raise _stop(str(exc)) from None
    out.print(
        f"expected in reservoir: {fmt(report.expected_before)}; withdrawn {fmt(w)}; filled {fmt(f)}"
    )
    o.show_findings(out, report.findings)
    if new is not None:
        out.print(
            "new fill: "
            + ", ".join(f"{i.drug.name} {fmt(i.concentration)}" for i in new.ingredients)
            + ("" if report.admixture_changed else " (unchanged)")
        )
    b = report.bridge
    if b is not None and b.program is not None:
        p = b.program
        out.print(
            f"bridge bolus: {fmt(p.volume)} at {fmt(p.rate)} for {fmt(p.duration)}, "
            f"then {fmt(p.then_rate)}"
        )
        out.print(f"  {b.dead_volume_formula}")
        out.print(f"  {o.text(p.formula)}")
    if b is not None:
        o.show_findings(out, b.findings)
    for note in report.notes:
        out.print(f"note: {note}")
    if report.forecast is not None and report.forecast.refill_by is not None:
        out.print(f"next refill by {report.forecast.refill_by:%Y-%m-%d %H:%M}")


@programmer_app.command("bolus")
@handles_errors
def bolus_cmd(
    ctx: typer.Context,
    volume: str = typer.Option(..., "--volume", help="bolus volume, e.g. '0.05 mL'"),
    duration: str = typer.Option(..., "--duration", help="e.g. '1 h'"),
    kind: str = typer.Option("clinician", "--kind", help="clinician | priming | bridge"),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    reason: list[str] = REASON,
) -> None:
    """Clinician, priming or bridge bolus (safety gate first)."""
    v = parse_quantity(volume, "--volume", Dimension.VOLUME)
    d = parse_quantity(duration, "--duration", Dimension.TIME)
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = _clinician(ctx, client, None)
        try:
            outcome = c.bolus(v, d, _reasons(reason), kind)
        except AckLost:
            raise _stop(
                "no acknowledgement: delivery UNCERTAIN; interrogate before any dosing"
            ) from None
        except (OverrideError, ProgrammerError, UncertainDelivery, CommandRefused) as exc:
            raise _stop(str(exc)) from None
    if not outcome.delivered:
        raise _stop(outcome.reply.message or outcome.reply.code)
    o.console().print(f"bolus of {fmt(v)} over {fmt(d)} started")


@programmer_app.command("ack")
@handles_errors
def ack_cmd(
    ctx: typer.Context,
    condition: int | None = typer.Option(None, "--condition", help="alarm number; default all"),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Acknowledge an alarm (all by default)."""
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        reply = _clinician(ctx, client, None).acknowledge_alarm(condition)
    o.console().print("acknowledged" if reply.state_changed else "nothing to acknowledge")


@programmer_app.command("priming-bolus")
@handles_errors
def priming_bolus_cmd(
    ctx: typer.Context,
    duration: str = typer.Option(
        ..., "--duration", help="deliver the priming volume over, e.g. '1 h'"
    ),
    catheter_volume: str | None = typer.Option(
        None, "--catheter-volume", help="catheter volume to prime (else length × volume per cm)"
    ),
    catheter_length: str | None = typer.Option(
        None, "--catheter-length", help="catheter length that holds no drug yet, e.g. '35 cm'"
    ),
    volume_per_length: str | None = typer.Option(
        None, "--volume-per-length", help="catheter volume per length, e.g. '0.0026 mL/cm'"
    ),
    pump_tubing: bool = typer.Option(
        False, "--include-pump-tubing", help="new or emptied pump: prime its tubing too"
    ),
    internal_volume: str | None = typer.Option(
        None, "--internal-volume", help="pump internal volume (not public for every pump)"
    ),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    yes: bool = typer.Option(False, "--yes", help="confirm without asking (scripts)"),
    reason: list[str] = REASON,
) -> None:
    """Compute the priming volume (shown with its formula), confirm, deliver it as a priming
    bolus (safety gate first)."""
    d = parse_quantity(duration, "--duration", Dimension.TIME)
    out = o.console()
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = _clinician(ctx, client, None)
        try:
            p = priming_bolus(
                None
                if volume_per_length is None
                else parse_quantity(
                    volume_per_length, "--volume-per-length", Dimension.VOLUME_PER_LENGTH
                ),
                None
                if catheter_length is None
                else parse_quantity(catheter_length, "--catheter-length", Dimension.LENGTH),
                _opt_volume(catheter_volume, "--catheter-volume"),
                pump_tubing,
                c.spec,
                _opt_volume(internal_volume, "--internal-volume"),
                c.basal_rate_now(),
            )
        except InputError as exc:
            raise InputError(
                "--" + exc.field.replace("_", "-"), exc.message, exc.expected
            ) from None
        out.print(f"priming volume: {fmt(p.volume)} over {fmt(d)}")
        out.print(f"  {o.text(p.formula)}")
        o.show_findings(out, p.findings)
        if not yes and not typer.confirm("deliver this priming bolus?"):
            raise _stop("not confirmed")
        try:
            outcome = c.bolus(p.volume, d, _reasons(reason), "priming")
        except AckLost:
            raise _stop(
                "no acknowledgement: delivery UNCERTAIN; interrogate before any dosing"
            ) from None
        except (OverrideError, ProgrammerError) as exc:
            raise _stop(str(exc)) from None
    if not outcome.delivered:
        raise _stop(outcome.reply.message or outcome.reply.code)
    out.print(f"priming bolus of {fmt(p.volume)} over {fmt(d)} started")


@programmer_app.command("alarm-test")
@handles_errors
def alarm_test_cmd(
    ctx: typer.Context, port: int = PORT, key: Path = KEY, ack_timeout: float = ACK
) -> None:
    """Sound the implant's alarm tones (check the patient can hear them)."""
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        try:
            reply = _clinician(ctx, client, None).alarm_test()
        except CommandRefused as exc:
            raise _stop(str(exc)) from None
    result = result_from_json(reply.data.get("result", {}))
    out = o.console()
    for t in result.tones:
        out.print(f"tone: {t.count} × {fmt(t.duration)} ({o.text(t.source)})")
    if not result.tones:
        out.print("no tone sounded")
    if result.reason:
        out.print(f"note: {result.reason}")


def _when(text: str, field: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not a date and time", "2024-01-01T08:00") from None
    if t.tzinfo is not None:
        raise InputError(field, "device times have no time zone", "2024-01-01T08:00")
    return t


@programmer_app.command("clock")
@handles_errors
def clock_cmd(
    ctx: typer.Context,
    tolerance: str = typer.Option(
        ..., "--tolerance", help="largest acceptable drift (no public bound), e.g. '2 min'"
    ),
    reference: str | None = typer.Option(
        None, "--reference", help="reference time (default: this computer's local clock)"
    ),
    set_clock: bool = typer.Option(
        False, "--set", help="set the implant clock to the reference time"
    ),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Read the implant clock and report its drift against the reference; --set corrects it.

    Exit 3 when the drift exceeds the tolerance and was not corrected, or the set was refused."""
    tol = parse_quantity(tolerance, "--tolerance", Dimension.TIME)
    out = o.console()
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = _clinician(ctx, client, None)
        ref = _when(reference, "--reference") if reference else datetime.now()
        check = c.read_clock(ref, tol)
        drift_s = float(check.drift.to("s").magnitude)
        out.print(f"implant clock: {check.device_time:%Y-%m-%d %H:%M:%S}")
        out.print(f"reference:     {check.reference:%Y-%m-%d %H:%M:%S}")
        out.print(
            f"drift: {drift_s:+.0f} s ({'within' if check.within else 'OUTSIDE'} ±{fmt(tol)})"
        )
        if not set_clock:
            if not check.within:
                raise _stop("clock drift beyond the tolerance: review, then set it with --set")
            return
        # The reference was read before the round trip: move it on by the time spent since.
        target = ref if reference else datetime.now()
        try:
            reply = c.set_clock(target)
        except CommandRefused as exc:
            raise _stop(str(exc)) from None
    if not reply.state_changed:
        raise _stop(f"the implant refused the clock change: {reply.message or reply.code}")
    out.print(f"implant clock set to {target:%Y-%m-%d %H:%M:%S}")


def _checklist(items: tuple[ChecklistItem, ...]) -> None:
    out = o.console()
    for i in items:
        mark = "x" if i.done else ("!" if i.required else "-")
        out.print("  " + o.text(f"[{mark}] {i.text}"))


@programmer_app.command("mri")
@handles_errors
def mri_cmd(
    ctx: typer.Context,
    before: bool = typer.Option(False, "--before", help="checklist before the scan"),
    after: bool = typer.Option(False, "--after", help="post-MRI resume and confirmation"),
    emptied: bool = typer.Option(
        False, "--emptied", help="(before) the whole reservoir was withdrawn"
    ),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """MRI checklist. --before: read-only; a valve-gated pump must be emptied, a pump is never
    programmed to 'stopped' for the scan. --after: post-MRI resume, interrogate, confirm
    delivery resumed. Exit 3 when not ready / not resumed."""
    if before == after:
        raise InputError("--before/--after", "give exactly one", "--before or --after")
    with _client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = _clinician(ctx, client, None)
        try:
            items = c.mri_before(emptied) if before else c.mri_after()
        except (ProgrammerError, AckLost) as exc:
            raise _stop(str(exc)) from None
    _checklist(items)
    if not mri_ready(items):
        raise _stop(
            "NOT ready for the MRI: complete the items marked [!]"
            if before
            else "delivery has NOT resumed: interrogate again later and review"
        )
    o.console().print("ready for the MRI" if before else "delivery resumed after the MRI")


@ptm_app.command("bolus")
@handles_errors
def ptm_bolus_cmd(port: int = PORT, key: Path = KEY, ack_timeout: float = ACK) -> None:
    """Ask for a patient bolus (the implant applies its lockout and daily maximum)."""
    try:
        with _client(port, key, Role.PATIENT, ack_timeout) as client:
            outcome = PatientController(client).request_bolus()
    except LinkRefused as exc:
        raise _stop(str(exc)) from None
    if not outcome.granted:
        raise _stop(f"{outcome.reason}: {outcome.message}")
    o.console().print(outcome.message)


@ptm_app.command("status")
@handles_errors
def ptm_status_cmd(port: int = PORT, key: Path = KEY, ack_timeout: float = ACK) -> None:
    """Pump status for the patient."""
    with _client(port, key, Role.PATIENT, ack_timeout) as client:
        s = PatientController(client).status()
    out = o.console()
    out.print(
        f"delivering: {'yes' if s.delivering else 'no'}; reservoir {fmt(s.reservoir_estimate)}"
    )
    out.print(
        f"doses in the last 24 h: {s.boluses_last_24h}"
        + (f" of {s.max_per_day}" if s.max_per_day else "")
    )
    out.print(f"alarms: {', '.join(s.alarms) or 'none'}")
