"""The three simulated pump kinds and how one is chosen from the catalog entry's kind.

* :class:`PeristalticPump` (SynchroMed-like): MRI stops the rotor; delivery returns after a
  2-24 h delay, and after a post-MRI interrogation if the pump was alarming.
* :class:`ValveGatedPump` (Prometra-like): MRI dumps the reservoir, or at most the closing
  volume of a flow-activated valve, which then stays closed until a programmer reset.
* :class:`ExternalTrialPump` (Curlin-like): bag volume; detects occlusion and air in line.
"""

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.refusals import CommandResult
from thecal.implant.clock import Order
from thecal.implant.firmware import Hold
from thecal.implant.limits import FirmwareLimits
from thecal.implant.simulated_pump import ImplantConfig, SimulatedPump
from thecal.therapy.pump import PumpKind, PumpSpec
from thecal.units import Dimension, InputError, check_dimension, ureg

# Parsed once: pint re-parses a prefixed unit string such as "mL" on every call (~60 µs), which
# made unit conversions a large share of a simulated pump-year.
_ML = ureg.Unit("mL")


class PeristalticPump(SimulatedPump):
    kind = PumpKind.PERISTALTIC

    def mri_scan(self, duration: pint.Quantity, recovery: pint.Quantity | None = None) -> None:
        """An MRI starting now: the rotor stops for ``duration`` and returns to proper delivery
        ``recovery`` after the scan (within the catalog's sourced 2-24 h; drawn from the
        device's seeded RNG when not given). If any alarm was active when the MRI began,
        delivery resumes only after a post-MRI interrogation."""
        check_dimension(duration, "mri.duration", Dimension.TIME)
        low = self.spec.require("mri_recovery_min", None, "mri.recovery")
        high = self.spec.require("mri_recovery_max", None, "mri.recovery")
        lo_h, hi_h = float(low.to("h").magnitude), float(high.to("h").magnitude)
        if recovery is None:
            rec_h = self.rng.uniform(lo_h, hi_h)
        else:
            check_dimension(recovery, "mri.recovery", Dimension.TIME)
            rec_h = float(recovery.to("h").magnitude)
            if not lo_h <= rec_h <= hi_h:
                raise InputError("mri.recovery", f"{recovery:~P}", f"{low:~P} to {high:~P}")
        fw = self.firmware
        alarming = fw.alarms.any_active()
        fw.write_log(
            EventKind.MRI_DETECTED,
            "MRI: rotor stopped" + (" while alarming" if alarming else ""),
            (("recovery", rec_h, "h"),),
        )
        self.plant.motor_stalled = True
        fw.set_hold(Hold.MRI, True)
        end = fw.now + float(duration.to("h").magnitude) + rec_h

        def recovered() -> None:
            self.plant.motor_stalled = False
            fw.write_log(EventKind.MRI_RECOVERED, "rotor back to proper delivery")
            if alarming:
                fw.set_hold(Hold.POST_MRI, True)
                fw.write_log(EventKind.POST_MRI_HOLD, "interrogate the pump to resume")
            fw.set_hold(Hold.MRI, False)

        self.queue.push(end, recovered, Order.DEVICE, "MRI recovery")


class ValveGatedPump(SimulatedPump):
    kind = PumpKind.VALVE_GATED

    def mri_scan(self, duration: pint.Quantity, recovery: pint.Quantity | None = None) -> None:
        """A strong magnet opens both valves: the reservoir empties into the patient, unless the
        pump has a flow-activated valve, which closes after its labelled volume (≤ 10 µL) and
        stays closed until a programmer reset (:meth:`post_mri_resume`). The firmware sees
        neither: it keeps counting actuations."""
        check_dimension(duration, "mri.duration", Dimension.TIME)
        close = self.spec.flow_valve_close_volume
        if close is None:
            self.plant.dump(self.plant.reservoir_ml)
        else:
            self.plant.dump(float(close.to(_ML).magnitude))
            self.plant.flow_valve_closed = True

    def post_mri_resume(self) -> CommandResult:
        """Programmer reset of the flow-activated valve."""
        self.firmware.telemetry()
        was = self.plant.flow_valve_closed
        self.plant.flow_valve_closed = False
        if was:
            self.firmware.write_log(EventKind.POST_MRI_RESUME, "flow-activated valve reset")
        return CommandResult("post_mri_resume", True, was)


class ExternalTrialPump(SimulatedPump):
    kind = PumpKind.EXTERNAL
    detects_occlusion = True
    detects_air = True
    stops_when_empty = True

    def _reservoir(self, spec: PumpSpec, config: ImplantConfig) -> pint.Quantity:
        bag = config.bag_volume
        if bag is None:
            raise InputError("device.bag_volume", "is required", "the bag volume, e.g. '100 mL'")
        check_dimension(bag, "device.bag_volume", Dimension.VOLUME)
        low, high = spec.bag_volume_min, spec.bag_volume_max
        if (low is not None and bag < low) or (high is not None and bag > high):
            raise InputError("device.bag_volume", f"{bag:~P}", f"{low:~P} to {high:~P}")
        return bag.to(_ML)

    def inject_air_in_line(self) -> None:
        self.plant.air_in_line = True
        self.firmware.alarms.raise_(AlarmCondition.AIR_IN_LINE)
        self.firmware.set_hold(Hold.AIR, True)

    def clear_air_in_line(self) -> None:
        """The line was primed: the condition is gone; :meth:`resume` restarts delivery."""
        self.plant.air_in_line = False
        self.firmware.alarms.resolve(AlarmCondition.AIR_IN_LINE)


def make_device(spec: PumpSpec, config: ImplantConfig, limits: FirmwareLimits) -> SimulatedPump:
    """The simulated pump for ``spec``'s kind."""
    cls: type[SimulatedPump] = {
        PumpKind.PERISTALTIC: PeristalticPump,
        PumpKind.VALVE_GATED: ValveGatedPump,
        PumpKind.EXTERNAL: ExternalTrialPump,
    }[spec.kind]
    return cls(spec, config, limits)
