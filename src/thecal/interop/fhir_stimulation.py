"""FHIR resources of a patient's stimulator records (docs/fhir.md): impedance sets and battery
readings as Observations with components."""

from collections.abc import Iterator
from typing import Any

from thecal.clinic.stimulator_model import BatteryReading, ImpedanceSet
from thecal.interop import fhir_codes as c
from thecal.interop.fhir_history import HistoryKind
from thecal.interop.fhir_record import PatientData, Stamp, fid, observation, quantity

Resource = dict[str, Any]

KINDS: tuple[HistoryKind, ...] = ()
"""The stimulator history kinds the import takes back (:mod:`thecal.interop.fhir_history`)."""


def resources(data: PatientData, stamp: Stamp) -> Iterator[Resource]:
    for s in data.impedance_sets:
        yield impedances(s, stamp)
    for b in data.battery_readings:
        yield battery(b, stamp)


def impedances(s: ImpedanceSet, stamp: Stamp) -> Resource:
    """A set of contact impedances (ohm). An open circuit is a Quantity with comparator ">"
    (the path is above what the stimulator measures) or, with nothing reported, a string."""
    out = observation(fid(s.id), "contact-impedances", s.patient_id, stamp(s.at), s.device_id)
    out["method"] = {"text": s.source.value}
    components: list[Resource] = []
    for v in s.values:
        comp: Resource = {"code": {"coding": [c.coding(c.OBSERVATION_CODES, "contact-impedance")],
                                   "text": v.contact}}  # fmt: skip
        if v.impedance is not None:
            comp["valueQuantity"] = quantity(v.impedance, "ohm")
            if v.open_circuit:
                comp["valueQuantity"]["comparator"] = ">"
        else:
            comp["valueString"] = "open circuit" if v.open_circuit else "not measured"
        components.append(comp)
    out["component"] = components
    return out


def battery(b: BatteryReading, stamp: Stamp) -> Resource:
    out = observation(fid(b.id), "battery", b.patient_id, stamp(b.at), b.device_id)
    out["method"] = {"text": b.source.value}
    comps: list[Resource] = []
    if b.voltage is not None:
        comps.append(_component("battery-voltage", valueQuantity=quantity(b.voltage, "V")))
    if b.percent is not None:
        comps.append(_component("battery-percent", valueQuantity=quantity(b.percent, "percent")))
    comps.append(_component("recharge", valueBoolean=b.recharge))
    if b.recharge_duration is not None:
        comps.append(_component("recharge-duration",
                                valueQuantity=quantity(b.recharge_duration, "min")))  # fmt: skip
    out["component"] = comps
    return out


def _component(code: str, **value: Any) -> Resource:
    return {"code": c.concept(c.OBSERVATION_CODES, code, c.OBS[code]), **value}
