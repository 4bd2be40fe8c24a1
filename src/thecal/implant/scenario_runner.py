"""The scenario event loop: build the device, fill and program it, schedule the faults and
actions on the engine (:meth:`SimulatedPump.schedule`), run to the end, sample on the way.

What each action or fault does is in :mod:`thecal.implant.scenario_actions`; programs and refills
go through the therapy core in :mod:`thecal.implant.scenario_gate`. Pure like the engine: no
I/O, no wall clock. Numbers come from the scenario, the catalog or the library.
"""

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import numpy as np
import pint

from thecal.devices.catalog import DeviceCatalog
from thecal.implant.device import ImplantConfig, SimulatedPump, make_device
from thecal.implant.limits import hard_limits_from_library
from thecal.implant.scenario_actions import do_action, do_fault
from thecal.implant.scenario_file import PatientBolusAction, RefillAction, Scenario, _Action
from thecal.implant.scenario_gate import ClinicProgram, set_program
from thecal.implant.scenario_quantities import (
    at_time,
    check_fill,
    fraction,
    micro,
    ml,
    optional,
    readable,
)
from thecal.implant.scenario_results import (
    ActionReport,
    LogEntry,
    ScenarioResult,
    TimeSeries,
    Values,
    alarm_periods,
    merge_log,
)
from thecal.therapy.findings import Finding, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PatientSpec
from thecal.therapy.plan_file_typed import typed_ingredients, typed_patient_bolus, typed_schedule
from thecal.therapy.plan_model import PumpSettings
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity

Assess = Callable[[RefillProposal, DrugLibrary], RefillAssessment]


class Runner:
    """The state of one run: the pump, the clinic's view, the log, the samples."""

    def __init__(
        self,
        sc: Scenario,
        library: DrugLibrary,
        catalog: DeviceCatalog,
        end: datetime,
        seed: int,
        step: pint.Quantity | None,
        assess: Assess = assess_refill,
    ) -> None:
        self.sc = sc
        self.assess = assess
        self.library = library
        self.catalog = catalog
        self.end = end
        self.spec = catalog.pump(sc.device.model, "device.model")
        dev = sc.device
        self.pump_entry_base = PumpSettings(
            model=dev.model,
            reservoir=optional(dev.bag_volume, "device.bag_volume", Dimension.VOLUME),
        )
        self.threshold = self._threshold(dev.low_reservoir_alarm)
        self.scenario_log: list[tuple[int, LogEntry]] = []
        self.reports: list[ActionReport] = []
        self.times: list[datetime] = []
        self.cols: list[list[float]] = [[], [], [], [], []]
        self.doses_csf: dict[str, float] = {}
        self.doses_left: dict[str, float] = {}
        self.dose_units: dict[str, str] = {}
        self._last_truth = (0.0, 0.0)
        span_h = (end - sc.start).total_seconds() / 3600.0
        if step is None:
            # ~500 samples over the run, at least hourly apart: enough for a readable plot.
            step_h = max(1.0, span_h / 500.0)
        else:
            step_h = float(step.to("h").magnitude)
            if step_h <= 0:
                raise InputError("step", "must be greater than zero", "e.g. '1 d'")
        self.step_h = step_h
        self.pump = self._build(seed)
        self.program: ClinicProgram | None = None
        self.last_fill: tuple[float, datetime, bool] = (0.0, sc.start, False)
        self.withdrawn_since_fill = 0.0
        self.current_note = ""

    # -- construction -----------------------------------------------------------------------

    def _threshold(self, entered: str | None) -> pint.Quantity:
        if entered is not None:
            return parse_quantity(entered, "device.low_reservoir_alarm", Dimension.VOLUME)
        catalog_value = self.spec.low_reservoir_alarm
        if catalog_value is None:
            raise InputError(
                "device.low_reservoir_alarm",
                f"is required: the catalog has no recommended level for {self.spec.model}",
                "a volume such as '3 mL'",
            )
        return Q_(ml(catalog_value), "mL")

    def _build(self, seed: int) -> SimulatedPump:
        dev = self.sc.device
        bias: float | None
        bias = None if dev.flow_bias == "draw" else fraction(dev.flow_bias, "device.flow_bias")
        band = None
        if dev.flow_bias_band is not None:
            band = (
                fraction(dev.flow_bias_band[0], "device.flow_bias_band[0]"),
                fraction(dev.flow_bias_band[1], "device.flow_bias_band[1]"),
            )
        T, V = Dimension.TIME, Dimension.VOLUME
        config = ImplantConfig(
            serial=dev.serial,
            start=self.sc.start,
            critical_alarm_repeat=parse_quantity(
                dev.critical_alarm_repeat, "device.critical_alarm_repeat", T
            ),
            stroke_volume=optional(dev.stroke_volume, "device.stroke_volume", V),
            noncritical_alarm_repeat=optional(
                dev.noncritical_alarm_repeat, "device.noncritical_alarm_repeat", T
            ),
            flow_bias=bias,
            flow_bias_band=band,
            seed=seed,
            catheter_volume=optional(dev.catheter_volume, "device.catheter_volume", V),
            bag_volume=optional(dev.bag_volume, "device.bag_volume", V),
            simulate_battery=dev.simulate_battery,
            battery_calibration_flow=optional(
                dev.battery_calibration_flow, "device.battery_calibration_flow", Dimension.FLOW_RATE
            ),
            battery_telemetry_cost=optional(
                dev.battery_telemetry_cost, "device.battery_telemetry_cost", T
            ),
        )
        limits = hard_limits_from_library(self.library, _patient(self.sc.patient))
        try:
            return make_device(self.spec, config, limits)
        except InputError as exc:
            raise _device_error(exc) from exc

    # -- the log and the samples ------------------------------------------------------------

    def note(self, kind: str, message: str, values: Values = ()) -> None:
        if self.current_note:
            message += f" [{self.current_note}]"
        entry = LogEntry(self.pump.now, "scenario", kind, message, values=values)
        self.scenario_log.append((len(self.pump.firmware.log), entry))

    def sample(self) -> None:
        truth = self.pump.plant
        fw = self.pump.firmware
        left, csf = truth.left_pump_ml, truth.to_csf_ml
        d_left, d_csf = left - self._last_truth[0], csf - self._last_truth[1]
        if (d_left or d_csf) and fw.program is not None:
            # Drug that moved since the last sample was the admixture of the running program.
            for ing in fw.program.admixture.ingredients:
                name = ing.drug.name
                unit = "ug/mL" if micro(ing.concentration) else "mg/mL"
                conc = float(ing.concentration.to(unit).magnitude)
                self.dose_units.setdefault(name, unit.split("/")[0])
                self.doses_left[name] = self.doses_left.get(name, 0.0) + d_left * conc
                self.doses_csf[name] = self.doses_csf.get(name, 0.0) + d_csf * conc
        self._last_truth = (left, csf)
        self.times.append(self.pump.now)
        est = max(fw.estimate_at(fw.strokes), 0.0)
        for col, v in zip(
            self.cols, (truth.reservoir_ml, est, left, csf, fw.strokes * fw.stroke), strict=True
        ):
            col.append(v)

    def report(
        self,
        index: int,
        kind: str,
        summary: str,
        findings: tuple[Finding, ...] = (),
        values: Values = (),
        sent: bool = True,
    ) -> None:
        if self.current_note:
            summary += f" [{self.current_note}]"
        self.reports.append(
            ActionReport(index, kind, self.pump.now, summary, ordered(findings), values, sent)
        )

    # -- the program through the gate -------------------------------------------------------

    def run_action(self, index: int, a: _Action) -> None:
        self.current_note = a.note
        try:
            do_action(a, self, index)
        finally:
            self.current_note = ""

    def _guarded(self, run: Callable[[], None]) -> Callable[[SimulatedPump], None]:
        def action(_: SimulatedPump) -> None:
            self.sample()
            run()
            self.sample()

        return action

    def run(self) -> ScenarioResult:
        sc, pump = self.sc, self.pump
        capacity = pump.capabilities.reservoir
        fill = parse_quantity(sc.fill.volume, "fill.volume", Dimension.VOLUME).to("mL")
        check_fill(fill, capacity, "fill.volume")
        pump.fill_reservoir(fill)
        pump.refill(fill)
        self.last_fill = (ml(fill), sc.start, sc.fill.first_fill)
        self.note("fill", f"reservoir filled with {fmt(fill)}", (("filled", fill),))
        admixture, schedule = (
            typed_ingredients(sc.admixture, "admixture"),
            typed_schedule(sc.schedule),
        )
        bolus = typed_patient_bolus(sc.patient_bolus) if sc.patient_bolus else None
        set_program(self, -1, admixture, schedule, bolus, self.threshold)
        self.sample()
        self._schedule_all(capacity)
        t = sc.start
        step = timedelta(hours=self.step_h)
        while t < self.end:
            t = min(t + step, self.end)
            pump.advance(t)
            self.sample()
        return self._result()

    def _schedule_all(self, capacity: pint.Quantity) -> None:
        sc, pump = self.sc, self.pump
        for i, f in enumerate(sc.faults):
            at = self._time(f.at, f"faults[{i}].at")
            if at <= self.end:
                pump.schedule(at, self._guarded(partial(do_fault, f, self, i)), f.kind)
        for i, a in enumerate(sc.actions):
            field = f"actions[{i}]"
            at = self._time(a.at, field + ".at")
            if isinstance(a, RefillAction):
                v = parse_quantity(a.volume, field + ".volume", Dimension.VOLUME)
                check_fill(v, capacity, field + ".volume")
            run = partial(self.run_action, i, a)
            for when in self._repeats(a, at, field):
                if isinstance(a, PatientBolusAction):
                    # Frequent and small: no samples of their own (the step sampling covers them).
                    pump.schedule(when, _ignore_pump(run), a.kind)
                else:
                    pump.schedule(when, self._guarded(run), a.kind)

    def _time(self, value: datetime | str, field: str) -> datetime:
        at = at_time(value, self.sc.start, field)
        if at < self.sc.start:
            raise InputError(field, f"{at:%Y-%m-%d %H:%M} is before start", "a time after start")
        return at

    def _repeats(self, a: _Action, at: datetime, field: str) -> list[datetime]:
        per_day = a.repeats_per_day
        if per_day is not None:
            every_h = 24.0 / per_day
        elif a.every is None:
            return [at]
        else:
            every_h = float(parse_quantity(a.every, field + ".every", Dimension.TIME).to("h").m)
            if every_h <= 0:
                raise InputError(field + ".every", "must be greater than zero", "e.g. '30 d'")
        last = self.end if a.until is None else min(self._time(a.until, field + ".until"), self.end)
        count = a.count if a.count is not None else math.inf
        out: list[datetime] = []
        k = 0
        while k < count:
            when = at + timedelta(hours=every_h * k)
            if when > last:
                break
            out.append(when)
            k += 1
        return out

    def _result(self) -> ScenarioResult:
        pump = self.pump
        log = merge_log(pump, self.scenario_log)
        mL = "mL"
        series = TimeSeries(
            tuple(self.times),
            Q_(np.array(self.cols[0]), mL),
            Q_(np.array(self.cols[1]), mL),
            Q_(np.array(self.cols[2]), mL),
            Q_(np.array(self.cols[3]), mL),
            Q_(np.array(self.cols[4]), mL),
            Q_(self.step_h, "h"),
        )
        return ScenarioResult(
            title=self.sc.title,
            model=self.spec.model,
            serial=pump.serial,
            seed=pump.config.seed,
            flow_bias=pump.plant.flow_bias,
            start=self.sc.start,
            end=self.end,
            log=log,
            reports=tuple(self.reports),
            status=pump.peek(),
            truth=pump.truth(),
            series=series,
            doses_to_csf=tuple(
                (n, readable(Q_(v, self.dose_units[n]))) for n, v in sorted(self.doses_csf.items())
            ),
            doses_left_pump=tuple(
                (n, readable(Q_(v, self.dose_units[n]))) for n, v in sorted(self.doses_left.items())
            ),
            alarm_periods=alarm_periods(log, self.end),
        )


def _ignore_pump(run: Callable[[], None]) -> Callable[[SimulatedPump], None]:
    def action(_: SimulatedPump) -> None:
        run()

    return action


def _patient(p: PatientSpec) -> dict[str, str]:
    out: dict[str, str] = {}
    if p.opioid_naive is not None:
        out["opioid_naive"] = "true" if p.opioid_naive else "false"
    if p.spasticity_origin:
        out["spasticity_origin"] = p.spasticity_origin
    return out


_DEVICE_FIELDS = {
    "alarms.critical_repeat": "device.critical_alarm_repeat",
    "alarms.noncritical_repeat": "device.noncritical_alarm_repeat",
    "plant.flow_bias": "device.flow_bias",
    "plant.flow_bias_band": "device.flow_bias_band",
    "plant.catheter_volume": "device.catheter_volume",
    "pump.model": "device.model",
    "battery.calibration_flow": "device.battery_calibration_flow",
    "battery.telemetry_cost": "device.battery_telemetry_cost",
}


def _device_error(exc: InputError) -> InputError:
    return InputError(_DEVICE_FIELDS.get(exc.field, exc.field), exc.message, exc.expected)


def scenario_end(scenario: Scenario, until: datetime | pint.Quantity | None = None) -> datetime:
    """The end of the run: ``until`` (a date-time, or a duration after start) or the file's."""
    if until is None:
        return at_time(scenario.until, scenario.start, "until")
    if isinstance(until, datetime):
        return until
    q = parse_quantity(until, "until", Dimension.TIME)
    return scenario.start + timedelta(hours=float(q.to("h").magnitude))


def run_scenario(
    scenario: Scenario,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    until: datetime | pint.Quantity | None = None,
    seed: int | None = None,
    step: pint.Quantity | None = None,
    assess: Assess = assess_refill,
) -> ScenarioResult:
    """Run ``scenario`` to ``until`` (a date-time or a duration after start, e.g. ``Q_(2,
    "year")``; default: the file's ``until``). ``seed`` overrides ``device.seed``; ``step`` is
    the largest gap between samples of the time series (default: 1/500 of the run, ≥ 1 h).

    ``assess`` judges each refill (default: the therapy core's refill assessment).

    Raises :class:`InputError` naming the scenario field on bad input."""
    end = scenario_end(scenario, until)
    if end <= scenario.start:
        raise InputError("until", f"{end:%Y-%m-%d %H:%M} is not after start", "e.g. '2 y'")
    runner = Runner(
        scenario,
        library,
        catalog,
        end,
        scenario.device.seed if seed is None else seed,
        step,
        assess,
    )
    return runner.run()
