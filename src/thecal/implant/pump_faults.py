"""Faults a scenario injects into a simulated pump (catheter, motor, battery, memory), visible
only through their effects, and the default MRI response (a pump kind without an MRI model
refuses the scan; :mod:`thecal.implant.pump_kinds` overrides it)."""

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.implant.firmware import Firmware, Hold
from thecal.implant.plant import CatheterState, Plant
from thecal.therapy.pump import PumpSpec
from thecal.units import InputError


class PumpFaults:
    """Fault injection for :class:`~thecal.implant.simulated_pump.SimulatedPump` (a mixin: it
    acts on the pump's plant and firmware)."""

    spec: PumpSpec
    plant: Plant
    firmware: Firmware
    detects_occlusion: bool

    def occlude_catheter(self, fraction: float = 1.0) -> None:
        """Partial (``0 < fraction < 1``) or full occlusion: that fraction of each stroke's
        volume does not leave the reservoir (calcification, kink)."""
        state = CatheterState.OCCLUDED if fraction >= 1.0 else CatheterState.PARTIAL_OCCLUSION
        self.plant.set_catheter(state, occlusion=fraction, leak=self.plant.leak)
        self._occlusion_sensed()

    def leak_catheter(self, fraction: float, state: CatheterState = CatheterState.LEAK) -> None:
        """``fraction`` of what leaves the pump goes to the pocket / epidural space."""
        self.plant.set_catheter(state, occlusion=self.plant.occlusion, leak=fraction)

    def disconnect_catheter(self) -> None:
        self.leak_catheter(1.0, CatheterState.DISCONNECTED)

    def migrate_catheter(self) -> None:
        """The tip left the intrathecal space: drug still flows, none reaches the CSF."""
        self.leak_catheter(1.0, CatheterState.MIGRATED)

    def fracture_catheter(self, leak: float = 1.0) -> None:
        self.leak_catheter(leak, CatheterState.FRACTURED)

    def repair_catheter(self) -> None:
        """Catheter revision: patent again."""
        self.plant.set_catheter(CatheterState.PATENT)
        self._occlusion_sensed()

    def inject_motor_stall(self) -> None:
        self.plant.motor_stalled = True
        fw = self.firmware
        fw.write_log(EventKind.MOTOR_STALL, "motor stall detected")
        fw.alarms.raise_(AlarmCondition.MOTOR_STALL)
        fw.set_hold(Hold.MOTOR_STALL, True)

    def recover_motor_stall(self) -> None:
        self.plant.motor_stalled = False
        fw = self.firmware
        fw.write_log(EventKind.MOTOR_STALL_RECOVERY, "motor stall recovery")
        fw.alarms.resolve(AlarmCondition.MOTOR_STALL)
        fw.set_hold(Hold.MOTOR_STALL, False)

    def inject_low_battery_reset(self) -> None:
        self.firmware.low_battery_reset()

    def inject_memory_error(self) -> None:
        self.firmware.memory_error()

    def mri_scan(self, duration: pint.Quantity, recovery: pint.Quantity | None = None) -> None:
        raise InputError("mri", f"{self.spec.model} has no MRI model", "an implanted pump")

    def _occlusion_sensed(self) -> None:
        if not self.detects_occlusion:
            return
        fw = self.firmware
        if self.plant.occlusion >= 1.0:
            fw.alarms.raise_(AlarmCondition.OCCLUSION)
            fw.set_hold(Hold.OCCLUSION, True)
        else:
            fw.alarms.resolve(AlarmCondition.OCCLUSION)
