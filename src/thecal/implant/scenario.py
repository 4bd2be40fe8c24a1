"""Scenarios: a device, a program, a fill, faults and timed clinical actions, run in simulated time.

The public face of the scenario modules (docs/scenario-format.md), each named for what it decides:

- :mod:`~thecal.implant.scenario_file`: the file model (faults and actions, one model per kind);
- :mod:`~thecal.implant.scenario_runner`: the event loop and the samples;
- :mod:`~thecal.implant.scenario_actions`: one handler per action and fault kind;
- :mod:`~thecal.implant.scenario_gate`: programs and refills through the therapy core;
- :mod:`~thecal.implant.scenario_results`: what a run returns.

Pure like the engine: no I/O, no wall clock.
"""

import datetime as _dt

import pint

from thecal.devices.catalog import DeviceCatalog
from thecal.implant import scenario_runner
from thecal.implant.scenario_file import (
    ActionEntry,
    DeviceEntry,
    FaultEntry,
    InitialFill,
    Scenario,
    scenario_json_schema,
)
from thecal.implant.scenario_results import (
    ActionReport,
    AlarmPeriod,
    LogEntry,
    ScenarioResult,
    TimeSeries,
    alarm_periods,
)
from thecal.implant.scenario_runner import scenario_end
from thecal.therapy.library import DrugLibrary
from thecal.therapy.refill_assessment import assess_refill


def run_scenario(
    scenario: Scenario,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    until: _dt.datetime | pint.Quantity | None = None,
    seed: int | None = None,
    step: pint.Quantity | None = None,
) -> ScenarioResult:
    """Run ``scenario`` to ``until`` (a date-time or a duration after start, e.g. ``Q_(2,
    "year")``; default: the file's ``until``). ``seed`` overrides ``device.seed``; ``step`` is
    the largest gap between samples of the time series (default: 1/500 of the run, ≥ 1 h).

    Refills are judged by this module's ``assess_refill``, looked up at each call (so a test
    can watch what the scenario asks the therapy core).

    Raises :class:`InputError` naming the scenario field on bad input."""
    return scenario_runner.run_scenario(
        scenario, library, catalog, until, seed, step, assess_refill
    )


__all__ = [
    "ActionEntry",
    "ActionReport",
    "AlarmPeriod",
    "DeviceEntry",
    "FaultEntry",
    "InitialFill",
    "LogEntry",
    "Scenario",
    "ScenarioResult",
    "TimeSeries",
    "alarm_periods",
    "assess_refill",
    "run_scenario",
    "scenario_end",
    "scenario_json_schema",
]
