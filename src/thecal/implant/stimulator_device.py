"""The virtual IPG behind the :class:`~thecal.devices.stimulator.SpinalCordStimulator` protocol:
the firmware, the plant and an event-driven simulated clock.

Time jumps from event to event (battery readings, impedance drift steps, scenario actions,
alarm repeats); nothing ticks per pulse. Between two events everything the cell feels is
constant (the firmware's loads, the plant's impedances), so the energy drawn is power x time
in closed form: the same drain :func:`thecal.stimulation.battery.battery_drain` projects.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.stimulator import ImpedanceReport, StimulatorCapabilities, StimulatorStatus
from thecal.implant import stimulator_programs as programs
from thecal.implant.clock import EventQueue, Order
from thecal.implant.firmware import SimLogEvent
from thecal.implant.stimulator_firmware import StimulatorFirmware, StimulatorSetup
from thecal.implant.stimulator_impedance import impedance_test
from thecal.implant.stimulator_plant import StimulatorPlant
from thecal.stimulation.catalog import BatteryKind
from thecal.stimulation.program import Program
from thecal.therapy.delivery import at_hours, hours
from thecal.units import Dimension, InputError, check_dimension

DRIFT_STEP_H = 24.0 * 7
"""How often the plant moves its impedances along their drift (simulation resolution, not a
device value): weekly steps over years of slow drift."""


def _hours(q: pint.Quantity, field: str) -> float:
    check_dimension(q, field, Dimension.TIME)
    h = float(q.to("h").magnitude)
    if not h > 0:
        raise InputError(field, "must be greater than zero", "e.g. '1 h'")
    return h


@dataclass(frozen=True)
class StimulatorConfig:
    """Serial, start, and the patient remote's alarm repeat intervals (not public for any
    IPG: required inputs)."""

    serial: str
    start: datetime
    critical_alarm_repeat: pint.Quantity
    noncritical_alarm_repeat: pint.Quantity


class SimulatedStimulator:
    """A virtual IPG; satisfies :class:`~thecal.devices.stimulator.SpinalCordStimulator`."""

    def __init__(
        self,
        setup: StimulatorSetup,
        config: StimulatorConfig,
        plant: StimulatorPlant,
        drift_step_h: float = DRIFT_STEP_H,
    ) -> None:
        if not config.serial.strip():
            raise InputError("device.serial", "is empty", "the serial number on the device")
        self.config = config
        self.plant = plant
        self.queue = EventQueue()
        start = hours(config.start)
        repeats = (
            _hours(config.critical_alarm_repeat, "device.critical_alarm_repeat"),
            _hours(config.noncritical_alarm_repeat, "device.noncritical_alarm_repeat"),
        )
        self.firmware = StimulatorFirmware(
            config.serial,
            setup,
            self.queue,
            start,
            repeats,
            lambda: setup.cell.voltage(self.plant.used_j),
        )
        self._t = start  # time up to which the cell's drain is integrated
        self._drift_h = drift_step_h
        self._in_advance = False
        self.queue.push(start + setup.cell.check_h, self._battery_check, Order.DEVICE, "battery")
        self.queue.push(start + drift_step_h, self._drift, Order.DEVICE, "drift")

    # -- the clock loop ---------------------------------------------------------------------

    def _integrate(self, t: float) -> None:
        fw, plant = self.firmware, self.plant
        if t > self._t:
            watts = fw.power_w(plant.stimulation_w(fw.loads()))
            plant.drain(watts * (t - self._t) * 3600.0, fw.cell.energy_j)
            self._t = t
        fw.now = fw.alarms.now = t

    def _battery_check(self) -> None:
        self.firmware.battery_check()
        if not self.firmware.eos:
            t = self.firmware.now + self.firmware.cell.check_h
            self.queue.push(t, self._battery_check, Order.DEVICE, "battery")

    def _drift(self) -> None:
        self.plant.step(self.firmware.now)
        self.queue.push(self.firmware.now + self._drift_h, self._drift, Order.DEVICE, "drift")

    def advance(self, until: datetime) -> None:
        """Run simulated time to ``until`` (no-op if it is not later than now)."""
        if self._in_advance:
            raise RuntimeError("advance() called from inside a scheduled action")
        self._in_advance = True
        try:
            end = max(hours(until), self.firmware.now)  # never backwards
            while self.queue.peek_time() <= end:
                event = self.queue.pop()
                self._integrate(event.at)
                event.action()
            self._integrate(end)
        finally:
            self._in_advance = False

    def schedule(
        self, at: datetime, action: Callable[["SimulatedStimulator"], Any], label: str = ""
    ) -> None:
        """Run ``action(self)`` at simulated time ``at`` (scenario actions and faults)."""
        self.queue.push(hours(at), lambda: action(self), Order.ACTION, label)

    # -- ImplantDevice ----------------------------------------------------------------------

    @property
    def serial(self) -> str:
        return self.config.serial

    @property
    def capabilities(self) -> StimulatorCapabilities:
        return self.firmware.caps

    @property
    def now(self) -> datetime:
        return at_hours(self.firmware.now)

    def interrogate(self) -> StimulatorStatus:
        return self.firmware.status()

    def events(self, since_seq: int = 0) -> tuple[SimLogEvent, ...]:
        return self.firmware.events(since_seq)

    def acknowledge_alarm(self, condition: AlarmCondition | None = None) -> CommandResult:
        return CommandResult("acknowledge_alarm", True, self.firmware.alarms.acknowledge(condition))

    def alarm_test(self) -> CommandResult:
        self.firmware.write_log(EventKind.ALARM_TEST, "0 tone(s): not public for this IPG")
        return CommandResult(
            "alarm_test",
            True,
            False,
            "the remote's tones are not public",
            refusal=DeviceRefusal.TONE_NOT_PUBLIC,
        )

    def read_clock(self) -> datetime:
        return at_hours(self.firmware.now + self.firmware.offset)

    def set_clock(self, device_time: datetime) -> CommandResult:
        fw = self.firmware
        old = fw.now + fw.offset
        fw.offset = hours(device_time) - fw.now
        fw.write_log(
            EventKind.CLOCK_SET,
            f"clock set from {at_hours(old):%Y-%m-%d %H:%M} to {device_time:%Y-%m-%d %H:%M}",
        )
        return CommandResult("set_clock", True, True)

    def stop(self) -> CommandResult:
        return self.stimulation_off()

    def resume(self) -> CommandResult:
        return self.stimulation_on()

    # -- SpinalCordStimulator -----------------------------------------------------------------

    def write_group(self, name: str, program: Program) -> CommandResult:
        return programs.write_group(self.firmware, name, program)

    def select_group(self, name: str, *, patient: bool = False) -> CommandResult:
        return programs.select_group(self.firmware, name, patient)

    def set_amplitude(
        self, area: str, amplitude: pint.Quantity, *, patient: bool = False
    ) -> CommandResult:
        return programs.set_amplitude(self.firmware, area, amplitude, patient)

    def impedance_test(self) -> tuple[ImpedanceReport | None, CommandResult]:
        fw = self.firmware
        if fw.eos:
            return None, programs.refuse(
                "impedance_test",
                DeviceRefusal.END_OF_SERVICE,
                "the stimulator is at end of service",
            )
        report = impedance_test(fw, self.plant.path)
        return report, CommandResult("impedance_test", True, True)

    def stimulation_on(self, *, patient: bool = False) -> CommandResult:
        return programs.stimulation(self.firmware, True, patient)

    def stimulation_off(self, *, patient: bool = False) -> CommandResult:
        return programs.stimulation(self.firmware, False, patient)

    def mri_mode(self, on: bool) -> CommandResult:
        """MRI mode per labelling: refused without one, and (when the labelling asks for lead
        integrity) while a contact is off for an open or short circuit or before any test."""
        fw, mri = self.firmware, self.firmware.setup.mri
        command = "mri_mode_on" if on else "mri_mode_off"
        if fw.eos:
            return programs.refuse(command, DeviceRefusal.END_OF_SERVICE, "end of service")
        if not mri.mri_mode:
            return programs.refuse(
                command, DeviceRefusal.UNSUPPORTED, f"no MRI mode ({mri.source('mri_mode')})"
            )
        if on == fw.in_mri_mode:
            return CommandResult(command, True, False)
        if on and mri.integrity_required and (fw.disabled or fw.last_report is None):
            why = (
                "contact(s) off: " + ", ".join(sorted(fw.disabled))
                if fw.disabled
                else ("no impedance test yet")
            )
            return programs.refuse(
                command,
                DeviceRefusal.LEAD_INTEGRITY,
                f"lead integrity not shown ({why}); {mri.source('integrity_required')}",
            )
        fw.in_mri_mode = on
        fw.changed()
        fw.write_log(EventKind.MRI_MODE_ON if on else EventKind.MRI_MODE_OFF, mri.name)
        return CommandResult(command, True, True)

    def charge(self, duration: pint.Quantity) -> CommandResult:
        """A charge session of ``duration`` at the cell's charge power (capped at full)."""
        fw = self.firmware
        if fw.cell.kind is not BatteryKind.RECHARGEABLE or fw.cell.charge_w is None:
            return programs.refuse(
                "charge", DeviceRefusal.NOT_RECHARGEABLE, "this stimulator has a primary cell"
            )
        h = _hours(duration, "charge.duration")
        self.plant.charge(fw.cell.charge_w * h * 3600.0)
        fw.write_log(
            EventKind.CHARGE_SESSION,
            f"{h:g} h",
            (("voltage", fw.cell.voltage(self.plant.used_j), "V"),),
        )
        fw.after_charge()
        return CommandResult("charge", True, True)

    # -- the plant's events (faults, MRI exposure) -------------------------------------------

    def mri_exposure(self) -> None:
        """A scan: in MRI mode nothing happens; outside it the labelling may reset the IPG to
        power-on defaults (groups lost: it must be reprogrammed)."""
        fw, mri = self.firmware, self.firmware.setup.mri
        self.plant.mri_exposures += 1
        fw.write_log(EventKind.MRI_DETECTED, "MRI field detected")
        if fw.in_mri_mode or not mri.reset_outside_mri_mode or fw.eos:
            return
        fw.groups.clear()
        fw.group = None
        fw.amps = {}
        fw.changed()
        fw.write_log(
            EventKind.POWER_ON_RESET,
            f"power-on reset: groups lost ({mri.source('reset_outside_mri_mode')})",
        )

    def delivered(self) -> tuple[tuple[str, float, float, float], ...]:
        """Per running area: delivered mA, commanded mA, true impedance (ohm) (truth)."""
        p = self.plant
        return tuple(
            (x.name, p.delivered_ma(x), x.commanded_ma, p.load_ohm(x))
            for x in self.firmware.loads()
        )
