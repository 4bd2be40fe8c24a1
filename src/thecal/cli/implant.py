"""``thecal implant simulate|list``: run a scenario on the virtual implant.

Prints the event log (device entries and what happened outside the pump), the final status
(the pump's reservoir estimate vs the truth, battery dates, active alarms, volume and dose that
left the pump vs reached the CSF) and the therapy core's findings at each clinical action.
"""

from pathlib import Path
from typing import Any

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.scenario_files import find_scenario, scenario_names, scenario_title
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.devices.log import EventKind
from thecal.implant.scenario import LogEntry, ScenarioResult, run_scenario
from thecal.units import Dimension, InputError, fmt, parse_quantity

SCENARIO_ARG = typer.Argument(
    ...,
    help="scenario file (TOML; see docs/scenario-format.md) or a shipped scenario name "
    "('thecal implant list')",
    show_default=False,
)

# Routine entries hidden from the text log unless --full-log (JSON always has everything).
_ROUTINE = {
    EventKind.ALARM_REPEATED.value,
    EventKind.PTB_GRANTED.value,
    EventKind.PTB_DENIED.value,
}


def _routine(e: LogEntry) -> bool:
    if e.kind in _ROUTINE:
        return True
    return e.kind == EventKind.BOLUS_END.value and e.message.startswith("patient bolus")


# --- JSON ------------------------------------------------------------------------------------


def _values(values: tuple[tuple[str, o.Qty], ...]) -> dict[str, Any]:
    return {k: o.q(v) for k, v in values}


def log_json(e: LogEntry) -> dict[str, Any]:
    return {
        "time": o.when(e.time),
        "device_time": o.when(e.device_time),
        "source": e.source,
        "seq": e.seq,
        "kind": e.kind,
        "alarm": e.alarm.name if e.alarm is not None else None,
        "message": e.message,
        "values": _values(e.values),
    }


def result_json(label: str, r: ScenarioResult) -> dict[str, Any]:
    st, tr = r.status, r.truth
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "scenario": label,
        "title": r.title,
        "device": {
            "model": r.model,
            "serial": r.serial,
            "seed": r.seed,
            "flow_bias": o.q(_percent(r.flow_bias)),
        },
        "start": o.when(r.start),
        "end": o.when(r.end),
        "log": [log_json(e) for e in r.log],
        "actions": [
            {
                "index": a.index,
                "kind": a.kind,
                "time": o.when(a.time),
                "summary": a.summary,
                "sent": a.sent,
                "values": _values(a.values),
                "findings": o.findings_json(a.findings),
                "blocked": a.blocked,
            }
            for a in r.reports
        ],
        "final": {
            "time": o.when(r.end),  # the simulation's clock (the status has the device's only)
            "delivering": st.delivering,
            "delivery": st.delivery.value,
            "holds": [h.value for h in st.holds],
            "reservoir_estimate": o.q(st.reservoir_estimate),
            "reservoir_true": o.q(tr.reservoir),
            "commanded": o.q(st.delivered_total),
            "left_pump": o.q(tr.left_pump),
            "to_csf": o.q(tr.to_csf),
            "elsewhere": o.q(tr.elsewhere),
            "doses_left_pump": {k: o.q(v) for k, v in r.doses_left_pump},
            "doses_to_csf": {k: o.q(v) for k, v in r.doses_to_csf},
            "catheter": tr.catheter.value,
            "eri_at": o.when(st.eri_at),
            "eos_at": o.when(st.eos_at),
            "alarms": [
                {
                    "condition": a.condition.name,
                    "number": int(a.condition),
                    "priority": int(a.priority),
                    "critical": a.critical,
                    "raised_at": o.when(a.raised_at),
                    "acknowledged": a.acknowledged,
                    "resolved": a.resolved,
                    "repeats": a.repeats,
                }
                for a in st.alarms
            ],
        },
    }


def _percent(fraction: float) -> o.Qty:
    from thecal.units import Q_

    return Q_(fraction * 100.0, "percent")


# --- text ------------------------------------------------------------------------------------


def _values_text(values: tuple[tuple[str, o.Qty], ...]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {fmt(v)}" for k, v in values)


def render_result(label: str, r: ScenarioResult, full_log: bool = False) -> None:
    out = o.console()
    out.print(f"[bold]{o.text(r.title or label)}[/bold]")
    o.notice(out)
    out.print(
        f"[dim]{o.text(r.model)} serial {o.text(r.serial)}, seed {r.seed}, flow bias "
        f"{r.flow_bias * 100:+.2f} %; {o.stamp(r.start)} to {o.stamp(r.end)}[/dim]"
    )
    o.heading(out, "Event log (simulation time; 'scenario' = outside the pump)")
    t = o.table("time", "source", "event", "alarm", "message")
    hidden = 0
    for e in r.log:
        if not full_log and _routine(e):
            hidden += 1
            continue
        message = e.message
        if e.values and e.source == "device":
            message += f" ({_values_text(e.values)})"
        style = "bold" if e.source == "scenario" else ""
        t.add_row(
            f"{e.time:%Y-%m-%d %H:%M}",
            e.source,
            f"[{style}]{o.text(e.kind)}[/{style}]" if style else o.text(e.kind),
            o.text(e.alarm.name if e.alarm else ""),
            o.text(message),
        )
    out.print(t)
    if hidden:
        out.print(
            f"  [dim]{hidden} routine entries hidden (alarm repeats, patient boluses); "
            "--full-log shows them[/dim]"
        )
    _render_final(out, r)
    o.heading(out, "Clinical actions and the therapy core's findings")
    if not r.reports:
        out.print("  none")
    for a in r.reports:
        where = "start" if a.index < 0 else f"actions[{a.index}]"
        out.print(
            f"[bold]{a.time:%Y-%m-%d %H:%M}  {o.text(a.kind)}[/bold] [dim]({where})[/dim]  "
            f"{o.text(a.summary)}"
        )
        if a.findings:
            o.show_findings(out, a.findings)


def _render_final(out: Any, r: ScenarioResult) -> None:
    st, tr = r.status, r.truth
    o.heading(out, f"Final status at {o.stamp(r.end)}")
    t = o.table("", "")
    t.add_row("reservoir: pump's estimate", fmt(st.reservoir_estimate))
    t.add_row("reservoir: true", fmt(tr.reservoir))
    t.add_row("delivering", "yes" if st.delivering else "no: " + ", ".join(st.holds))
    t.add_row("commanded by the pump", fmt(st.delivered_total))
    left = "; ".join(f"{fmt(v)} {k}" for k, v in r.doses_left_pump)
    csf = "; ".join(f"{fmt(v)} {k}" for k, v in r.doses_to_csf)
    t.add_row("left the pump", fmt(tr.left_pump) + (f" ({left})" if left else ""))
    t.add_row("reached the CSF", fmt(tr.to_csf) + (f" ({csf})" if csf else ""))
    if tr.elsewhere.magnitude > 0:
        t.add_row("went elsewhere (pocket, tissue)", fmt(tr.elsewhere))
    t.add_row("catheter", tr.catheter.value)
    t.add_row("elective replacement (ERI)", o.stamp(st.eri_at) if st.eri_at else "not reached")
    t.add_row("end of service (EOS)", o.stamp(st.eos_at) if st.eos_at else "not reached")
    alarms = ", ".join(
        f"{a.condition.name} (#{int(a.condition)}"
        + (", acknowledged" if a.acknowledged else "")
        + (", resolved" if a.resolved else "")
        + ")"
        for a in st.alarms
    )
    t.add_row("active alarms", alarms or "none")
    out.print(t)


# --- commands --------------------------------------------------------------------------------


@handles_errors
def simulate_cmd(
    ctx: typer.Context,
    scenario: str = SCENARIO_ARG,
    until: str | None = typer.Option(
        None, "--until", help="run for this long after start, e.g. '2y', '6 mo', '90 d'"
    ),
    seed: int | None = typer.Option(None, "--seed", help="override device.seed"),
    plot: Path | None = typer.Option(
        None, "--plot", metavar="FILE.png", help="draw reservoir, alarms and delivery"
    ),
    full_log: bool = typer.Option(False, "--full-log", help="also show routine log entries"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Run a scenario on the virtual implant and print the log, final status and findings.

    A stimulator scenario runs on the virtual IPG ('thecal implant stimulate'; --plot draws
    impedance per contact and the battery).

    Exit 0: the scenario ran (findings are part of its outcome); 2: invalid input."""
    from thecal.adapters.stimulator_scenario_files import is_stimulator_ref

    if is_stimulator_ref(scenario):
        for name, given in (("--until", until), ("--seed", seed), ("--full-log", full_log or None)):
            if given is not None:
                raise InputError(name, "applies to pump scenarios only", "the option left out")
        from thecal.cli.stimulator_sim import stimulate_cmd

        stimulate_cmd(ctx, scenario, plot, json_out)
        return
    st = o.state(ctx)
    label, sc = find_scenario(scenario)
    span = None if until is None else parse_quantity(until, "until", Dimension.TIME)
    result = run_scenario(sc, load_library(st.library), load_catalog(), span, seed)
    if plot is not None:
        # matplotlib costs ~0.4 s to import: only when a plot is asked for.
        from thecal.adapters.plot import plot_scenario

        plot_scenario(result, plot)
    if st.json or json_out:
        data = result_json(label, result)
        if plot is not None:
            data["plot"] = str(plot)
        o.emit_json(data)
    else:
        render_result(label, result, full_log)
        if plot is not None:
            o.console().print(f"\nplot written to {o.text(plot)}")


@handles_errors
def list_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """The scenarios shipped with Thecal (run one with 'thecal implant simulate NAME')."""
    st = o.state(ctx)
    names = scenario_names()
    if st.json or json_out:
        o.emit_json(
            {
                "scenarios": [
                    {"name": n.removesuffix(".toml"), "title": scenario_title(n)} for n in names
                ]
            }
        )
        return
    out = o.console()
    t = o.table("name", "title")
    for n in names:
        t.add_row(o.text(n.removesuffix(".toml")), o.text(scenario_title(n)))
    out.print(t)
