"""Builders shared by the implant tests. Numbers that are not sourced are test inputs."""

from datetime import datetime, time, timedelta

import pint

from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.implant import FirmwareLimits, ImplantConfig, SimulatedPump, make_device
from thecal.implant.limits import DrugHardLimits
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import PatientBolus, Schedule, continuous, day_program, weekly
from thecal.units import Q_

START = datetime(2024, 1, 1)  # a Monday
CRITICAL_REPEAT = Q_(10, "min")  # test input: the real value is not public
STROKE = Q_(0.001, "mL")  # test input: SynchroMed stroke volume is not public


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def morphine(library: DrugLibrary, conc: str = "10 mg/mL") -> Admixture:
    return make_admixture([(library.get("morphine"), Q_(conc))])


def ziconotide(library: DrugLibrary, conc: str = "25 mcg/mL") -> Admixture:
    return make_admixture([(library.get("ziconotide"), Q_(conc))])


def limits(library: DrugLibrary, **extra: DrugHardLimits) -> FirmwareLimits:
    """Every library drug; ziconotide keeps its shipped hard daily limit (21.6 mcg/d)."""
    from thecal.implant import hard_limits_from_library

    base = hard_limits_from_library(library, {"opioid_naive": "false"})
    drugs = tuple(extra.get(d.drug, d) for d in base.drugs)
    return FirmwareLimits(drugs)


def pump(
    catalog: DeviceCatalog,
    library: DrugLibrary,
    model: str = "SynchroMed II 8637-40",
    fw_limits: FirmwareLimits | None = None,
    **config: object,
) -> SimulatedPump:
    kwargs: dict[str, object] = {"stroke_volume": STROKE}
    if "Prometra" in model or "Curlin" in model:
        # Catalog stroke volume; the non-critical repeat is not public for these: test input.
        kwargs = {"noncritical_alarm_repeat": Q_(1, "h")}
    kwargs.update(config)
    cfg = ImplantConfig("SN-TEST", START, CRITICAL_REPEAT, **kwargs)  # type: ignore[arg-type]
    return make_device(catalog.pump(model), cfg, fw_limits or limits(library))


def simple_program(
    admixture: Admixture,
    rate: str = "0.5 mL/d",
    threshold: str = "2 mL",
    ptb: PatientBolus | None = None,
) -> Program:
    return Program(Schedule(continuous(Q_(rate))), admixture, Q_(threshold), ptb)


def flex(*steps: tuple[int, str]) -> Schedule:
    return Schedule(weekly({}, day_program([(time(h, 0), Q_(r)) for h, r in steps])))


def filled(dev: SimulatedPump, volume: str) -> None:
    dev.fill_reservoir(Q_(volume))
    assert dev.refill(Q_(volume)).state_changed


def ml(q: pint.Quantity) -> float:
    return float(q.to("mL").magnitude)
