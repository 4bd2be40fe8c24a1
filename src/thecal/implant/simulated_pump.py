"""The simulated pump's engine: its construction from the catalog entry and
:class:`ImplantConfig`, the :class:`ImplantDevice` protocol methods a programmer calls, and the
clinician's hands (scheduling, refill with withdrawal of the residual).

Faults come from :class:`~thecal.implant.pump_faults.PumpFaults`; the three kinds (and how MRI
differs between them) are in :mod:`thecal.implant.pump_kinds`.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.pump import DeviceStatus, DrugPumpCapabilities, Mode, Program
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.implant.alarms import AlarmConfig
from thecal.implant.battery import BatteryCalibration, battery_from_spec
from thecal.implant.clock import EventQueue, Order
from thecal.implant.firmware import Firmware, Hold, SimLogEvent, require_positive_volume
from thecal.implant.limits import FirmwareLimits
from thecal.implant.plant import Plant, PlantTruth, draw_flow_bias
from thecal.implant.pump_faults import PumpFaults
from thecal.therapy.delivery import at_hours, hours
from thecal.therapy.pump import PumpKind, PumpSpec
from thecal.units import InputError, ureg

# Parsed once: pint re-parses a prefixed unit string such as "mL" on every call (~60 µs), which
# made unit conversions a large share of a simulated pump-year.
_ML = ureg.Unit("mL")

ALL_MODES = frozenset(Mode)


@dataclass(frozen=True)
class ImplantConfig:
    """How to build one simulated device.

    ``critical_alarm_repeat`` is required: no catalogued pump publishes it. ``stroke_volume``
    falls back on the catalog's ``actuation_volume`` (SynchroMed: not public, so required).
    ``flow_bias`` is a fraction (+0.02 = 2 % over); ``None`` draws it from ``seed`` within the
    catalog's accuracy band (or ``flow_bias_band``). ``bag_volume`` is required for external
    pumps. ``simulate_battery=False`` turns the battery model off."""

    serial: str
    start: datetime
    critical_alarm_repeat: pint.Quantity
    stroke_volume: pint.Quantity | None = None
    noncritical_alarm_repeat: pint.Quantity | None = None
    flow_bias: float | None = 0.0
    flow_bias_band: tuple[float, float] | None = None
    seed: int = 0
    catheter_volume: pint.Quantity | None = None
    bag_volume: pint.Quantity | None = None
    simulate_battery: bool = True
    battery_calibration_flow: pint.Quantity | None = None
    battery_telemetry_cost: pint.Quantity | None = None


@dataclass(frozen=True)
class RefillOutcome:
    """A refill as the clinic sees it: the firmware's ``expected`` residual, the ``withdrawn``
    residual (the truth), and the volume ``filled``."""

    expected: pint.Quantity
    withdrawn: pint.Quantity
    filled: pint.Quantity
    result: CommandResult


class SimulatedPump(PumpFaults):
    """Base of the three simulated kinds; satisfies :class:`~thecal.devices.pump.DrugPump`.
    The faults a scenario injects are in :class:`PumpFaults`; the kinds in
    :mod:`thecal.implant.pump_kinds`."""

    kind: PumpKind = PumpKind.PERISTALTIC
    modes: frozenset[Mode] = ALL_MODES
    detects_occlusion = False
    detects_air = False
    stops_when_empty = False

    def __init__(self, spec: PumpSpec, config: ImplantConfig, limits: FirmwareLimits) -> None:
        if spec.kind is not self.kind:
            raise InputError("pump.model", f"{spec.model} is {spec.kind}", f"a {self.kind} pump")
        if not config.serial.strip():
            raise InputError("device.serial", "is empty", "the serial number on the device")
        self.spec = spec
        self.config = config
        self.rng = random.Random(config.seed)
        stroke = spec.require("actuation_volume", config.stroke_volume, "device.stroke_volume")
        require_positive_volume(stroke, "device.stroke_volume")
        reservoir = self._reservoir(spec, config)
        self._caps = DrugPumpCapabilities(
            model=spec.model,
            kind=spec.kind,
            implanted=spec.implanted,
            reservoir=reservoir,
            stroke_volume=stroke.to(_ML),
            min_rate=spec.min_rate,
            max_rate=spec.max_rate,
            rate_resolution=spec.rate_resolution,
            max_steps_per_day=spec.max_steps_per_day,
            modes=self.modes,
            detects_occlusion=self.detects_occlusion,
            detects_air=self.detects_air,
            sources=spec.sources,
        )
        bias = config.flow_bias
        if bias is None:
            bias = draw_flow_bias(spec, self.rng, config.flow_bias_band)
        self.plant = Plant(bias, config.catheter_volume)
        self.queue = EventQueue()
        battery: BatteryCalibration | None = None
        if config.simulate_battery:
            battery = battery_from_spec(
                spec, config.battery_calibration_flow, config.battery_telemetry_cost
            )
        stroke_ml = float(stroke.to(_ML).magnitude)
        self.firmware = Firmware(
            config.serial,
            spec,
            self._caps,
            limits,
            AlarmConfig(config.critical_alarm_repeat, config.noncritical_alarm_repeat),
            self.queue,
            hours(config.start),
            lambda n: self._motor(n, stroke_ml),
            battery,
            self.stops_when_empty,
        )
        self._in_advance = False

    def _reservoir(self, spec: PumpSpec, config: ImplantConfig) -> pint.Quantity:
        return spec.require("reservoir", None, "pump.reservoir")

    def _motor(self, strokes: int, stroke_ml: float) -> None:
        self.plant.pump(strokes, stroke_ml)

    # -- ImplantDevice ------------------------------------------------------------------------

    @property
    def serial(self) -> str:
        return self.config.serial

    @property
    def capabilities(self) -> DrugPumpCapabilities:
        return self._caps

    @property
    def now(self) -> datetime:
        """True (simulation) time."""
        return at_hours(self.firmware.now)

    def interrogate(self) -> DeviceStatus:
        """Read the firmware's status (a telemetry session). Also the post-MRI interrogation."""
        self.firmware.telemetry()
        self._post_mri_interrogated()
        return self.firmware.status(self.spec.model)

    def peek(self) -> DeviceStatus:
        """The status without a telemetry session (for observers: plots, tests)."""
        return self.firmware.status(self.spec.model)

    def events(self, since_seq: int = 0) -> tuple[SimLogEvent, ...]:
        """Log entries with ``seq > since_seq`` (as the simulator keeps them: a programmer's
        copy over the link carries no simulation time)."""
        return self.firmware.events(since_seq)

    def write_program(self, program: Program) -> CommandResult:
        self.firmware.telemetry()
        return self.firmware.write_program(program)

    def refill(self, volume: pint.Quantity) -> CommandResult:
        self.firmware.telemetry()
        return self.firmware.refill(volume)

    def clinician_bolus(self, volume: pint.Quantity, duration: pint.Quantity) -> CommandResult:
        self.firmware.telemetry()
        return self.firmware.clinician_bolus(volume, duration)

    def patient_bolus_request(self) -> CommandResult:
        self.firmware.telemetry()
        return self.firmware.patient_bolus_request()

    def acknowledge_alarm(self, condition: AlarmCondition | None = None) -> CommandResult:
        self.firmware.telemetry()
        changed = self.firmware.alarms.acknowledge(condition)
        return CommandResult("acknowledge_alarm", True, changed)

    def alarm_test(self) -> CommandResult:
        """Sound every tone the device has (data: count, duration, source)."""
        self.firmware.telemetry()
        tones = tuple(t for t in (self.firmware.alarms.tones[c] for c in (True, False)) if t)
        self.firmware.write_log(EventKind.ALARM_TEST, f"{len(tones)} tone(s) sounded")
        if len(tones) == 2:
            return CommandResult("alarm_test", True, False, tones=tones)
        return CommandResult(
            "alarm_test",
            True,
            False,
            "a tone of this device is not public",
            tones=tones,
            refusal=DeviceRefusal.TONE_NOT_PUBLIC,
        )

    def read_clock(self) -> datetime:
        return at_hours(self.firmware.now + self.firmware.offset)

    def set_clock(self, device_time: datetime) -> CommandResult:
        self.firmware.telemetry()
        return self.firmware.set_clock(hours(device_time))

    def stop(self) -> CommandResult:
        self.firmware.telemetry()
        changed = self.firmware.set_hold(Hold.STOPPED, True)
        if changed:
            self.firmware.write_log(EventKind.PUMP_STOPPED, "stopped by clinician")
        return CommandResult("stop", True, changed)

    def resume(self) -> CommandResult:
        """Clear the clinician stop, and an occlusion / air hold whose cause is gone."""
        self.firmware.telemetry()
        fw = self.firmware
        changed = fw.set_hold(Hold.STOPPED, False)
        if not fw.alarms.present(AlarmCondition.OCCLUSION):
            changed = fw.set_hold(Hold.OCCLUSION, False) or changed
        if not fw.alarms.present(AlarmCondition.AIR_IN_LINE):
            changed = fw.set_hold(Hold.AIR, False) or changed
        if changed:
            fw.write_log(EventKind.PUMP_RESUMED, "resumed")
        if not fw.holds:
            return CommandResult("resume", True, changed)
        blocked = ", ".join(sorted(fw.holds))
        return CommandResult(
            "resume", True, changed, f"still held: {blocked}", refusal=DeviceRefusal.STILL_HELD
        )

    def post_mri_resume(self) -> CommandResult:
        self.firmware.telemetry()
        return self._post_mri_interrogated()

    def _post_mri_interrogated(self) -> CommandResult:
        changed = self.firmware.set_hold(Hold.POST_MRI, False)
        if changed:
            self.firmware.write_log(EventKind.POST_MRI_RESUME, "post-MRI interrogation")
        return CommandResult("post_mri_resume", True, changed)

    def advance(self, until: datetime) -> None:
        """Run simulated time to ``until`` (no-op if it is not later than now)."""
        if self._in_advance:
            raise RuntimeError("advance() called from inside a scheduled action")
        self._in_advance = True
        try:
            self.firmware.run_until(hours(until))
        finally:
            self._in_advance = False

    # -- scenarios and the clinician's hands -------------------------------------------------

    def schedule(
        self, at: datetime, action: Callable[["SimulatedPump"], Any], label: str = ""
    ) -> None:
        """Run ``action(self)`` at simulated time ``at`` (scenario actions and faults)."""
        self.queue.push(hours(at), lambda: action(self), Order.ACTION, label)

    def truth(self) -> PlantTruth:
        return self.plant.truth()

    def withdraw_residual(self) -> pint.Quantity:
        return self.plant.withdraw()

    def fill_reservoir(self, volume: pint.Quantity) -> None:
        self.plant.fill(volume, self._caps.reservoir)

    def clinical_refill(self, volume: pint.Quantity) -> RefillOutcome:
        """Record ``volume`` in the pump; once the firmware has accepted it, withdraw the
        residual and fill (same simulated instant). A refused refill withdraws and fills
        nothing (``withdrawn`` and ``filled`` are 0 mL): validate, then act."""
        expected = self.firmware.status(self.spec.model).reservoir_estimate
        result = self.refill(volume)
        if not result.state_changed:
            return RefillOutcome(expected, 0.0 * _ML, 0.0 * _ML, result)
        withdrawn = self.withdraw_residual()
        self.fill_reservoir(volume)  # fits: the firmware accepted 0 < volume <= capacity
        return RefillOutcome(expected, withdrawn, volume, result)
