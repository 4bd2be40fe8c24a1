"""The virtual IPG's firmware: its state, log, therapy state and battery readings.

It never sees the plant's truth: it learns the battery from voltage readings and the leads from
impedance tests. Each concern acts on this state from its own module: groups, programs and the
patient's bounds (:mod:`.stimulator_programs`), impedance tests and the amplitude clamp
(:mod:`.stimulator_impedance`). Times are float hours since the device EPOCH (true simulation
time); the device clock is ``true + offset``.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.clock import at_hours
from thecal.devices.identity import BatteryState
from thecal.devices.log import EventKind
from thecal.devices.stimulator import (
    ImpedanceReport,
    StimulatorCapabilities,
    StimulatorStatus,
    TherapyState,
)
from thecal.implant.clock import EventQueue
from thecal.implant.firmware import SimLogEvent
from thecal.implant.stimulator_alarms import StimulatorAlarms
from thecal.implant.stimulator_battery import CellModel, Debounce
from thecal.implant.stimulator_mri import MriLabelling
from thecal.implant.stimulator_plant import MA, AreaLoad, V, area_load
from thecal.stimulation.catalog import BatteryKind, IpgSpec, Limits
from thecal.stimulation.program import Area, Polarity, Program
from thecal.therapy.compare import above_count
from thecal.units import Q_


@dataclass(frozen=True)
class StimulatorSetup:
    """What the firmware is provisioned with: capabilities, the IPG's catalog entry (with the
    values entered for it), the institution's charge limits, each lead's contact area and
    number of contacts, the cell and the MRI labelling."""

    caps: StimulatorCapabilities
    ipg: IpgSpec
    limits: Limits
    contact_areas: dict[str, pint.Quantity]
    lead_contacts: dict[str, int]
    cell: CellModel
    mri: MriLabelling


class StimulatorFirmware:
    """One IPG's firmware, driven by its device object."""

    def __init__(
        self,
        serial: str,
        setup: StimulatorSetup,
        queue: EventQueue,
        start_h: float,
        repeats_h: tuple[float, float],
        read_voltage: Callable[[], float],
    ) -> None:
        self.serial = serial
        self.setup = setup
        self.caps = setup.caps
        self.cell = setup.cell
        self.queue = queue
        self.read_voltage = read_voltage
        self.log: list[SimLogEvent] = []
        self.now = start_h
        self.offset = 0.0
        self.alarms = StimulatorAlarms(repeats_h[0], repeats_h[1], queue, self.write_log)
        self.alarms.now = start_h
        self.groups: dict[str, Program] = {}
        self.group: str | None = None
        self.amps: dict[str, float] = {}  # running amplitude per area of the group (mA)
        self.estimates: dict[str, float] = {}  # contact impedance estimates (ohm)
        self.disabled: set[str] = set()
        self.last_report: ImpedanceReport | None = None
        self.clinician_off = False
        self.patient_off = False
        self.in_mri_mode = False
        self.eos = False
        self.depleted = False
        self.voltage = self.cell.full_v
        self.eri_h: float | None = None
        self.eos_h: float | None = None
        self.low_eri = Debounce(self.cell.low_readings)
        self.low_eos = Debounce(self.cell.low_readings)
        self._loads: tuple[AreaLoad, ...] | None = None
        self._available_v = float(setup.caps.available_voltage.to(V).magnitude)
        step = setup.caps.amplitude_step
        self._step_ma = None if step is None else float(step.to(MA).magnitude)
        self.write_log(EventKind.PROVISIONED, f"{setup.caps.model} serial {serial}")

    # -- log --------------------------------------------------------------------------------

    def write_log(
        self,
        kind: EventKind,
        message: str = "",
        values: tuple[tuple[str, float, str], ...] = (),
        alarm: AlarmCondition | None = None,
    ) -> None:
        self.log.append(
            SimLogEvent(
                serial=self.serial,
                seq=len(self.log) + 1,
                kind=kind,
                device_hours=self.now + self.offset,
                message=message,
                values=values,
                alarm=alarm,
                sim_hours=self.now,
            )
        )

    def events(self, since_seq: int = 0) -> tuple[SimLogEvent, ...]:
        return tuple(self.log[max(since_seq, 0) :])

    # -- therapy state and what the output stage is asked for -------------------------------

    @property
    def program(self) -> Program | None:
        return self.groups.get(self.group) if self.group is not None else None

    def area_enabled(self, name: str) -> bool:
        program = self.program
        if program is None:
            return False
        area = next(a for a in program.areas if a.name == name)
        return not any(c.label in self.disabled for c in area.active())

    @property
    def therapy(self) -> TherapyState:
        """The one state shown, most serious first."""
        if self.eos:
            return TherapyState.END_OF_SERVICE
        if self.depleted:
            return TherapyState.BATTERY_DEPLETED
        if self.in_mri_mode and not self.setup.mri.stimulation_in_mri_mode:
            return TherapyState.MRI_MODE
        program = self.program
        if program is None:
            return TherapyState.NO_PROGRAM
        if self.clinician_off:
            return TherapyState.OFF_BY_CLINICIAN
        if self.patient_off:
            return TherapyState.OFF_BY_PATIENT
        if not any(self.area_enabled(a.name) for a in program.areas):
            return TherapyState.LEAD_FAULT
        return TherapyState.STIMULATING

    def changed(self) -> None:
        """Something the output stage depends on changed: rebuild the loads on next ask."""
        self._loads = None

    def loads(self) -> tuple[AreaLoad, ...]:
        """What the output stage is asked to deliver now (nothing unless stimulating)."""
        if self._loads is None:
            program = self.program
            if program is None or self.therapy is not TherapyState.STIMULATING:
                self._loads = ()
            else:
                self._loads = tuple(
                    area_load(a, self.amps[a.name])
                    for a in program.areas
                    if self.area_enabled(a.name) and self.amps[a.name] > 0
                )
        return self._loads

    def power_w(self, stimulation_w: float) -> float:
        """Power drawn from the cell (W): stimulation / efficiency + quiescent; nothing after
        end of service (the IPG shut down)."""
        if self.eos:
            return 0.0
        return stimulation_w / self.cell.efficiency + self.cell.quiescent_w

    def safe_max(self, area: Area) -> float | None:
        """The most ``area`` may run at (mA): available voltage / the area's impedance as
        estimated from the last test, rounded down to the amplitude step (OpenNerve
        app_mode_impedance_test.c). None before a test measured every contact it uses."""
        labels = [c for c in area.active()]
        if not labels or any(c.label not in self.estimates for c in labels):
            return None

        def parallel(polarity: Polarity) -> float:
            return 1.0 / sum(
                1.0 / self.estimates[c.label] for c in labels if c.polarity is polarity
            )

        ohm = parallel(Polarity.CATHODE) + parallel(Polarity.ANODE)
        limit = self._available_v / ohm * 1000.0
        if self._step_ma is not None:
            # floor to the step; 1e-9 keeps 4.9999999 (float noise for 5.0) at 5.0
            limit = math.floor(limit / self._step_ma + 1e-9) * self._step_ma
        return limit

    # -- battery ----------------------------------------------------------------------------

    def battery_check(self) -> None:
        """One periodic reading, debounced (OpenNerve: 3 consecutive low readings)."""
        if self.eos:
            return
        self.voltage = v = self.read_voltage()
        # "low" = at or below the threshold (OpenNerve: <= 3.3 V / <= 3.2 V)
        eri_fires = self.low_eri.reading(not above_count(v, self.cell.eri_v))
        eos_fires = self.low_eos.reading(not above_count(v, self.cell.eos_v))
        reading = (("voltage", v, "V"),)
        primary = self.cell.kind is BatteryKind.PRIMARY
        if eri_fires and primary and self.eri_h is None:
            self.eri_h = self.now
            self.write_log(EventKind.ERI, "elective replacement indicator", reading)
            self.alarms.raise_(
                AlarmCondition.ELECTIVE_REPLACEMENT,
                "Elective replacement indicator: plan the stimulator's replacement.",
            )
        if eri_fires and not primary:
            self.alarms.raise_(AlarmCondition.RECHARGE_NEEDED)
        if eos_fires and primary:
            self.end_of_service(reading)
        elif eos_fires and not self.depleted:
            self.depleted = True
            self.changed()
            self.write_log(EventKind.BATTERY_DEPLETED, "battery empty: stimulation off", reading)

    def after_charge(self) -> None:
        """A reading after a charge session: lifts "depleted" and "recharge needed"."""
        self.voltage = v = self.read_voltage()
        above = above_count(v, self.cell.eri_v)
        self.low_eri.reading(not above)
        self.low_eos.reading(not above_count(v, self.cell.eos_v))
        if above:
            self.alarms.resolve(AlarmCondition.RECHARGE_NEEDED)
            if self.depleted:
                self.depleted = False
                self.changed()
                self.write_log(EventKind.STIMULATION_ON, "recharged: stimulation resumes")

    def end_of_service(self, reading: tuple[tuple[str, float, str], ...]) -> None:
        """EOS: log, alarm, stop for good (OpenNerve: log, then immediate shutdown)."""
        self.eos = True
        self.eos_h = self.now
        self.changed()
        self.write_log(EventKind.EOS, "end of service: stimulation stopped for good", reading)
        self.alarms.raise_(
            AlarmCondition.END_OF_SERVICE,
            "End of service: the stimulator has stopped for good; replace it.",
        )

    # -- status -----------------------------------------------------------------------------

    def status(self) -> StimulatorStatus:
        program = self.program
        areas = program.areas if program is not None else ()
        safe = tuple(
            (a.name, None if (m := self.safe_max(a)) is None else Q_(m, MA)) for a in areas
        )
        if self.eos:
            battery = BatteryState.END_OF_SERVICE
        elif self.eri_h is not None:
            battery = BatteryState.ELECTIVE_REPLACEMENT
        else:
            battery = BatteryState.OK
        return StimulatorStatus(
            serial=self.serial,
            model=self.caps.model,
            device_time=at_hours(self.now + self.offset),
            therapy=self.therapy,
            group=self.group,
            groups=tuple(self.groups),
            program=program,
            amplitudes=tuple((a.name, Q_(self.amps[a.name], MA)) for a in areas),
            safe_max=safe,
            disabled_contacts=tuple(sorted(self.disabled)),
            battery_kind=self.cell.kind,
            battery_voltage=Q_(self.voltage, V),
            battery_state=battery,
            depleted=self.depleted,
            last_impedance=self.last_report,
            alarms=self.alarms.states(),
            eri_at=at_hours(self.eri_h) if self.eri_h is not None else None,
            eos_at=at_hours(self.eos_h) if self.eos_h is not None else None,
            last_seq=len(self.log),
        )
