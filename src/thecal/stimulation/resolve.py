"""From a valid :class:`StimulationFile` to what the gate checks: the program (every quantity
through ``parse_quantity``), each lead's contact area and the IPG with the values the catalog
lacks. Raises :class:`InputError` naming the field for anything the file gets wrong or leaves
out that a safety check needs (a contact area; the impedance of a voltage-mode area)."""

from dataclasses import dataclass, replace
from typing import Any

import pint

from thecal.stimulation.catalog import (
    BatteryKind,
    IpgSpec,
    LeadKind,
    LeadSpec,
    StimulatorCatalog,
)
from thecal.stimulation.contacts import LeadGeometry, lead_geometry
from thecal.stimulation.program import (
    CASE,
    Area,
    ContactSetting,
    Cycling,
    Mode,
    Polarity,
    Program,
    Waveform,
    WaveformKind,
)
from thecal.stimulation.program_file import AreaEntry, LeadEntry, StimulationFile
from thecal.therapy.compare import above, below, equal
from thecal.units import Q_, Dimension, InputError, parse_quantity

FILE_SOURCE = "entered in the program file"
_IPG_DIMENSIONS = {
    "available_voltage": Dimension.VOLTAGE, "amplitude_min": Dimension.CURRENT,
    "amplitude_max": Dimension.CURRENT, "voltage_max": Dimension.VOLTAGE,
    "pulse_width_min": Dimension.TIME, "pulse_width_max": Dimension.TIME,
    "rate_min": Dimension.FREQUENCY, "rate_max": Dimension.FREQUENCY,
    "capacity": Dimension.CHARGE, "cell_voltage": Dimension.VOLTAGE,
    "efficiency": Dimension.DIMENSIONLESS, "quiescent_power": Dimension.POWER,
}  # fmt: skip


@dataclass(frozen=True)
class ResolvedStimulation:
    program: Program
    leads: tuple[LeadGeometry, ...]
    ipg: IpgSpec

    @property
    def contact_areas(self) -> dict[str, pint.Quantity]:
        return {lead.name: lead.contact_area for lead in self.leads}


def positive(value: Any, field: str, dim: Dimension) -> pint.Quantity:
    """A quantity above zero (zero cannot be a length, a pulse width or a rate)."""
    q = parse_quantity(value, field, dim)
    if not above(q, Q_(0, q.units)):
        raise InputError(field, f"{value!r} must be above zero", dim.example)
    return q


def _fraction(value: Any, field: str) -> float:
    """A share in (0, 1]: '60 %' or 0.6."""
    f = float(parse_quantity(value, field, Dimension.DIMENSIONLESS).to("").magnitude)
    if f <= 0 or above(Q_(f, ""), Q_(1, "")):
        raise InputError(field, f"{value!r} is outside 0..100 %", "a share such as '60 %'")
    return f


def _ipg(file: StimulationFile, catalog: StimulatorCatalog) -> IpgSpec:
    spec = catalog.ipg(file.ipg.model, "ipg.model")
    values, sources = dict(spec.values), dict(spec.sources)
    for key, dim in _IPG_DIMENSIONS.items():
        text = getattr(file.ipg, key)
        if text is None:
            continue
        if key in values:
            raise InputError(
                f"ipg.{key}",
                f"the catalog already has {values[key]} for {spec.model} "
                f"({spec.source(key)}); remove it here or override the catalog",
            )
        if key == "efficiency":
            values[key] = _fraction(text, f"ipg.{key}")
        elif key == "quiescent_power":
            values[key] = parse_quantity(text, f"ipg.{key}", dim)
        else:
            values[key] = positive(text, f"ipg.{key}", dim)
        sources[key] = FILE_SOURCE
    battery = spec.battery
    if file.ipg.battery is not None:
        if battery is not None:
            raise InputError(
                "ipg.battery", f"the catalog already says {spec.model} is {battery.value}"
            )
        battery = BatteryKind(file.ipg.battery)
    return replace(spec, values=values, sources=sources, battery=battery)


def _pick(field: str, given: Any, spec: LeadSpec | None, key: str) -> Any:
    known = spec.get(key) if spec is not None else None
    if given is not None and known is not None:
        raise InputError(field, f"the catalog already has {known} for {spec.model if spec else ''}")
    return given if given is not None else known


def _lead(i: int, entry: LeadEntry, catalog: StimulatorCatalog) -> LeadGeometry:
    at = f"leads[{i}]"
    if entry.name.strip().casefold() == CASE:
        raise InputError(f"{at}.name", "'case' means the IPG's case", "another name, e.g. 'L1'")
    spec = catalog.lead(entry.model, f"{at}.model") if entry.model else None
    known = spec.kind if spec is not None else None
    kind = LeadKind(entry.kind) if entry.kind else known
    if spec is not None and known is not None and entry.kind and LeadKind(entry.kind) is not known:
        raise InputError(f"{at}.kind", f"{spec.model} is a {known.value} lead")
    if kind is None:
        why = ("is required without a catalog model" if spec is None else
               f"is required: no source in the catalog says whether {spec.model} has "
               "percutaneous ring contacts or is a paddle")  # fmt: skip
        raise InputError(f"{at}.kind", why, "percutaneous, paddle")
    parsed: dict[str, pint.Quantity | None] = {}
    for key, dim in (("diameter", Dimension.LENGTH), ("contact_length", Dimension.LENGTH),
                     ("contact_area", Dimension.AREA)):  # fmt: skip
        text = getattr(entry, key)
        parsed[key] = positive(text, f"{at}.{key}", dim) if text is not None else None
        parsed[key] = _pick(f"{at}.{key}", parsed[key], spec, key)
    contacts = _pick(f"{at}.contacts", entry.contacts, spec, "contacts")
    public = ("diameter", "contact_length", "contact_area")
    cited = [f"{k}: {spec.source(k)}" for k in public if spec and spec.get(k) is not None]
    source = "; ".join(cited) or FILE_SOURCE
    geometry = lead_geometry(
        entry.name, spec.model if spec else "(not in the catalog)", kind, contacts,
        diameter=parsed["diameter"], length=parsed["contact_length"],
        area=parsed["contact_area"], source=source,
    )  # fmt: skip
    if geometry is None:
        field = f"{at}.contact_area" if kind is LeadKind.PADDLE else f"{at}.diameter"
        need = "contact_area" if kind is LeadKind.PADDLE else "diameter and contact_length"
        raise InputError(
            field,
            "the contact area is needed to check charge density, and "
            f"{spec.model if spec else 'this lead'}'s is not public: enter {need} from the "
            "lead's labelling",
            "e.g. diameter = '1.3 mm', contact_length = '3 mm'",
        )
    return geometry


def _contacts(
    at: str, entry: AreaEntry, leads: dict[str, LeadGeometry]
) -> tuple[ContactSetting, ...]:
    out: list[ContactSetting] = []
    seen: set[tuple[str, int | None]] = set()
    for j, c in enumerate(entry.contacts):
        here = f"{at}.contacts[{j}]"
        polarity = Polarity(c.polarity)
        if c.lead.strip().casefold() == CASE:
            lead = CASE
            if c.index is not None:
                raise InputError(f"{here}.index", "the case has no contact number")
            if polarity is Polarity.CATHODE:
                raise InputError(f"{here}.polarity", "the case can only be an anode", "anode, off")
        else:
            if c.lead not in leads:
                raise InputError(f"{here}.lead", f"no lead called {c.lead!r}",
                                 "one of: " + ", ".join([*leads, CASE]))  # fmt: skip
            lead = c.lead
            count = leads[lead].contacts
            if c.index is None:
                raise InputError(f"{here}.index", "is required", "a contact number from 0")
            if count is not None and c.index >= count:
                raise InputError(f"{here}.index", f"{lead} has {count} contacts",
                                 f"0..{count - 1}")  # fmt: skip
        if (lead, c.index) in seen:
            raise InputError(f"{here}", "this contact is listed twice")
        seen.add((lead, c.index))
        if polarity is Polarity.OFF:
            fraction = 0.0
        else:
            fraction = 1.0 if c.fraction is None else _fraction(c.fraction, f"{here}.fraction")
        out.append(ContactSetting(lead, c.index, polarity, fraction))
    for polarity in (Polarity.CATHODE, Polarity.ANODE):
        shares = [c.fraction for c in out if c.polarity is polarity]
        if not shares:
            raise InputError(f"{at}.contacts", f"needs at least one {polarity.value}",
                             "a cathode and an anode (the case may be the anode)")  # fmt: skip
        if not equal(Q_(sum(shares), ""), Q_(1.0, "")):
            raise InputError(
                f"{at}.contacts",
                f"the {polarity.value} fractions add up to {sum(shares):.6g} (100 % = 1)",
                f"{polarity.value} fractions that add up to 100 %",
            )
    return tuple(out)


def _area(i: int, entry: AreaEntry, leads: dict[str, LeadGeometry]) -> Area:
    at = f"areas[{i}]"
    mode = Mode(entry.mode)
    dim = Dimension.CURRENT if mode is Mode.CURRENT else Dimension.VOLTAGE
    amplitude = parse_quantity(entry.amplitude, f"{at}.amplitude", dim)
    impedance = (
        positive(entry.impedance, f"{at}.impedance", Dimension.IMPEDANCE)
        if entry.impedance is not None
        else None
    )
    if mode is Mode.VOLTAGE and impedance is None:
        raise InputError(
            f"{at}.impedance",
            "is required in voltage mode: the delivered current (and so the charge) is "
            "voltage / impedance",
            "the measured impedance, e.g. '800 Ohm'",
        )
    kind = WaveformKind(entry.waveform)
    rate = positive(entry.rate, f"{at}.rate", Dimension.FREQUENCY)
    if kind is WaveformKind.BURST:
        if entry.burst is None:
            raise InputError(f"{at}.burst", "is required for a burst waveform",
                             "burst = { pulses = 5, burst_rate = '40 Hz' }")  # fmt: skip
        burst_rate = positive(entry.burst.burst_rate, f"{at}.burst.burst_rate",
                              Dimension.FREQUENCY)  # fmt: skip
        waveform = Waveform(kind, rate, entry.burst.pulses, burst_rate)
    else:
        if entry.burst is not None:
            raise InputError(f"{at}.burst", f"only for a burst waveform, not {kind.value}")
        waveform = Waveform(kind, rate)
    cycling = None
    if entry.cycling is not None:
        cycling = Cycling(
            positive(entry.cycling.on, f"{at}.cycling.on", Dimension.TIME),
            parse_quantity(entry.cycling.off, f"{at}.cycling.off", Dimension.TIME),
        )
    low = parse_quantity(entry.patient_min, f"{at}.patient_min", dim) if entry.patient_min else None
    high = (
        parse_quantity(entry.patient_max, f"{at}.patient_max", dim) if entry.patient_max else None
    )
    if low is not None and below(amplitude, low):
        raise InputError(f"{at}.patient_min", f"is above the amplitude {entry.amplitude!r}")
    if high is not None and above(amplitude, high):
        raise InputError(f"{at}.patient_max", f"is below the amplitude {entry.amplitude!r}")
    return Area(
        entry.name, mode, amplitude,
        positive(entry.pulse_width, f"{at}.pulse_width", Dimension.TIME),
        waveform, _contacts(at, entry, leads), impedance, cycling, low, high,
    )  # fmt: skip


def resolve(file: StimulationFile, catalog: StimulatorCatalog) -> ResolvedStimulation:
    """The program, lead geometries and IPG of ``file`` (raises :class:`InputError`)."""
    ipg = _ipg(file, catalog)
    leads: dict[str, LeadGeometry] = {}
    for i, entry in enumerate(file.leads):
        if entry.name in leads:
            raise InputError(f"leads[{i}].name", f"{entry.name!r} is used twice")
        leads[entry.name] = _lead(i, entry, catalog)
    areas = tuple(_area(i, a, leads) for i, a in enumerate(file.areas))
    return ResolvedStimulation(Program(file.title, areas), tuple(leads.values()), ipg)
