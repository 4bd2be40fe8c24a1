"""Elective pump replacement planning — one tested function for the replace-by date (a wrong
replace-by date was a Class I recall, FDA Z-1338-2012).

From the implant date and the catalog's battery life (5–7 years depending on flow, Medtronic)
the earliest end of service is ``implanted_on + battery_life_min``: the conservative date. The
replacement is planned ``settings.replacement_lead`` before it (Medtronic: ~6 months ahead).
An elective-replacement-indicator alarm overrides the estimate: the pump stops within
``eri_to_eos`` of it (Medtronic: 90 days). Nothing here is a hard-coded device number: a pump
whose catalog entry lacks the battery life gets status UNKNOWN and says so.

Medtronic: "Drug pump
replacement", https://www.medtronic.com/uk-en/patients/treatments-therapies/drug-pump-chronic-pain/living-with/drug-pumps-replacement.html
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import pint

from thecal.clinic.model import Alarm, Device, DeviceKind
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.settings import ClinicSettings
from thecal.devices.alarms import AlarmCondition
from thecal.therapy.pump import PumpSpec

ERI_CODES = (AlarmCondition.ELECTIVE_REPLACEMENT.name, AlarmCondition.END_OF_SERVICE.name)


class ReplacementStatus(StrEnum):
    OVERDUE = "overdue"  # past the replace-by date
    PLAN_NOW = "plan-now"  # inside the planning lead (or the pump reported ERI)
    UPCOMING = "upcoming"
    UNKNOWN = "unknown"  # battery life not in the catalog

    @property
    def rank(self) -> int:
        return list(ReplacementStatus).index(self)


@dataclass(frozen=True)
class ReplacementPlan:
    """``replace_by``: the date the pump may stop (earliest end of service, or ERI + time to
    end of service); ``plan_from``: when to start planning (``replace_by − lead``);
    ``latest_end``: the latest end of battery life in the catalog. ``reasons`` and ``sources``
    explain each date."""

    device_id: str
    patient_id: str
    model: str
    serial: str
    implanted_on: date
    status: ReplacementStatus
    replace_by: date | None
    plan_from: date | None
    latest_end: date | None
    reasons: tuple[str, ...]
    sources: tuple[str, ...]


def _days_floor(q: pint.Quantity) -> timedelta:
    # Whole days, rounded down: a battery-life span never ends later than the catalog says.
    return timedelta(days=math.floor(float(q.to("d").magnitude)))


def plan_replacement(
    device: Device,
    spec: PumpSpec | None,
    today: date,
    settings: ClinicSettings,
    eri_on: date | None = None,
) -> ReplacementPlan:
    """Replacement plan for one implanted pump. ``spec`` is its catalog entry (None: model not
    in the catalog); ``eri_on`` the date an elective-replacement (or end-of-service) alarm was
    first reported, if any."""
    reasons: list[str] = []
    sources: list[str] = []
    replace_by: date | None = None
    latest_end: date | None = None
    life_min = spec.battery_life_min if spec else None
    if spec is not None and life_min is not None:
        replace_by = device.implanted_on + _days_floor(life_min)
        reasons.append(
            f"earliest end of battery life: implanted {device.implanted_on} + "
            f"{life_min:~P} = {replace_by}"
        )
        sources.append(spec.source("battery_life_min"))
        if spec.battery_life_max is not None:
            latest_end = device.implanted_on + _days_floor(spec.battery_life_max)
    else:
        what = (
            "is not in the device catalog" if spec is None else "has no battery life in the catalog"
        )
        reasons.append(f"{device.model} {what}: enter its replacement date from the labelling")
    if eri_on is not None:
        eos = spec.eri_to_eos if spec else None
        if eos is not None:
            stop = eri_on + _days_floor(eos)
            reasons.append(f"replacement indicator reported {eri_on}: stops by {stop}")
            sources.append(spec.source("eri_to_eos") if spec else "")
            replace_by = stop if replace_by is None else min(replace_by, stop)
        else:
            reasons.append(f"replacement indicator reported {eri_on}: replace now")
            replace_by = eri_on if replace_by is None else min(replace_by, eri_on)
    plan_from: date | None = None
    if replace_by is None:
        status = ReplacementStatus.UNKNOWN
    else:
        plan_from = replace_by - _days_floor(settings.replacement_lead)
        reasons.append(
            f"plan the replacement from {plan_from} ({settings.replacement_lead:~P} ahead)"
        )
        sources.append(settings.replacement_lead_source)
        if today > replace_by:
            status = ReplacementStatus.OVERDUE
        elif today >= plan_from or eri_on is not None:
            status = ReplacementStatus.PLAN_NOW
        else:
            status = ReplacementStatus.UPCOMING
    return ReplacementPlan(
        device.id, device.patient_id, device.model, device.serial, device.implanted_on, status,
        replace_by, plan_from, latest_end, tuple(reasons), tuple(s for s in sources if s),
    )  # fmt: skip


def _eri_on(device_id: str, alarms: Sequence[Alarm]) -> date | None:
    dates = [a.raised_at.date() for a in alarms if a.device_id == device_id and a.code in ERI_CODES]
    return min(dates) if dates else None


def _order(p: ReplacementPlan) -> tuple[int, date, date, str]:
    return (p.status.rank, p.replace_by or date.max, p.implanted_on, p.device_id)


def replacement_plans(
    repo: ClinicRepository,
    pump_specs: Mapping[str, PumpSpec],
    today: date,
    settings: ClinicSettings,
    limit: int | None = None,
) -> tuple[ReplacementPlan, ...]:
    """Plans for the implanted pumps in place, most urgent first (status, replace-by date, then
    implant date): all of them, or the first ``limit``. ``pump_specs`` maps a model to its
    catalog entry (a model not in it gets status UNKNOWN).

    With a ``limit`` only candidates are read: within one model the replace-by date follows
    the implant date, so the most urgent pumps are among each model's ``limit`` oldest (plus
    those that reported a replacement indicator); pumps of undated models rank last and are
    read only when the others do not fill the list.
    """
    eri = repo.alarms_with_codes(ERI_CODES)
    if limit is None:
        pumps = [d for d in repo.devices_in_place() if d.kind is DeviceKind.PUMP]
    else:
        pumps = _candidates(repo, pump_specs, eri, limit)
    plans = [
        plan_replacement(d, pump_specs.get(d.model), today, settings, _eri_on(d.id, eri))
        for d in pumps
    ]
    plans.sort(key=_order)
    return tuple(plans if limit is None else plans[:limit])


def _candidates(
    repo: ClinicRepository, specs: Mapping[str, PumpSpec], eri: Sequence[Alarm], limit: int
) -> list[Device]:
    found: dict[str, Device] = {}
    for a in eri:
        if a.device_id is not None and a.device_id not in found:
            d = repo.get_device(a.device_id)
            if d.in_place and d.kind is DeviceKind.PUMP:
                found[d.id] = d
    reported = list(found.values())
    dated = sorted(m for m, s in specs.items() if s.battery_life_min is not None)
    for model in dated:
        # Pumps that reported ERI may take places among the oldest: read that many more.
        extra = sum(1 for d in reported if d.model == model)
        for d in repo.pumps_in_place((model,), limit + extra):
            found.setdefault(d.id, d)
    if sum(1 for d in found.values() if d.model in dated) + len(reported) < limit:
        for d in repo.pumps_in_place(dated, limit, other_than=True):
            found.setdefault(d.id, d)
    return list(found.values())
