"""Benchmark: 10 years of a virtual IPG (``thecal.implant.stimulator_*``) in simulated time.

An OpenNerve IPG with one bipolar area (3 mA, 300 us, 50 Hz), the patient changing the
amplitude every day (seeded random values inside the clinician's 2-4 mA range), a 2 h charge
session every week, an impedance test every 91 days and the lead's impedance drifting up
(weekly plant steps). Timed: the event-driven engine (what ships). Baseline, measured in the
same run: the same engine forced to step every simulated hour (one extra event per hour: the
"tick" design the engine avoids). Correctness guard: both give the same cell energy used (the
power is constant between events, so finer steps must not change the integral) within 1e-9
relative, and the same log. Exit code 1 if the guard fails.

Run: ``.venv/bin/python benchmarks/stimulator_sim.py``. Synthetic inputs (not clinical values):
OpenNerve's output voltage, capacity, cell curve and charge power are not public.
"""

import copy
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thecal.adapters.stimulator_files import load_stimulator_catalog
from thecal.adapters.stimulator_scenario_files import mri_entries, parse_stimulator_scenario
from thecal.implant.stimulator_build import build
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.units import Q_

START = datetime(2025, 1, 6, 9)
YEARS = 10
SCENARIO: dict[str, Any] = {
    "start": START,
    "until": f"{YEARS} y",
    "device": {"critical_alarm_repeat": "1 h", "noncritical_alarm_repeat": "24 h"},
    "battery": {"full_voltage": "4.1 V", "empty_voltage": "3.0 V", "check_interval": "1 d",
                "charge_power": "50 mW"},
    "ipg": {"model": "OpenNerve IPG", "available_voltage": "12 V", "capacity": "200 mAh",
            "cell_voltage": "3.7 V", "efficiency": "50 %", "quiescent_power": "20 uW"},
    "leads": [{"name": "L1", "kind": "percutaneous", "contacts": 8, "diameter": "1.3 mm",
               "contact_length": "3 mm"}],
    "plant": {"contact_impedance": "800 Ohm", "case_impedance": "150 Ohm",
              "rise_per_year": "60 Ohm"},
    "groups": [{"name": "A", "areas": [{
        "name": "back", "amplitude": "3 mA", "pulse_width": "300 us", "rate": "50 Hz",
        "patient_min": "2 mA", "patient_max": "4 mA",
        "contacts": [{"lead": "L1", "index": 3, "polarity": "cathode"},
                     {"lead": "L1", "index": 2, "polarity": "anode"}]}]}],
}  # fmt: skip


def simulate(tick_h: float | None) -> tuple[float, SimulatedStimulator]:
    """Build, schedule 10 years, run; returns (wall seconds of the run, device)."""
    sc = parse_stimulator_scenario(copy.deepcopy(SCENARIO))
    built = build(sc, load_stimulator_catalog(), mri_entries())
    dev = built.device
    for name, program in built.groups:
        dev.write_group(name, program)
    rng = random.Random(20261129)
    end = START + timedelta(days=round(YEARS * 365.25))
    days = (end - START).days
    for day in range(1, days):
        amp = Q_(round(rng.uniform(2.0, 4.0), 1), "mA")
        dev.schedule(START + timedelta(days=day, hours=3),
                     lambda d, a=amp: d.set_amplitude("back", a, patient=True))  # fmt: skip
        if day % 7 == 0:
            dev.schedule(START + timedelta(days=day, hours=12), lambda d: d.charge(Q_(2, "h")))
        if day % 91 == 0:
            dev.schedule(START + timedelta(days=day, hours=1), lambda d: d.impedance_test())
    if tick_h is not None:
        for h in range(1, int(days * 24 / tick_h)):
            dev.schedule(START + timedelta(hours=h * tick_h), lambda d: None)
    t0 = time.perf_counter()
    dev.advance(end)
    return time.perf_counter() - t0, dev


def main() -> int:
    runs = [simulate(None) for _ in range(3)]
    event = statistics.median(t for t, _ in runs)
    tick, ticked = simulate(1.0)
    dev = runs[0][1]
    used, used_tick = dev.plant.used_j, ticked.plant.used_j
    same_log = [(e.kind, e.message) for e in dev.events()] == [
        (e.kind, e.message) for e in ticked.events()
    ]
    agree = abs(used - used_tick) <= 1e-9 * max(used, 1.0) and same_log
    adjustments = sum(1 for e in dev.events() if e.kind.value == "amplitude changed")
    print(f"10 years, {adjustments:,} patient adjustments, {len(dev.events()):,} log entries")
    print(f"event-driven: {event:.3f} s (median of 3; target < 0.5 s)")
    print(f"hourly-tick baseline: {tick:.3f} s; ratio event-driven / baseline = {event / tick:.3f}")
    print(f"cell energy used: {used:.6f} J vs {used_tick:.6f} J; same log: {same_log}")
    print(f"guard: {'ok' if agree else 'FAILED'}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
