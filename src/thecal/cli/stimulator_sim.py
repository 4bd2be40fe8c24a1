"""``thecal implant stimulate FILE``: run a stimulator scenario on the virtual IPG.

Prints the device log, every impedance test (monopolar per contact), the final status (therapy
state, group, amplitudes and safe maxima, battery) and any refused command; ``--plot`` draws
impedance per contact and the battery; ``--json`` has everything."""

from pathlib import Path
from typing import Any

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.stimulator_files import load_stimulator_catalog
from thecal.adapters.stimulator_scenario_files import (
    find_stimulator_scenario,
    mri_entries,
)
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.devices.log import EventKind
from thecal.implant.stimulator_scenario import StimulatorResult, run_stimulator_scenario

_ROUTINE = {EventKind.ALARM_REPEATED, EventKind.AMPLITUDE_CHANGED, EventKind.CHARGE_SESSION,
            EventKind.IMPEDANCE_MEASURED}  # fmt: skip


def result_json(label: str, r: StimulatorResult) -> dict[str, Any]:
    s = r.status
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "scenario": label,
        "title": r.title,
        "device": {"model": r.model, "serial": r.serial},
        "start": o.when(r.start),
        "end": o.when(r.end),
        "log": [
            {"time": o.when(e.sim_time), "device_time": o.when(e.at), "seq": e.seq,
             "kind": e.kind.value, "alarm": e.alarm.name if e.alarm else None,
             "message": e.message, "values": {k: {"value": m, "unit": u} for k, m, u in e.values}}
            for e in r.log
        ],
        "impedance": [
            {"time": o.when(x.at), "readings": [
                {"label": g.label, "kind": g.kind, "impedance": o.q(g.impedance),
                 "flag": g.flag.value} for g in x.readings]}
            for x in r.impedance
        ],
        "refused": [
            {"time": o.when(x.time), "kind": x.kind, "code": x.result.refusal.value,
             "reason": x.result.reason}
            for x in r.reports if x.result is not None and x.result.refusal is not None
        ],
        "final": {
            "therapy": s.therapy.value, "group": s.group,
            "amplitudes": {k: o.q(v) for k, v in s.amplitudes},
            "safe_max": {k: o.q(v) for k, v in s.safe_max},
            "disabled_contacts": list(s.disabled_contacts),
            "battery": s.battery.value, "battery_voltage": o.q(s.battery_voltage),
            "eri_at": o.when(s.eri_at), "eos_at": o.when(s.eos_at),
            "alarms": [a.condition.name for a in s.alarms],
            "uncovered_leads": list(r.uncovered),
        },
    }  # fmt: skip


def render(label: str, r: StimulatorResult) -> None:
    out = o.console()
    out.print(f"[bold]{o.text(r.title or label)}[/bold]")
    o.notice(out)
    out.print(f"[dim]{o.text(r.model)} serial {o.text(r.serial)}; {o.stamp(r.start)} to "
              f"{o.stamp(r.end)}[/dim]")  # fmt: skip
    o.heading(out, "Event log (simulation time; routine entries hidden, --json has them)")
    t = o.table("time", "event", "alarm", "message")
    for e in r.log:
        if e.kind not in _ROUTINE:
            t.add_row(f"{e.sim_time:%Y-%m-%d %H:%M}", o.text(e.kind.value),
                      o.text(e.alarm.name if e.alarm else ""), o.text(e.message))  # fmt: skip
    out.print(t)
    o.heading(out, "Scenario events: faults, surgery and refused commands")
    t = o.table("time", "event", "what", "answer")
    for rep in r.reports:
        result = rep.result
        if result is not None and result.refusal is not None:
            answer = f"{result.refusal.value}: {result.reason}"
        elif result is None and rep.kind != "interrogate":
            answer = ""  # a fault or surgery: the device is not asked
        else:
            continue
        t.add_row(f"{rep.time:%Y-%m-%d %H:%M}", o.text(rep.kind), o.text(rep.summary),
                  o.text(answer))  # fmt: skip
    out.print(t)
    o.heading(out, "Impedance tests: monopolar readings (Ohm)")
    labels = (
        [g.label for g in r.impedance[0].readings if g.kind == "monopolar"] if r.impedance else []
    )
    t = o.table("time", *labels)
    for x in r.impedance:
        cells = {g.label: f"{g.impedance.to('ohm').magnitude:.0f}" + ("" if g.flag.value ==
                 "in range" else f" ({g.flag.value})") for g in x.readings}  # fmt: skip
        t.add_row(f"{x.at:%Y-%m-%d}", *(cells.get(k, "") for k in labels))
    out.print(t)
    s = r.status
    o.heading(out, f"Final status at {o.stamp(r.end)}")
    t = o.table("", "")
    t.add_row("therapy", s.therapy.value)
    t.add_row("group", s.group or "none")
    for (name, amp), (_, top) in zip(s.amplitudes, s.safe_max, strict=True):
        t.add_row(f"area {o.text(name)}", f"{amp:~P}" + (f" (safe max {top:~.2fP})" if top else ""))
    t.add_row("contacts off", ", ".join(s.disabled_contacts) or "none")
    t.add_row("battery", f"{s.battery.value}, reading {s.battery_voltage:~.3fP}")
    t.add_row("ERI / EOS", f"{o.stamp(s.eri_at) if s.eri_at else '-'} / "
              f"{o.stamp(s.eos_at) if s.eos_at else '-'}")  # fmt: skip
    t.add_row("active alarms", ", ".join(a.condition.name for a in s.alarms) or "none")
    out.print(t)


@handles_errors
def stimulate_cmd(
    ctx: typer.Context,
    scenario: str = typer.Argument(..., help="stimulator scenario file (TOML) or shipped name"),
    plot: Path | None = typer.Option(
        None, "--plot", metavar="FILE.png", help="draw impedance per contact and the battery"
    ),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Run a stimulator scenario on the virtual IPG: log, impedance tests, final status.

    Shipped: seed000-ipg-end-of-service, seed001-dialysis-pocket-relocation, lead-fracture,
    insulation-breach, rechargeable-stops-charging. Exit 0: it ran; 2: invalid input."""
    st = o.state(ctx)
    label, sc = find_stimulator_scenario(scenario)
    result = run_stimulator_scenario(sc, load_stimulator_catalog(), mri_entries())
    if plot is not None:
        from thecal.adapters.stimulator_plot import plot_stimulator  # matplotlib: only if asked

        plot_stimulator(result, plot)
    if st.json or json_out:
        o.emit_json(result_json(label, result))
    else:
        render(label, result)
        if plot is not None:
            o.console().print(f"\nplot written to {o.text(plot)}")
