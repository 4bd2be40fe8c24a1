"""Devices (pumps, catheters, trial pumps) and procedures in the clinic repository. A device
write also refreshes the patient's refill-calendar row (a drug pump in place or not)."""

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from thecal.clinic.errors import NotFoundError
from thecal.clinic.model import Device, DeviceKind, Procedure, ProcedureKind
from thecal.store.refill_schedule import sync_schedule
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import json_text, q_in, q_out
from thecal.store.schema import DeviceRow, ProcedureRow
from thecal.units import Dimension


def procedure_of(r: ProcedureRow) -> Procedure:
    return Procedure(r.patient_id, ProcedureKind(r.kind), r.performed_on,
                     tuple(json.loads(r.placed)), tuple(json.loads(r.removed)), r.notes, r.by,
                     r.id)  # fmt: skip


class DeviceRecords(RepositoryBase):
    """Devices and the procedures that place and remove them."""

    @staticmethod
    def _device(r: DeviceRow) -> Device:
        return Device(
            r.patient_id, DeviceKind(r.kind), r.model, r.implanted_on, r.serial, r.removed_on,
            q_in(r.implanted_length, "device.implanted_length", Dimension.LENGTH), r.tip_level,
            q_in(r.volume, "device.volume"), r.notes, r.id,
        )  # fmt: skip

    @staticmethod
    def _device_values(d: Device) -> dict[str, Any]:
        return {
            "patient_id": d.patient_id, "kind": d.kind.value, "model": d.model,
            "serial": d.serial, "implanted_on": d.implanted_on, "removed_on": d.removed_on,
            "implanted_length": q_out(d.implanted_length, Dimension.LENGTH),
            "tip_level": d.tip_level, "volume": q_out(d.volume), "notes": d.notes,
        }  # fmt: skip

    def add_device(self, device: Device) -> None:
        self._touch(device.patient_id)
        row = DeviceRow(id=device.id, **self._device_values(device))
        self._write("insert", row, "device", device.id)
        sync_schedule(self.session, device.patient_id)

    def get_device(self, device_id: str) -> Device:
        row = self.session.get(DeviceRow, device_id)
        if row is None:
            raise NotFoundError("device", device_id)
        return self._device(row)

    def update_device(self, device: Device) -> None:
        row = self.session.get(DeviceRow, device.id)
        if row is None:
            raise NotFoundError("device", device.id)
        before = row.patient_id
        for patient_id in sorted({before, device.patient_id}):
            self._touch(patient_id)
        for key, value in self._device_values(device).items():
            setattr(row, key, value)
        self._write("update", row, "device", device.id)
        for patient_id in {before, device.patient_id}:
            sync_schedule(self.session, patient_id)

    def devices_in_place(self) -> Sequence[Device]:
        """Every device not removed, of every patient, by (implanted_on, id) — one query for
        the calendar and replacement planning instead of one per patient."""
        rows = self.session.execute(
            select(DeviceRow)
            .where(DeviceRow.removed_on.is_(None))
            .order_by(DeviceRow.implanted_on, DeviceRow.id)
        ).scalars()
        return [self._device(r) for r in rows]

    def pumps_in_place(
        self, models: Sequence[str], limit: int | None, other_than: bool = False
    ) -> Sequence[Device]:
        d = DeviceRow
        of_model = d.model.not_in(models) if other_than else d.model.in_(models)
        query = (
            select(d)
            .where(d.kind == DeviceKind.PUMP.value, d.removed_on.is_(None), of_model)
            .order_by(d.implanted_on, d.id)
        )  # ix_devices_in_place serves the order for one model
        if limit is not None:
            query = query.limit(limit)
        return [self._device(r) for r in self.session.execute(query).scalars()]

    def devices_for(self, patient_id: str) -> Sequence[Device]:
        rows = self.session.execute(
            select(DeviceRow)
            .where(DeviceRow.patient_id == patient_id)
            .order_by(DeviceRow.implanted_on, DeviceRow.id)
        ).scalars()
        return [self._device(r) for r in rows]

    def add_procedure(self, procedure: Procedure) -> None:
        p = procedure
        self._touch(p.patient_id)
        row = ProcedureRow(
            id=p.id, patient_id=p.patient_id, kind=p.kind.value, performed_on=p.performed_on,
            placed=json_text(list(p.placed)), removed=json_text(list(p.removed)), notes=p.notes,
            by=p.by,
        )  # fmt: skip
        self._write("insert", row, "procedure", p.id)

    def procedures_for(self, patient_id: str) -> Sequence[Procedure]:
        rows = self.session.execute(
            select(ProcedureRow)
            .where(ProcedureRow.patient_id == patient_id)
            .order_by(ProcedureRow.performed_on, ProcedureRow.id)
        ).scalars()
        return [procedure_of(r) for r in rows]
