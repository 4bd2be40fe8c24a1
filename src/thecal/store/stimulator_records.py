"""Stimulator records in the clinic repository: leads, program versions, impedance sets and
battery readings (every write audited, the patient's version moved on)."""

import json
from collections.abc import Sequence

import pint
from sqlalchemy import select

from thecal.clinic.stimulator_model import (
    BatteryReading,
    ContactImpedance,
    ImpedanceSet,
    MeasurementSource,
    StimLead,
    StimProgramVersion,
)
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import findings_from_json, json_text, pairs_from_json
from thecal.store.stimulator_schema import (
    BatteryReadingRow,
    ImpedanceSetRow,
    StimLeadRow,
    StimProgramRow,
)
from thecal.units import Dimension, parse_quantity

_UNITS = {Dimension.IMPEDANCE: "ohm", Dimension.VOLTAGE: "V", Dimension.DIMENSIONLESS: "%",
          Dimension.TIME: "h"}  # fmt: skip


def _out(q: pint.Quantity | None, dim: Dimension) -> str | None:
    # Full precision in one unit per dimension, never a display rounding.
    return None if q is None else f"{float(q.to(_UNITS[dim]).magnitude)!r} {_UNITS[dim]}"


def _in(text: str | None, field: str, dim: Dimension) -> pint.Quantity | None:
    return None if text is None else parse_quantity(text, field, dim).to(_UNITS[dim])


def lead_of(r: StimLeadRow) -> StimLead:
    return StimLead(r.patient_id, r.device_id, r.name, r.model, r.implanted_on, r.position,
                    r.removed_on, r.id)  # fmt: skip


def stim_program_of(r: StimProgramRow) -> StimProgramVersion:
    return StimProgramVersion(r.patient_id, r.device_id, r.version, r.program_json, r.author,
                              r.reason, r.created_at, findings_from_json(r.findings),
                              pairs_from_json(r.overrides), r.id)  # fmt: skip


def impedance_set_of(r: ImpedanceSetRow) -> ImpedanceSet:
    values = []
    for entry in json.loads(r.values):
        # [contact, text] before migration 0005; [contact, text or null, open] since.
        contact, text, open_circuit = (*entry, False) if len(entry) == 2 else entry
        z = _in(text, "impedance_sets.values", Dimension.IMPEDANCE)
        values.append(ContactImpedance(str(contact), z, bool(open_circuit)))
    return ImpedanceSet(r.patient_id, r.device_id, r.at, MeasurementSource(r.source),
                        tuple(values), r.by, r.id)  # fmt: skip


def battery_reading_of(r: BatteryReadingRow) -> BatteryReading:
    f = "battery_readings"
    return BatteryReading(
        r.patient_id, r.device_id, r.at, MeasurementSource(r.source),
        _in(r.voltage, f"{f}.voltage", Dimension.VOLTAGE),
        _in(r.percent, f"{f}.percent", Dimension.DIMENSIONLESS), r.recharge,
        _in(r.recharge_duration, f"{f}.recharge_duration", Dimension.TIME), r.by, r.id,
    )  # fmt: skip


class StimulatorRecords(RepositoryBase):
    """Leads, program versions, impedance sets and battery readings of stimulators."""

    def add_stim_lead(self, lead: StimLead) -> None:
        x = lead
        self._touch(x.patient_id)
        row = StimLeadRow(id=x.id, patient_id=x.patient_id, device_id=x.device_id, name=x.name,
                          model=x.model, implanted_on=x.implanted_on, removed_on=x.removed_on,
                          position=x.position)  # fmt: skip
        self._write("insert", row, "stim_lead", x.id)

    def stim_leads_for(self, device_id: str) -> Sequence[StimLead]:
        rows = self.session.execute(
            select(StimLeadRow).where(StimLeadRow.device_id == device_id)
            .order_by(StimLeadRow.implanted_on, StimLeadRow.name, StimLeadRow.id)
        ).scalars()  # fmt: skip
        return [lead_of(r) for r in rows]

    def add_stim_program(self, program: StimProgramVersion) -> None:
        p = program
        self._touch(p.patient_id)
        row = StimProgramRow(
            id=p.id, patient_id=p.patient_id, device_id=p.device_id, version=p.version,
            program_json=p.program_json, author=p.author, reason=p.reason,
            created_at=p.created_at, findings=json_text([f.to_json() for f in p.findings]),
            overrides=json_text([list(o) for o in p.overrides]),
        )  # fmt: skip
        self._write("insert", row, "stim_program", p.id)

    def stim_programs_for(self, device_id: str) -> Sequence[StimProgramVersion]:
        rows = self.session.execute(
            select(StimProgramRow).where(StimProgramRow.device_id == device_id)
            .order_by(StimProgramRow.version)
        ).scalars()  # fmt: skip
        return [stim_program_of(r) for r in rows]

    def add_impedance_set(self, measurement: ImpedanceSet) -> None:
        m = measurement
        self._touch(m.patient_id)
        values = [[v.contact, _out(v.impedance, Dimension.IMPEDANCE), v.open_circuit]
                  for v in m.values]  # fmt: skip
        row = ImpedanceSetRow(id=m.id, patient_id=m.patient_id, device_id=m.device_id, at=m.at,
                              source=m.source.value, values=json_text(values), by=m.by,
                              open_circuit=any(v.open_circuit for v in m.values))  # fmt: skip
        self._write("insert", row, "impedance_set", m.id)

    def impedance_sets_for(self, device_id: str) -> Sequence[ImpedanceSet]:
        rows = self.session.execute(
            select(ImpedanceSetRow).where(ImpedanceSetRow.device_id == device_id)
            .order_by(ImpedanceSetRow.at, ImpedanceSetRow.id)
        ).scalars()  # fmt: skip
        return [impedance_set_of(r) for r in rows]

    def add_battery_reading(self, reading: BatteryReading) -> None:
        b = reading
        self._touch(b.patient_id)
        row = BatteryReadingRow(
            id=b.id, patient_id=b.patient_id, device_id=b.device_id, at=b.at,
            source=b.source.value, voltage=_out(b.voltage, Dimension.VOLTAGE),
            percent=_out(b.percent, Dimension.DIMENSIONLESS), recharge=b.recharge,
            recharge_duration=_out(b.recharge_duration, Dimension.TIME), by=b.by,
        )  # fmt: skip
        self._write("insert", row, "battery_reading", b.id)

    def battery_readings_for(self, device_id: str) -> Sequence[BatteryReading]:
        rows = self.session.execute(
            select(BatteryReadingRow).where(BatteryReadingRow.device_id == device_id)
            .order_by(BatteryReadingRow.at, BatteryReadingRow.id)
        ).scalars()  # fmt: skip
        return [battery_reading_of(r) for r in rows]
