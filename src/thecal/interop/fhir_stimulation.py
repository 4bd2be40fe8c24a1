"""FHIR resources of a patient's stimulator records (docs/fhir.md, "Stimulator records and
assessments"): impedance sets and battery readings as Observations with components, each
stimulation program version as a DeviceRequest with its gate's findings as DetectedIssues.

Each anchor resource carries its record in the record-json extension
(:mod:`thecal.interop.fhir_history`); :data:`KINDS` are the decoders and writes the import
uses to take them back: a device of the Bundle that is a stimulator, every quantity through
the project's strict parser, and each program version of a generator in place through the
stimulation gate with the importing clinic's stimulator catalog (a hard finding refuses it,
naming the resource); a removed generator's versions are kept as recorded.
"""

from collections.abc import Iterator, Mapping
from typing import Any, Final

from thecal.clinic.model import DeviceKind
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ContactImpedance,
    ImpedanceSet,
    MeasurementSource,
    StimProgramVersion,
)
from thecal.interop import fhir_codes as c
from thecal.interop import fhir_payload as p
from thecal.interop.fhir_findings import findings
from thecal.interop.fhir_history import Context, HistoryKind, attach, q_in, q_out
from thecal.interop.fhir_record import PatientData, Stamp, fid, observation, quantity, ref
from thecal.stimulation.gate import check_program
from thecal.stimulation.program_file import StimulationFile
from thecal.stimulation.resolve import resolve
from thecal.therapy.compare import above, below
from thecal.therapy.findings import Level
from thecal.units import Q_, Dimension, InputError, parse_quantity

Resource = dict[str, Any]
STIMULATOR: Final = (DeviceKind.STIMULATOR.value,)


def resources(data: PatientData, stamp: Stamp) -> Iterator[Resource]:
    for s in data.impedance_sets:
        yield impedances(s, stamp)
    for b in data.battery_readings:
        yield battery(b, stamp)
    in_place = {d.id for d in data.devices if d.in_place}
    latest: dict[str, StimProgramVersion] = {}
    for v in data.stim_programs:
        latest[v.device_id] = v
    previous: dict[str, StimProgramVersion] = {}
    for v in data.stim_programs:
        active = latest[v.device_id] is v and v.device_id in in_place
        yield program_version(v, previous.get(v.device_id), active, stamp)
        yield from findings(
            v.id, v.patient_id, v.findings, v.overrides, stamp(v.created_at),
            ref("DeviceRequest", v.id),
        )  # fmt: skip
        previous[v.device_id] = v


# --- impedance sets ---------------------------------------------------------------------


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
    values = [{"contact": v.contact, "impedance": q_out(v.impedance),
               "open_circuit": v.open_circuit} for v in s.values]  # fmt: skip
    return attach(out, "impedance-set", {"id": s.id, "device_id": s.device_id, "at": stamp(s.at),
                                         "source": s.source.value, "by": s.by,
                                         "values": values})  # fmt: skip


def decode_impedances(data: Mapping[str, Any], where: str, ctx: Context) -> ImpedanceSet:
    """An impedance set with the workflow's rules (:func:`~thecal.clinic.stimulator_workflow.
    impedance_set`): at least one contact, each once; a value above zero ohm, required unless
    the contact is an open circuit (then it is what the IPG reported beside it, or absent)."""
    p.fields(data, where, ("id", "device_id", "at", "source", "values"), ("by",))
    items = data.get("values")
    if not isinstance(items, list) or not items:
        raise InputError(f"{where}.values", f"got {items!r}", "at least one contact")
    values: list[ContactImpedance] = []
    for i, v in enumerate(items):
        at = f"{where}.values[{i}]"
        if not isinstance(v, Mapping):
            raise InputError(at, f"got {v!r}", "a contact's impedance")
        p.fields(v, at, ("contact", "open_circuit"), ("impedance",))
        contact = p.text(v, "contact", at, p.CONTACT_MAX, stripped=True)
        if contact in {x.contact for x in values}:
            raise InputError(f"{at}.contact", f"{contact!r} is listed twice", "each contact once")
        open_circuit = p.boolean(v, "open_circuit", at)
        ohm = q_in(v, "impedance", at, Dimension.IMPEDANCE, required=not open_circuit)
        if ohm is not None and not above(ohm, Q_(0, "ohm")):
            raise InputError(f"{at}.impedance", "must be above zero", "e.g. '850 ohm'")
        values.append(ContactImpedance(contact, ohm, open_circuit))
    return ImpedanceSet(
        ctx.patient_id, _stimulator(data, where, ctx), p.when(data, "at", where, ctx),
        p.choice(data, "source", where, MeasurementSource), tuple(values),
        p.who(data, "by", where, required=False) or "", p.record_id(data, where),
    )  # fmt: skip


# --- battery readings -------------------------------------------------------------------


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
    return attach(out, "battery-reading", {
        "id": b.id, "device_id": b.device_id, "at": stamp(b.at), "source": b.source.value,
        "by": b.by, "voltage": q_out(b.voltage), "percent": q_out(b.percent),
        "recharge": b.recharge, "recharge_duration": q_out(b.recharge_duration),
    })  # fmt: skip


def decode_battery(data: Mapping[str, Any], where: str, ctx: Context) -> BatteryReading:
    """A battery reading with the workflow's rules (:func:`~thecal.clinic.stimulator_workflow.
    check_battery`): a voltage above zero and/or a percentage (a share) in 0..100 % (both ends
    allowed); a recharge duration of zero or more."""
    p.fields(data, where, ("id", "device_id", "at", "source", "recharge"),
             ("by", "voltage", "percent", "recharge_duration"))  # fmt: skip
    volts = q_in(data, "voltage", where, Dimension.VOLTAGE, required=False)
    share = q_in(data, "percent", where, Dimension.DIMENSIONLESS, required=False)
    if volts is None and share is None:
        raise InputError(f"{where}.voltage", "a voltage or a percentage is required", "3.1 V")
    if volts is not None and not above(volts, Q_(0, "V")):
        raise InputError(f"{where}.voltage", "must be above zero", "e.g. 3.1 V")
    full = parse_quantity("100 %", "full", Dimension.DIMENSIONLESS)
    if share is not None and (below(share, Q_(0, "")) or above(share, full)):
        raise InputError(f"{where}.percent", "is outside 0..100 %", "e.g. 80 %")
    return BatteryReading(
        ctx.patient_id, _stimulator(data, where, ctx), p.when(data, "at", where, ctx),
        p.choice(data, "source", where, MeasurementSource), volts, share,
        p.boolean(data, "recharge", where),
        q_in(data, "recharge_duration", where, Dimension.TIME, required=False),
        p.who(data, "by", where, required=False) or "", p.record_id(data, where),
    )  # fmt: skip


def _component(code: str, **value: Any) -> Resource:
    return {"code": c.concept(c.OBSERVATION_CODES, code, c.OBS[code]), **value}


# --- stimulation program versions -------------------------------------------------------


def program_version(v: StimProgramVersion, prior: StimProgramVersion | None, active: bool,
                    stamp: Stamp) -> Resource:  # fmt: skip
    """One program version as a DeviceRequest for the pulse generator: per area its amplitude
    (mA, or V in voltage mode), pulse width (us) and rate (Hz); the latest version of a
    stimulator in place is ``active``, every other ``completed``; ``priorRequest`` points to
    the version before. The program file (what R4 cannot hold) is in record-json."""
    parameters: list[Resource] = []
    for n, area in enumerate(v.program().areas):
        dim, unit = ((Dimension.CURRENT, "mA") if area.mode == "current"
                     else (Dimension.VOLTAGE, "V"))  # fmt: skip
        for code, value, d, u in (("amplitude", area.amplitude, dim, unit),
                                  ("pulse-width", area.pulse_width, Dimension.TIME, "us"),
                                  ("rate", area.rate, Dimension.FREQUENCY, "Hz")):  # fmt: skip
            q = parse_quantity(value, f"areas[{n}].{code}", d)
            concept = c.concept(c.STIM_PARAMETERS, code, c.STIM_PARAMETER[code])
            concept["text"] = f"area {n + 1} ({area.name}): {code.replace('-', ' ')}"
            parameters.append({"code": concept, "valueQuantity": quantity(q, u)})
    out: Resource = {
        "resourceType": "DeviceRequest", "id": fid(v.id),
        "identifier": [{"system": c.STIM_PROGRAM_VERSION, "value": str(v.version)}],
        "status": "active" if active else "completed", "intent": "order",
        "codeReference": ref("Device", v.device_id), "parameter": parameters,
        "subject": ref("Patient", v.patient_id), "authoredOn": stamp(v.created_at),
        "requester": {"display": v.author}, "note": [{"text": v.reason}],
    }  # fmt: skip
    if prior is not None:
        out["priorRequest"] = [ref("DeviceRequest", prior.id)]
    return attach(out, "stim-program", {
        "id": v.id, "device_id": v.device_id, "version": v.version,
        "program_json": v.program_json, "author": v.author, "reason": v.reason,
        "created_at": stamp(v.created_at), "findings": p.findings_out(v.findings),
        "overrides": [list(o) for o in v.overrides],
    })  # fmt: skip


def decode_program(data: Mapping[str, Any], where: str, ctx: Context) -> StimProgramVersion:
    """A program version: the program file valid; for a generator in place, resolved with the
    importing clinic's stimulator catalog and passed through the stimulation gate without a
    hard finding (the gate would have refused it when it was written: the file was changed, or
    this clinic's catalog or limits are stricter). A removed generator is history: its
    versions are kept as recorded (fhir_import's rule for devices: the catalogs list current
    models), so a model dropped from the catalog does not block the import. The findings and
    reasons kept as recorded."""
    p.fields(data, where, ("id", "device_id", "version", "program_json", "author", "reason",
                           "created_at"), ("findings", "overrides"))  # fmt: skip
    text = data.get("program_json")
    if not isinstance(text, str):
        raise InputError(f"{where}.program_json", f"got {text!r}", "the program file as JSON")
    program = p.validated(StimulationFile, text, f"{where}.program_json",
                          "a valid stimulation program")  # fmt: skip
    device = _stimulator(data, where, ctx)
    if device not in ctx.removed:
        _gate(program, where, ctx)
    found = p.findings_in(data, where)
    return StimProgramVersion(
        ctx.patient_id, device, p.whole(data, "version", where), text,
        p.who(data, "author", where),
        # The stimulator workflow stores the reason stripped and refuses a blank one.
        p.text(data, "reason", where, p.TEXT_MAX, multiline=True, stripped=True),
        p.when(data, "created_at", where, ctx), found, p.overrides_in(data, where, found),
        p.record_id(data, where),
    )  # fmt: skip


def _gate(program: StimulationFile, where: str, ctx: Context) -> None:
    """Refuse a program the importing clinic's catalog cannot resolve or its stimulation gate
    refuses (a hard finding)."""
    stimulation = ctx.cats.stimulation
    if stimulation is None:
        raise InputError(f"{where}.program_json", "the stimulator catalog is not loaded",
                         "a stimulator catalog")  # fmt: skip
    try:
        resolved = resolve(program, stimulation.catalog)
    except InputError as exc:
        raise InputError(f"{where}.program_json.{exc.field}", exc.message,
                         exc.expected) from None  # fmt: skip
    gate = check_program(resolved.program, resolved.contact_areas, resolved.ipg,
                         stimulation.catalog.limits)  # fmt: skip
    hard = [f for f in gate.findings if f.level is Level.HARD]
    if hard:
        raise InputError(f"{where}.program_json", f"the stimulation gate refuses this program: "
                         f"{hard[0].code.value}: {hard[0].message}",
                         "a program without hard findings")  # fmt: skip


def write_program(repo: ClinicRepository, v: StimProgramVersion) -> None:
    """Store a decoded version: the program's IPG must be the stimulator's model, and the
    versions of a stimulator come 1, 2, … in order (writes go in time order)."""
    where = f"DeviceRequest/{fid(v.id)}.extension(record-json)"
    device = repo.get_device(v.device_id)
    model = v.program().ipg.model
    if model.strip().casefold() != device.model.strip().casefold():
        raise InputError(f"{where}.program_json.ipg.model", f"{model!r} is not this stimulator",
                         device.model)  # fmt: skip
    expected = len(repo.stim_programs_for(v.device_id)) + 1
    if v.version != expected:
        raise InputError(f"{where}.version", f"version {v.version} after {expected - 1}",
                         f"version {expected}")  # fmt: skip
    repo.add_stim_program(v)


# --- shared ------------------------------------------------------------------------------


def _stimulator(data: Mapping[str, Any], where: str, ctx: Context) -> str:
    return p.device_in(data, "device_id", where, ctx, STIMULATOR)


KINDS: tuple[HistoryKind, ...] = (
    HistoryKind("impedance-set", "Observation", decode_impedances,
                lambda repo, s: repo.add_impedance_set(s), lambda s: s.at),
    HistoryKind("battery-reading", "Observation", decode_battery,
                lambda repo, b: repo.add_battery_reading(b), lambda b: b.at),
    HistoryKind("stim-program", "DeviceRequest", decode_program, write_program,
                lambda v: v.created_at),
)  # fmt: skip
"""The stimulator history kinds the import takes back (:mod:`thecal.interop.fhir_history`)."""
