"""The virtual implant: firmware, plant, alarms, event log and an event-driven simulated clock.

Pure like the therapy core: no I/O, no wall clock (simulated time only); randomness only from
``random.Random(seed)``. See docs/implant.md.
"""

from thecal.implant.alarms import AlarmConfig, AlarmEngine
from thecal.implant.battery import BatteryCalibration, battery_from_spec
from thecal.implant.device import (
    ExternalTrialPump,
    ImplantConfig,
    PeristalticPump,
    RefillOutcome,
    SimulatedPump,
    ValveGatedPump,
    make_device,
)
from thecal.implant.firmware import Firmware, Hold
from thecal.implant.limits import DrugHardLimits, FirmwareLimits, hard_limits_from_library
from thecal.implant.plant import CatheterState, Plant, PlantTruth, draw_flow_bias

__all__ = [
    "AlarmConfig",
    "AlarmEngine",
    "BatteryCalibration",
    "CatheterState",
    "DrugHardLimits",
    "ExternalTrialPump",
    "Firmware",
    "FirmwareLimits",
    "Hold",
    "ImplantConfig",
    "PeristalticPump",
    "Plant",
    "PlantTruth",
    "RefillOutcome",
    "SimulatedPump",
    "ValveGatedPump",
    "battery_from_spec",
    "draw_flow_bias",
    "hard_limits_from_library",
    "make_device",
]
