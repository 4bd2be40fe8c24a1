"""Proactive replacement checklist: a pump or stimulator in place whose latest reading says it
has reached its elective replacement indicator (ERI) or end of service (EOS) is on the
worklist and the patient page ("battery at ERI: plan the replacement — run the
pre-replacement checklist") until a replacement assessment (the checklist,
:class:`~thecal.clinic.assessment_ports.AssessmentKind` ``replacement``) is recorded after
that reading for that device (the link opens the checklist with the device chosen).

How the clinic knows:

- a pump: its latest interrogation's status carries ``eri_at`` (when the implant reached its
  replacement indicator, device clock; null before) and ``eos_at`` (set at ERI: when it will
  stop); EOS is reached once the device time is at or after ``eos_at`` or the pump holds for
  end of service. The reading is the interrogation.
- a stimulator: its latest battery reading's voltage at or below the catalog's
  ``eri_voltage`` / ``eos_voltage`` (OpenNerve firmware: "<= 3.3 V" and "<= 3.2 V": the
  voltage itself counts). The firmware declares ERI after 3 consecutive low readings; the
  clinic prompts on the first, earlier rather than later. Without those voltages in the
  catalog (not public for commercial IPGs) there is no item: the battery outlook's own
  finding says what to enter.

EOS is hard (the device stops: the pump within ``eri_to_eos`` of ERI, the IPG shuts down);
ERI is soft (a replacement to plan within that time)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from thecal.clinic.assessment_ports import AssessmentKind, AssessmentRecord
from thecal.clinic.model import Device, DeviceKind, Interrogation
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.stimulator_model import BatteryReading
from thecal.clinic.stimulator_workflow import StimulatorContext
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.states import Hold
from thecal.therapy.compare import above
from thecal.therapy.findings import Level
from thecal.units import InputError, fmt

R = TypeVar("R")
CODE = {"ERI": "REPLACEMENT-ERI", "EOS": "REPLACEMENT-EOS"}  # worklist codes, as REFILL-OVERDUE
IMPLANT_SOURCE = "the implant's own indicator, read at the interrogation"


@dataclass(frozen=True)
class ReplacementDue:
    """``device`` reached ``state`` ("ERI" or "EOS"): ``reading_at`` is when a reading first
    showed it (:func:`onset`), ``what`` the latest reading in words; ``source``: where the
    threshold comes from."""

    device: Device
    state: str
    reading_at: datetime
    what: str
    source: str

    @property
    def level(self) -> str:
        return (Level.HARD if self.state == "EOS" else Level.SOFT).value

    @property
    def message(self) -> str:
        kind = "stimulator" if self.device.kind is DeviceKind.STIMULATOR else "pump"
        return (
            f"Battery at {self.state} ({kind} {self.device.model} {self.device.serial}: "
            f"{self.what}): plan the replacement — run the pre-replacement checklist."
        )


def _stamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None  # an unreadable indicator is not a reached one; the snapshot page shows it


def pump_state(
    interrogation: Interrogation, device: Device, catalog: DeviceCatalog | None
) -> ReplacementDue | None:
    """ERI or EOS of the pump as ``interrogation`` reports it, else None (``catalog``: for the
    source of the time from ERI to EOS; None: the implant's alone). ``eri_at`` is when the
    pump reached ERI; ``eos_at`` is set with it, as when the pump will stop (ERI + the time
    to EOS), so EOS is reached only at a device time at or after it, or with the pump's
    end-of-service hold."""
    s = interrogation.status
    eri, eos, now = _stamp(s.get("eri_at")), _stamp(s.get("eos_at")), _stamp(s.get("device_time"))
    holds = s.get("holds")
    stopped = isinstance(holds, list) and Hold.EOS.value in holds
    reached_eos = stopped or (eos is not None and now is not None and now >= eos)
    if eri is None and not reached_eos:
        return None
    stop = ""
    try:
        spec = catalog.pump(device.model) if catalog is not None else None
        stop = spec.source("eri_to_eos") if spec and spec.eri_to_eos is not None else ""
    except InputError:
        pass  # a model not in the catalog: the implant's indicator alone
    source = "; ".join(x for x in (IMPLANT_SOURCE, stop) if x)
    if reached_eos:
        when = f", device time {eos:%Y-%m-%d %H:%M}" if eos is not None else ""
        what = f"end of service reached{when}: the pump has stopped"
        return ReplacementDue(device, "EOS", interrogation.at, what, source)
    assert eri is not None
    until = f", stops by {eos:%Y-%m-%d %H:%M} device time" if eos is not None else ""
    return ReplacementDue(device, "ERI", interrogation.at,
                          f"replacement indicator since {eri:%Y-%m-%d %H:%M} device time{until}",
                          source)  # fmt: skip


def stimulator_state(
    reading: BatteryReading, device: Device, stimulation: StimulatorContext
) -> ReplacementDue | None:
    """ERI or EOS of the IPG by its latest battery ``reading``, else None (no voltage, or no
    ERI / EOS voltage in the catalog)."""
    if reading.voltage is None:
        return None
    try:
        ipg = stimulation.catalog.ipg(device.model, "device.model")
    except InputError:
        return None
    for state, key in (("EOS", "eos_voltage"), ("ERI", "eri_voltage")):
        limit = ipg.get(key)
        # At or below the threshold: the threshold voltage itself is the indicator.
        if limit is not None and not above(reading.voltage, limit):
            return ReplacementDue(device, state, reading.at,
                                  f"{fmt(reading.voltage)} measured, {state} at {fmt(limit)}",
                                  ipg.source(key))  # fmt: skip
    return None


_RANK = {"ERI": 1, "EOS": 2}


def onset(
    readings: Sequence[R], state_of: Callable[[R], ReplacementDue | None]
) -> ReplacementDue | None:
    """The state of the latest of ``readings`` (oldest first), dated by the first reading of
    the unbroken run before it at that state or worse (an EOS run for EOS, an ERI or EOS run
    for ERI): a checklist recorded once the indicator showed is not asked for again at every
    later reading, but a move from ERI to EOS asks again."""
    if not readings:
        return None
    due = state_of(readings[-1])
    if due is None:
        return None
    first = due.reading_at
    for r in reversed(readings[:-1]):
        earlier = state_of(r)
        if earlier is None or _RANK[earlier.state] < _RANK[due.state]:
            break
        first = earlier.reading_at
    return replace(due, reading_at=first)


def checklist_done(due: ReplacementDue, assessments: Sequence[AssessmentRecord]) -> bool:
    """A replacement assessment of THIS device recorded strictly after the reading: one at
    the reading's own instant does not clear it, nor one of the patient's other device (a
    pump's checklist says nothing of the stimulator's battery), nor one naming no device."""
    return any(
        a.kind is AssessmentKind.REPLACEMENT and a.at > due.reading_at
        and a.device_id == due.device.id
        for a in assessments
    )  # fmt: skip


def checklist_path(patient_id: str, device_id: str) -> str:
    """Where the pre-replacement checklist of ``device_id`` is run (the worklist's and the
    patient page's link): the form opens with that device chosen."""
    return (f"/patients/{patient_id}/assessments/new?occasion=replacement_planning"
            f"&device={device_id}")  # fmt: skip


def replacements_due(
    repo: ClinicRepository, catalog: DeviceCatalog | None, stimulation: StimulatorContext | None,
    latest: Sequence[Interrogation], stimulators: Sequence[Device],
) -> list[ReplacementDue]:  # fmt: skip
    """Every pump (from ``latest``: each patient's latest interrogation) and stimulator in
    place (``stimulators``) at ERI or EOS whose checklist was not recorded since the reading
    that first showed it (:func:`onset`)."""
    found: list[ReplacementDue] = []
    for i in latest:
        if i.status.get("eri_at") is None and i.status.get("eos_at") is None:
            continue  # the common case (neither set before ERI): nothing more is read
        device = repo.get_device(i.device_id)
        if not device.in_place:
            continue  # replaced since
        mine = [x for x in repo.interrogations_for(i.patient_id) if x.device_id == device.id]
        due = onset(mine, partial(pump_state, device=device, catalog=catalog))
        if due is not None:
            found.append(due)
    if stimulation is not None:
        for d in stimulators:
            readings = repo.battery_readings_for(d.id)
            due = onset(readings, partial(stimulator_state, device=d, stimulation=stimulation))
            if due is not None:
                found.append(due)
    return [d for d in found if not checklist_done(d, repo.assessments_for(d.device.patient_id))]


def replacements_due_for(
    repo: ClinicRepository, catalog: DeviceCatalog | None, stimulation: StimulatorContext | None,
    patient_id: str,
) -> list[ReplacementDue]:  # fmt: skip
    """:func:`replacements_due` for one patient (the patient page)."""
    devices = [d for d in repo.devices_for(patient_id) if d.in_place]
    pumps = {d.id for d in devices if d.kind is DeviceKind.PUMP}
    latest = [i for i in repo.interrogations_for(patient_id) if i.device_id in pumps][-1:]
    stims = [d for d in devices if d.kind is DeviceKind.STIMULATOR]
    return replacements_due(repo, catalog, stimulation, latest, stims)
