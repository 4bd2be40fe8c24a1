"""From a stimulator scenario to a virtual IPG: the groups through the stimulation program
resolver (every quantity through ``parse_quantity``), the catalog values with what the file
enters for the values that are not public, the cell, the MRI labelling and the plant.
Errors name the scenario field."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pint

from thecal.devices.stimulator import StimulatorCapabilities
from thecal.implant.stimulator_battery import cell_model
from thecal.implant.stimulator_device import SimulatedStimulator, StimulatorConfig
from thecal.implant.stimulator_firmware import StimulatorSetup
from thecal.implant.stimulator_mri import mri_labelling
from thecal.implant.stimulator_plant import StimulatorPlant
from thecal.implant.stimulator_scenario_file import StimulatorScenario
from thecal.stimulation.catalog import IpgSpec, StimulatorCatalog
from thecal.stimulation.program import Program
from thecal.stimulation.program_file import StimulationFile
from thecal.stimulation.resolve import resolve
from thecal.therapy.delivery import hours
from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class BuiltStimulator:
    device: SimulatedStimulator
    groups: tuple[tuple[str, Program], ...]


def _need(ipg: IpgSpec, key: str, given: Any, field: str, dim: Dimension) -> Any:
    """The catalog's value, or the one the file enters (not both, not neither)."""
    known = ipg.get(key)
    if known is not None and given is not None:
        raise InputError(field, f"the catalog already has {known} for {ipg.model}")
    if known is not None:
        return known
    if given is None:
        raise InputError(field, f"is required: {ipg.model}'s value is not public", dim.example)
    return given if isinstance(given, int) else parse_quantity(given, field, dim)


def _ipg_value(ipg: IpgSpec, key: str) -> Any:
    value = ipg.get(key)
    if value is None:
        raise InputError(
            f"ipg.{key}", f"is required to simulate {ipg.model} (not public)", "see [ipg]"
        )
    return value


def build(
    sc: StimulatorScenario, catalog: StimulatorCatalog, mri: Sequence[Mapping[str, Any]]
) -> BuiltStimulator:
    groups: list[tuple[str, Program]] = []
    resolved = None
    for i, g in enumerate(sc.groups):
        file = StimulationFile(title=g.name, ipg=sc.ipg, leads=sc.leads, areas=g.areas)
        try:
            resolved = resolve(file, catalog)
        except InputError as exc:
            where = f"groups[{i}].{exc.field}" if exc.field.startswith("areas") else exc.field
            raise InputError(where, exc.message, exc.expected) from exc
        groups.append((g.name, resolved.program))
    assert resolved is not None  # at least one group (the file model says so)
    ipg = resolved.ipg
    lead_contacts: dict[str, int] = {}
    for i, lead in enumerate(resolved.leads):
        if lead.contacts is None:
            raise InputError(f"leads[{i}].contacts", "is required: the IPG measures each contact")
        lead_contacts[lead.name] = lead.contacts
    if ipg.battery is None:
        raise InputError("ipg.battery", f"is required: {ipg.model}'s is not public")
    dev, bat = sc.device, sc.battery
    window = {
        key: _need(ipg, key, getattr(dev, key), f"device.{key}", Dimension.IMPEDANCE)
        for key in ("impedance_min", "impedance_max", "short_threshold")
    }
    available: pint.Quantity = _ipg_value(ipg, "available_voltage")
    labelling = mri_labelling(dev.mri_labelling, mri)
    caps = StimulatorCapabilities(
        model=ipg.model,
        battery=ipg.battery,
        contacts=sum(lead_contacts.values()),
        available_voltage=available,
        amplitude_step=ipg.get("amplitude_step"),
        impedance_min=window["impedance_min"],
        impedance_max=window["impedance_max"],
        short_threshold=window["short_threshold"],
        mri_mode=labelling.mri_mode,
        sources=tuple(ipg.sources.items()),
    )
    V = Dimension.VOLTAGE
    cell = cell_model(
        ipg.battery,
        capacity=_ipg_value(ipg, "capacity"),
        cell_voltage=_ipg_value(ipg, "cell_voltage"),
        full_voltage=parse_quantity(bat.full_voltage, "battery.full_voltage", V),
        empty_voltage=parse_quantity(bat.empty_voltage, "battery.empty_voltage", V),
        eri_voltage=_need(ipg, "eri_voltage", bat.eri_voltage, "battery.eri_voltage", V),
        eos_voltage=_need(ipg, "eos_voltage", bat.eos_voltage, "battery.eos_voltage", V),
        low_readings=_need(
            ipg, "low_readings", bat.low_readings, "battery.low_readings", Dimension.DIMENSIONLESS
        ),
        check_interval=parse_quantity(bat.check_interval, "battery.check_interval", Dimension.TIME),
        efficiency=_ipg_value(ipg, "efficiency"),
        quiescent_power=_ipg_value(ipg, "quiescent_power"),
        charge_power=(
            parse_quantity(bat.charge_power, "battery.charge_power", Dimension.POWER)
            if bat.charge_power is not None
            else None
        ),
    )
    setup = StimulatorSetup(
        caps, ipg, catalog.limits, resolved.contact_areas, lead_contacts, cell, labelling
    )
    p = sc.plant
    ohm = Dimension.IMPEDANCE

    def o(text: str, field: str, positive: bool = True) -> float:
        value = float(parse_quantity(text, f"plant.{field}", ohm).to("ohm").magnitude)
        if value < 0 or (positive and value == 0):
            raise InputError(
                f"plant.{field}", f"got {text!r}", "above 0 Ohm" if positive else "0 Ohm or more"
            )
        return value

    plant = StimulatorPlant.build(
        list(lead_contacts.items()),
        o(p.contact_impedance, "contact_impedance"),
        o(p.case_impedance, "case_impedance"),
        o(p.rise_per_year, "rise_per_year", positive=False),
        o(p.case_rise_per_year, "case_rise_per_year", positive=False),
        float(available.to("V").magnitude),
        hours(sc.start),
    )
    config = StimulatorConfig(
        dev.serial,
        sc.start,
        parse_quantity(dev.critical_alarm_repeat, "device.critical_alarm_repeat", Dimension.TIME),
        parse_quantity(
            dev.noncritical_alarm_repeat, "device.noncritical_alarm_repeat", Dimension.TIME
        ),
    )
    return BuiltStimulator(SimulatedStimulator(setup, config, plant), tuple(groups))
