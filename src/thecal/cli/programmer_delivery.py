"""``thecal programmer refill|bolus|priming-bolus``: record a refill (with its bridge bolus when
the concentration changed) and deliver clinician, priming and bridge boluses through the
safety gate."""

from pathlib import Path

import typer

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.programmer_link import (
    ACK,
    KEY,
    PORT,
    REASON,
    clinician_for,
    link_client,
    parse_reasons,
    refused,
)
from thecal.link import Role
from thecal.programmer.clinician import CommandRefused, ProgrammerError, UncertainDelivery
from thecal.programmer.link_client import AckLost
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.findings import OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.therapy.priming_bolus import priming_bolus
from thecal.units import Dimension, InputError, fmt, parse_quantity


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
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = clinician_for(ctx, client, None)
        new = _admixture(c.library, drug)
        try:
            report = c.refill(
                w,
                f,
                parse_reasons(reason),
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
            raise refused(str(exc)) from None
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
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = clinician_for(ctx, client, None)
        try:
            outcome = c.bolus(v, d, parse_reasons(reason), kind)
        except AckLost:
            raise refused(
                "no acknowledgement: delivery UNCERTAIN; interrogate before any dosing"
            ) from None
        except (OverrideError, ProgrammerError, UncertainDelivery, CommandRefused) as exc:
            raise refused(str(exc)) from None
    if not outcome.delivered:
        raise refused(outcome.reply.message or outcome.reply.code)
    o.console().print(f"bolus of {fmt(v)} over {fmt(d)} started")


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
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = clinician_for(ctx, client, None)
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
            raise refused("not confirmed")
        try:
            outcome = c.bolus(p.volume, d, parse_reasons(reason), "priming")
        except AckLost:
            raise refused(
                "no acknowledgement: delivery UNCERTAIN; interrogate before any dosing"
            ) from None
        except (OverrideError, ProgrammerError) as exc:
            raise refused(str(exc)) from None
    if not outcome.delivered:
        raise refused(outcome.reply.message or outcome.reply.code)
    out.print(f"priming bolus of {fmt(p.volume)} over {fmt(d)} started")
