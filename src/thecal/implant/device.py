"""Simulated pumps: firmware + plant + simulated clock behind :class:`ImplantDevice`.

Three kinds share the engine and differ where the devices differ (the labelling and manuals
cited in the device catalog, ``thecal/data/devices.toml``):

* :class:`PeristalticPump` (SynchroMed-like): motor strokes; motor stall detected (critical
  alarm); MRI stops the rotor, delivery returns after a 2-24 h delay and, if the pump was
  alarming when the MRI started, only after a post-MRI interrogation; ERI/EOS battery.
* :class:`ValveGatedPump` (Prometra-like): fixed accumulator volume per actuation; a strong
  magnet (MRI) opens both valves and dumps the reservoir into the patient unless it was emptied
  first; with a flow-activated valve (Prometra II) at most the valve's closing volume leaves and
  the valve then stays closed until a programmer reset. The firmware does not see either.
* :class:`ExternalTrialPump` (Curlin-like): bag volume; continuous, PCA (patient bolus with
  lockout, loading dose as a single bolus), intermittent (periodic boluses over a keep-open
  basal); stops when the bag is empty; detects full downstream occlusion and air in line.

Faults are injected through methods (a scenario calls them at times with :meth:`schedule`) and
are visible only through their effects.

This module is the public face: the engine (construction, protocol methods, clinician's hands)
is in :mod:`thecal.implant.simulated_pump`, the faults in :mod:`thecal.implant.pump_faults`,
the kinds and :func:`make_device` in :mod:`thecal.implant.pump_kinds`.
"""

from thecal.implant.pump_faults import PumpFaults
from thecal.implant.pump_kinds import (
    ExternalTrialPump,
    PeristalticPump,
    ValveGatedPump,
    make_device,
)
from thecal.implant.simulated_pump import ALL_MODES, ImplantConfig, RefillOutcome, SimulatedPump

__all__ = [
    "ALL_MODES",
    "ExternalTrialPump",
    "ImplantConfig",
    "PeristalticPump",
    "PumpFaults",
    "RefillOutcome",
    "SimulatedPump",
    "ValveGatedPump",
    "make_device",
]
