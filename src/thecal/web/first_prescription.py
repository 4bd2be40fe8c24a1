"""The first prescription form (a pump in place, no prescription yet), turned into a plan file.

The pump comes from the device record (read-only); the catheter too, when its record gives a
volume (or a length the catalog turns into one), else the form asks for the volume from the
catheter's labelling. The admixture is one row per drug (a select from the drug library and a
concentration with its unit), up to the library's ``max_admixture_drugs``; the schedule and the
patient bolus are the program page's editors (:mod:`thecal.web.program_editor`); the initial
fill is a volume and when. Every field is checked on its own and named in the error
(``admixture[1].concentration``, ``fill.at``); the plan's own validation and the safety gate
then check the whole."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from thecal.adapters.plan_files import parse_plan
from thecal.clinic.model import Device, DeviceKind
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import above
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity
from thecal.units.format import exact
from thecal.web.program_editor import apply_patient_bolus, apply_schedule, blank_editor

FIELDS = ("dose", "rate", "low_reservoir_alarm", "fill_volume", "fill_at", "catheter_volume",
          "reason")  # fmt: skip
"""The form's own fields (beside the admixture rows and the editors' fields)."""


@dataclass(frozen=True)
class CatheterFacts:
    """What the record says of the catheter in place: ``entry`` (the plan's ``catheter``
    table, None: no catheter recorded), ``shown`` (its volume as the page shows it, None: not
    known) and whether the form asks for the volume (``ask``: the record cannot give it)."""

    entry: dict[str, str] | None
    shown: str | None
    ask: bool


def catheter_facts(devices: Sequence[Device], catalog: DeviceCatalog) -> CatheterFacts:
    """The catheter in place (the newest one) as the first prescription records it: its
    model and implanted length, with its volume when the record has it (registration computes
    it from the length when the catalog gives the volume per length)."""
    catheters = [d for d in devices if d.kind is DeviceKind.CATHETER and d.in_place]
    if not catheters:
        return CatheterFacts(None, None, ask=True)
    cath = max(catheters, key=lambda d: d.implanted_on)
    entry = {"model": cath.model}
    if cath.implanted_length is not None:
        entry["length"] = exact(cath.implanted_length)
    if cath.volume is not None:
        entry["volume"] = exact(cath.volume)
        return CatheterFacts(entry, fmt(cath.volume), ask=False)
    spec = next((c for c in catalog.catheters if c.model == cath.model), None)
    if spec is not None and spec.volume_per_length is not None and cath.implanted_length:
        volume = (cath.implanted_length * spec.volume_per_length).to("mL")
        return CatheterFacts(entry, fmt(volume), ask=False)
    return CatheterFacts(entry, None, ask=True)


def blank_values(library: DrugLibrary, now: datetime) -> dict[str, str]:
    """The empty form: one row per admixture drug the library allows, continuous mode, the
    fill at ``now`` (to the minute, as a ``datetime-local`` field shows it)."""
    values = dict.fromkeys(FIELDS, "")
    for i in range(library.settings.max_admixture_drugs):
        values[f"drug_{i}"] = values[f"conc_{i}"] = ""
    values.update(blank_editor(), mode="continuous")
    values["fill_at"] = f"{now:%Y-%m-%dT%H:%M}"
    return values


def _required(values: Mapping[str, str], key: str, field: str, expected: str) -> str:
    text = values.get(key, "").strip()
    if not text:
        raise InputError(field, "is required", expected)
    return text


def _admixture(values: Mapping[str, str], library: DrugLibrary) -> list[dict[str, str]]:
    """The admixture rows, filled from the first (an empty row between filled ones, or a row
    with a drug and no concentration, is named)."""
    rows = range(library.settings.max_admixture_drugs)
    filled = [i for i in rows if values.get(f"drug_{i}", "").strip()
              or values.get(f"conc_{i}", "").strip()]  # fmt: skip
    last = max(filled, default=0)
    out: list[dict[str, str]] = []
    for i in range(last + 1):
        where = f"admixture[{i}]"
        name = _required(values, f"drug_{i}", f"{where}.drug", "a drug from the drug library")
        drug = library.get(name, f"{where}.drug")
        conc = _required(values, f"conc_{i}", f"{where}.concentration",
                         "a concentration with its unit, e.g. '10 mg/mL'")  # fmt: skip
        parse_quantity(conc, f"{where}.concentration", Dimension.CONCENTRATION)
        out.append({"drug": drug.name, "concentration": conc})
    return out


def _fill_at(values: Mapping[str, str], pump: Device, at: datetime) -> datetime:
    """When the pump is (or was) filled: not before the pump's implant day and not after the
    program starts (``at``); both edges allowed (filled at implant, programmed right away)."""
    text = _required(values, "fill_at", "fill.at", "a date and time, e.g. 2026-11-23T10:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError("fill.at", f"{text[:40]!r} is not a date and time",
                         "a date and time, e.g. 2026-11-23T10:00") from None  # fmt: skip
    if when.tzinfo is not None:
        raise InputError("fill.at", "has a time zone", "the clinic's local time, no zone")
    if when.date() < pump.implanted_on:
        raise InputError("fill.at", f"{when:%Y-%m-%d %H:%M} is before the pump was implanted "
                         f"({pump.implanted_on})", "the day of the implant or later")  # fmt: skip
    if when > at:
        raise InputError("fill.at", f"{when:%Y-%m-%d %H:%M} is after the program starts "
                         f"({at:%Y-%m-%d %H:%M})", "now or earlier")  # fmt: skip
    return when


def first_plan(values: Mapping[str, str], library: DrugLibrary, pump: Device,
               catheter: CatheterFacts, at: datetime) -> PlanFile:  # fmt: skip
    """The first prescription's plan from the form, starting at ``at`` (the clinic's now).
    Raises :class:`InputError` naming the first field refused, in the form's order."""
    admixture = _admixture(values, library)
    data: dict[str, Any] = {"title": "first prescription", "at": at.isoformat(),
                            "pump": {"model": pump.model}, "admixture": admixture}  # fmt: skip
    mode = _required(values, "mode", "schedule.mode", "continuous or flex")
    sched: dict[str, Any] = {"mode": "continuous", "drug": admixture[0]["drug"]}
    if mode == "continuous":
        dose, rate = values.get("dose", "").strip(), values.get("rate", "").strip()
        if bool(dose) == bool(rate):
            raise InputError("schedule.dose", "give one: a daily dose or a rate"
                             + (" (not both)" if dose else " (is required)"),
                             "a dose per day such as '3 mg/d', or a rate such as "
                             "'0.3 mL/d'")  # fmt: skip
        key, dim = ("dose", Dimension.DOSE_RATE) if dose else ("rate", Dimension.FLOW_RATE)
        parse_quantity(dose or rate, f"schedule.{key}", dim)
        sched[key] = dose or rate
    data["schedule"] = sched
    apply_schedule(data, values)  # flex: the steps replace the dose (a bad mode is named)
    apply_patient_bolus(data, values)
    alarm = values.get("low_reservoir_alarm", "").strip()
    if alarm:
        parse_quantity(alarm, "pump.low_reservoir_alarm", Dimension.VOLUME)
        data["pump"]["low_reservoir_alarm"] = alarm
    if catheter.entry is not None or values.get("catheter_volume", "").strip():
        data["catheter"] = dict(catheter.entry or {})
        volume = values.get("catheter_volume", "").strip() if catheter.ask else ""
        if volume:
            q = parse_quantity(volume, "catheter.volume", Dimension.VOLUME)
            if not above(q, Q_(0.0, "mL")):  # a catheter holds some fluid (NaN is refused)
                raise InputError("catheter.volume", f"{volume!r} is not above 0 mL",
                                 "the labelled volume, e.g. '0.2 mL', or empty")  # fmt: skip
            data["catheter"]["volume"] = volume
    # Its range (above 0 mL, within the reservoir) is the safety gate's (a hard finding).
    fill = _required(values, "fill_volume", "fill.volume", "the volume filled, e.g. '20 mL'")
    parse_quantity(fill, "fill.volume", Dimension.VOLUME)
    data["fill"] = {"volume": fill, "at": _fill_at(values, pump, at).isoformat(),
                    "first_fill": True}  # fmt: skip
    _required(values, "reason", "program_change.reason", "why this prescription")
    return parse_plan(data)
