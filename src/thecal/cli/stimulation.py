"""``thecal stimulation check|schema``: a spinal cord stimulation program checked offline —
per contact charge per phase, charge density and Shannon k, device ranges, voltage compliance,
battery — with exit codes as for ``thecal plan check`` (0 ok, 3 refused, 2 bad input)."""

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.stimulator_files import load_stimulation_file, load_stimulator_catalog
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.stimulation.catalog import BatteryKind
from thecal.stimulation.charge import ContactCharge
from thecal.stimulation.gate import AreaResult, StimulationCheck, check_program
from thecal.stimulation.program_file import stimulation_json_schema
from thecal.stimulation.resolve import resolve
from thecal.therapy.findings import blocks, needs_reason
from thecal.units import fmt

FILE_ARG = typer.Argument(
    ..., help="stimulation program (TOML); see docs/stimulation.md", show_default=False
)
JSON_OPT = typer.Option(False, "--json", help="machine-readable output (same as the global flag)")
CATALOG_OPT = typer.Option(
    [], "--catalog", metavar="FILE", help="institution stimulator catalog layered over the shipped"
)


def run_check(path: Path, catalogs: list[Path]) -> StimulationCheck:
    """Read, resolve and check the program file at ``path``."""
    catalog = load_stimulator_catalog(catalogs)
    resolved = resolve(load_stimulation_file(path), catalog)
    return check_program(resolved.program, resolved.contact_areas, resolved.ipg, catalog.limits)


# --- JSON ------------------------------------------------------------------------------------


def _contact_json(c: ContactCharge) -> dict[str, Any]:
    return {
        "contact": c.contact.label,
        "polarity": c.contact.polarity.value,
        "fraction": round(c.contact.fraction, 6),
        "current": o.q(c.current, "mA"),
        "charge_per_phase": o.q(c.charge, "uC"),
        "area": o.q(c.area, "cm**2"),
        "charge_density": o.q(c.density, "uC/cm**2"),
        "shannon_k": None if c.k is None else round(c.k, 4),
    }


def _area_json(r: AreaResult) -> dict[str, Any]:
    a = r.area
    return {
        "name": a.name,
        "mode": a.mode.value,
        "amplitude": o.q(a.amplitude),
        "pulse_width": o.q(a.pulse_width, "us"),
        "waveform": a.waveform.kind.value,
        "pulses_per_second": o.q(a.waveform.pulses_per_second(), "Hz"),
        "duty": round(a.duty(), 6),
        "impedance": o.q(a.impedance),
        "delivered_current": o.q(r.delivered, "mA"),
        "voltage_limited": r.limited,
        "energy_per_pulse": o.q(r.load.energy_per_pulse, "uJ") if r.load else None,
        "contacts": [_contact_json(c) for c in r.programmed],
        "patient_max": o.q(a.patient_max),
        "contacts_at_patient_max": (
            None if r.patient_top is None else [_contact_json(c) for c in r.patient_top]
        ),
    }


def check_json(source: str, check: StimulationCheck) -> dict[str, Any]:
    b = check.battery
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "program": source,
        "title": check.program.title,
        "ipg": check.ipg.model,
        "areas": [_area_json(r) for r in check.areas],
        "battery": None
        if b is None
        else {
            "kind": b.kind.value,
            "drain": o.q(b.drain, "uW"),
            "stored_energy": o.q(b.stored, "J"),
            "time_to_empty": o.q(b.time_to_empty, "a"),
        },
        "blocked": blocks(check.findings),
        "needs_reason": [f.code.value for f in needs_reason(check.findings)],
        "findings": o.findings_json(check.findings),
    }


# --- human -----------------------------------------------------------------------------------


def _contacts_table(out: Console, title: str, contacts: tuple[ContactCharge, ...]) -> None:
    out.print(f"  {o.text(title)}")
    t = o.table("  contact", "polarity", "share", "current", "uC/phase", "uC/cm2", "k")
    for c in contacts:
        t.add_row(
            f"  {o.text(c.contact.label)}",
            c.contact.polarity.value,
            f"{c.contact.fraction:.0%}",
            fmt(c.current, 3),
            f"{c.charge.to('uC').magnitude:.3g}",
            f"{c.density.to('uC/cm**2').magnitude:.3g}",
            "-" if c.k is None else f"{c.k:.2f}",
        )
    out.print(t)


def _span(t: o.Qty) -> str:
    """'360.6 d', or '4.2 years (1534 d)' beyond a year."""
    years = float(t.to("year").magnitude)
    return o.dur(t) if years < 1 else f"{years:.1f} years ({o.dur(t)})"


def render(out: Console, source: str, check: StimulationCheck) -> None:
    out.print(f"[bold]{o.text(check.program.title or source)}[/bold]")
    o.notice(out)
    out.print(f"IPG: {o.text(check.ipg.model)}")
    for r in check.areas:
        a = r.area
        wave = a.waveform
        o.heading(
            out,
            f"Area {a.name} ({a.mode.value} mode, {wave.kind.value}): {fmt(a.amplitude)}, "
            f"{fmt(a.pulse_width.to('us'))}, {fmt(wave.rate)}"
            + (
                f", {wave.pulses_per_burst} per burst at {fmt(wave.burst_rate)}"
                if wave.burst_rate
                else ""
            )
            + (f", on {o.dur(a.cycling.on)} / off {o.dur(a.cycling.off)}" if a.cycling else ""),
        )
        _contacts_table(out, "as programmed:", r.programmed)
        if r.patient_top is not None and a.patient_max is not None:
            _contacts_table(
                out, f"at the top of the patient's range ({fmt(a.patient_max)}):", r.patient_top
            )
        limited = " (limited by the available voltage)" if r.limited else ""
        out.print(f"  delivered current {fmt(r.delivered, 3)}{limited}")
        if r.load is not None:
            out.print(f"  energy per pulse {fmt(r.load.energy_per_pulse, 3)}")
    b = check.battery
    if b is not None:
        o.heading(out, "Battery")
        out.print(f"  drain {fmt(b.drain, 3)}, full cell {fmt(b.stored, 4)}")
        what = "projected longevity" if b.kind is BatteryKind.PRIMARY else "recharge interval"
        span = "no drain" if b.time_to_empty is None else _span(b.time_to_empty)
        out.print(f"  {what}: {span}")
    o.heading(out, "Findings")
    o.show_findings(out, check.findings)
    out.print()
    o.verdict(out, check.findings)


# --- commands --------------------------------------------------------------------------------


@handles_errors
def check_cmd(
    ctx: typer.Context,
    program: Path = FILE_ARG,
    json_out: bool = JSON_OPT,
    catalog: list[Path] = CATALOG_OPT,
) -> None:
    """Check a stimulation program: charge per contact, charge density, Shannon k, findings.

    Exit 0: no hard finding; 3: a hard finding refuses the program; 2: invalid input."""
    st = o.state(ctx)
    check = run_check(program, catalog)
    if st.json or json_out:
        o.emit_json(check_json(str(program), check))
    else:
        render(o.console(), str(program), check)
    if blocks(check.findings):
        raise typer.Exit(o.EXIT_BLOCKED)


def schema_cmd() -> None:
    """Print the stimulation program file's JSON Schema (docs/schema/stimulation.schema.json)."""
    typer.echo(schema_text(), nl=False)


def schema_text() -> str:
    return json.dumps(stimulation_json_schema(), indent=2, ensure_ascii=False) + "\n"
