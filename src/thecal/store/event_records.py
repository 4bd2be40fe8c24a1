"""What happens to a patient's devices in the clinic repository: interrogations (status and
log read from a pump), alarms (raised and cleared) and complications."""

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from thecal.clinic.errors import NotFoundError
from thecal.clinic.model import Alarm, Complication, ComplicationCode, Interrogation
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import findings_from_json, json_text
from thecal.store.schema import AlarmRow, ComplicationRow, InterrogationRow


def complication_of(r: ComplicationRow) -> Complication:
    return Complication(r.patient_id, ComplicationCode(r.code), r.occurred_on, r.notes,
                        r.device_id, r.by, r.id)  # fmt: skip


class EventRecords(RepositoryBase):
    """Interrogations, alarms and complications."""

    def add_interrogation(self, interrogation: Interrogation) -> None:
        i = interrogation
        self._touch(i.patient_id)
        row = InterrogationRow(
            id=i.id, patient_id=i.patient_id, device_id=i.device_id, at=i.at,
            status=json_text(i.status), log=json_text(list(i.log)), by=i.by,
            findings=json_text([f.to_json() for f in i.findings]),
        )  # fmt: skip
        self._write("insert", row, "interrogation", i.id)

    @staticmethod
    def _interrogation(r: InterrogationRow) -> Interrogation:
        return Interrogation(
            r.patient_id, r.device_id, r.at, json.loads(r.status), tuple(json.loads(r.log)),
            r.by, r.id, findings_from_json(r.findings),
        )  # fmt: skip

    def interrogations_for(self, patient_id: str) -> Sequence[Interrogation]:
        rows = self.session.execute(
            select(InterrogationRow)
            .where(InterrogationRow.patient_id == patient_id)
            .order_by(InterrogationRow.at, InterrogationRow.id)
        ).scalars()
        return [self._interrogation(r) for r in rows]

    def get_interrogation(self, interrogation_id: str) -> Interrogation:
        row = self.session.get(InterrogationRow, interrogation_id)
        if row is None:
            raise NotFoundError("interrogation", interrogation_id)
        return self._interrogation(row)

    def latest_interrogations(self) -> Sequence[Interrogation]:
        # One query: each patient's row ranked by (at, id), newest first (SQLite and PostgreSQL).
        rank = (
            func.row_number()
            .over(partition_by=InterrogationRow.patient_id,
                  order_by=(InterrogationRow.at.desc(), InterrogationRow.id.desc()))
            .label("rank")
        )  # fmt: skip
        ranked = select(InterrogationRow.id, rank).subquery()
        rows = self.session.execute(
            select(InterrogationRow)
            .join(ranked, ranked.c.id == InterrogationRow.id)
            .where(ranked.c.rank == 1)
        ).scalars()
        return [self._interrogation(r) for r in rows]

    @staticmethod
    def _alarm(r: AlarmRow) -> Alarm:
        return Alarm(
            r.patient_id, r.code, r.level, r.message, r.raised_at, r.device_id, r.cleared_at,
            r.cleared_by, r.id, r.acknowledged_at, r.acknowledged_by, r.resolution,
        )  # fmt: skip

    def _alarm_values(self, a: Alarm) -> dict[str, Any]:
        return {
            "patient_id": a.patient_id, "device_id": a.device_id, "code": a.code,
            "level": a.level, "message": a.message, "raised_at": a.raised_at,
            "cleared_at": a.cleared_at, "cleared_by": a.cleared_by,
            "acknowledged_at": a.acknowledged_at, "acknowledged_by": a.acknowledged_by,
            "resolution": a.resolution,
        }  # fmt: skip

    def add_alarm(self, alarm: Alarm) -> None:
        self._touch(alarm.patient_id)
        self._write("insert", AlarmRow(id=alarm.id, **self._alarm_values(alarm)), "alarm", alarm.id)

    def update_alarm(self, alarm: Alarm) -> None:
        row = self.session.get(AlarmRow, alarm.id)
        if row is None:
            raise NotFoundError("alarm", alarm.id)
        for patient_id in sorted({row.patient_id, alarm.patient_id}):
            self._touch(patient_id)
        for key, value in self._alarm_values(alarm).items():
            setattr(row, key, value)
        self._write("update", row, "alarm", alarm.id)

    def open_alarms(self) -> Sequence[Alarm]:
        rows = self.session.execute(
            select(AlarmRow).where(AlarmRow.cleared_at.is_(None)).order_by(AlarmRow.raised_at)
        ).scalars()
        return [self._alarm(r) for r in rows]

    def alarms_with_codes(self, codes: Sequence[str]) -> Sequence[Alarm]:
        """Every alarm (open or cleared) whose code is in ``codes``, by raised_at."""
        rows = self.session.execute(
            select(AlarmRow).where(AlarmRow.code.in_(list(codes))).order_by(AlarmRow.raised_at)
        ).scalars()
        return [self._alarm(r) for r in rows]

    def alarms_for(self, patient_id: str) -> Sequence[Alarm]:
        rows = self.session.execute(
            select(AlarmRow)
            .where(AlarmRow.patient_id == patient_id)
            .order_by(AlarmRow.raised_at, AlarmRow.id)
        ).scalars()
        return [self._alarm(r) for r in rows]

    def add_complication(self, complication: Complication) -> None:
        c = complication
        self._touch(c.patient_id)
        row = ComplicationRow(
            id=c.id, patient_id=c.patient_id, code=c.code.value, occurred_on=c.occurred_on,
            notes=c.notes, device_id=c.device_id, by=c.by,
        )  # fmt: skip
        self._write("insert", row, "complication", c.id)

    def complications_for(self, patient_id: str) -> Sequence[Complication]:
        rows = self.session.execute(
            select(ComplicationRow)
            .where(ComplicationRow.patient_id == patient_id)
            .order_by(ComplicationRow.occurred_on, ComplicationRow.id)
        ).scalars()
        return [complication_of(r) for r in rows]
