"""The clinic repository on SQLAlchemy: converts the clinic's dataclasses to rows and back, and
audits every write in the same transaction."""

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pint
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from thecal.clinic.calendar import next_due
from thecal.clinic.errors import ConcurrentEditError, NotFoundError
from thecal.clinic.model import (
    Alarm,
    Complication,
    ComplicationCode,
    Device,
    DeviceKind,
    Interrogation,
    Patient,
    PrescriptionVersion,
    Procedure,
    ProcedureKind,
    ProgramChange,
    RefillCandidateRecord,
    RefillRecord,
    Role,
    StoredFinding,
    User,
)
from thecal.clinic.ports import DueWindow
from thecal.store import audit
from thecal.store.patient_version import PatientVersions
from thecal.store.schema import (
    AlarmRow,
    Base,
    ComplicationRow,
    CredentialRow,
    DeviceRow,
    InterrogationRow,
    PatientRow,
    PrescriptionRow,
    ProcedureRow,
    ProgramChangeRow,
    RefillRow,
    RefillScheduleRow,
    UserRow,
)
from thecal.units import Q_, Dimension, parse_quantity

# Patient's fields in its constructor's order, read as plain columns.
_PATIENT_COLUMNS = (
    PatientRow.mrn, PatientRow.display_name, PatientRow.birth_year, PatientRow.opioid_naive,
    PatientRow.spasticity_origin, PatientRow.notes, PatientRow.id, PatientRow.version,
)  # fmt: skip
_DRUG_PUMPS = (DeviceKind.PUMP.value, DeviceKind.TRIAL_PUMP.value)
_UNIT = {Dimension.VOLUME: "mL", Dimension.LENGTH: "cm"}
# Parsed once: pint re-parses a unit string on every Q_(text) (~60 µs), and reading 100,000
# refills parses five quantities each. What _q_out wrote ("<float repr> <unit>") is read back
# directly; anything else goes through parse_quantity.
_PARSED = {dim: Q_(1.0, unit).units for dim, unit in _UNIT.items()}


def _q_out(q: pint.Quantity | None, dim: Dimension = Dimension.VOLUME) -> str | None:
    # Full precision in one unit per dimension, never a display rounding.
    return None if q is None else f"{float(q.to(_UNIT[dim]).magnitude)!r} {_UNIT[dim]}"


def _q_in(text: str | None, field: str, dim: Dimension = Dimension.VOLUME) -> pint.Quantity | None:
    return None if text is None else _q_req(text, field, dim)


def _q_req(text: str, field: str, dim: Dimension = Dimension.VOLUME) -> pint.Quantity:
    number, _, unit = text.partition(" ")
    if unit == _UNIT[dim]:
        try:
            return Q_(float(number), _PARSED[dim])
        except ValueError:
            pass
    return parse_quantity(text, field, dim).to(_UNIT[dim])


def _candidates_json(r: RefillRecord) -> str:
    return _json([
        {"at": c.at.isoformat(), "kind": c.kind, "reason": c.reason, "source": c.source}
        for c in r.candidates
    ])  # fmt: skip


def _json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


def _columns(row: Base) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        out[column.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def _findings(text: str) -> tuple[StoredFinding, ...]:
    return tuple(StoredFinding.from_json(f) for f in json.loads(text))


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(a), str(b)) for a, b in json.loads(text))


class SqlRepository:
    """:class:`thecal.clinic.ports.ClinicRepository` on a SQLAlchemy session. ``who`` is
    (actor, at, reason) for the audit log; None makes the repository read-only."""

    def __init__(self, session: Session, who: tuple[str, datetime, str] | None) -> None:
        self.session = session
        self._who = who
        self._versions = PatientVersions()  # every write moves the patient's version on

    def _touch(self, patient_id: str) -> None:
        """A write to ``patient_id``'s records: bump the patient's version (compare-and-swap
        against the version this transaction read, see :mod:`thecal.store.patient_version`)."""
        if self._who is None:
            raise PermissionError("writes need a transaction (uow.transaction)")
        self._versions.bump(self.session, patient_id)

    def _write(self, action: str, row: Base, entity: str, entity_id: str) -> None:
        if self._who is None:
            raise PermissionError("writes need a transaction (uow.transaction)")
        if action == "insert":
            self.session.add(row)
        self.session.flush()
        actor, at, reason = self._who
        audit.append(self.session, actor, at, action, entity, entity_id, reason, _columns(row))

    # --- users ---------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        row = UserRow(
            id=user.id, username=user.username, display_name=user.display_name,
            role=user.role.value,
        )  # fmt: skip
        self._write("insert", row, "user", user.id)

    def user_by_name(self, username: str) -> User | None:
        row = self.session.execute(
            select(UserRow).where(UserRow.username == username)
        ).scalar_one_or_none()
        if row is None:
            return None
        return User(row.username, row.display_name, Role(row.role), row.id)

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Store ``username``'s password hash (argon2, computed by the caller). Audited without
        the hash itself."""
        user = self.user_by_name(username)
        if user is None:
            raise NotFoundError("user", username)
        row = self.session.get(CredentialRow, user.id)
        if row is None:
            row = CredentialRow(user_id=user.id, password_hash=password_hash)
            self.session.add(row)
        else:
            row.password_hash = password_hash
        if self._who is None:
            raise PermissionError("writes need a transaction (uow.transaction)")
        self.session.flush()
        actor, at, reason = self._who
        audit.append(
            self.session, actor, at, "update", "credential", user.id, reason, {"password": "set"}
        )

    def password_hash(self, username: str) -> str | None:
        """The stored password hash of ``username`` (None: no such user or no password)."""
        row = self.session.execute(
            select(CredentialRow.password_hash)
            .join(UserRow, UserRow.id == CredentialRow.user_id)
            .where(UserRow.username == username)
        ).scalar_one_or_none()
        return row

    # --- patients ------------------------------------------------------------------------

    @staticmethod
    def _patient(row: PatientRow) -> Patient:
        return Patient(
            row.mrn, row.display_name, row.birth_year, row.opioid_naive, row.spasticity_origin,
            row.notes, row.id, row.version,
        )  # fmt: skip

    def add_patient(self, patient: Patient) -> None:
        row = PatientRow(
            id=patient.id, mrn=patient.mrn, display_name=patient.display_name,
            birth_year=patient.birth_year, opioid_naive=patient.opioid_naive,
            spasticity_origin=patient.spasticity_origin, notes=patient.notes, version=1,
        )  # fmt: skip
        self._write("insert", row, "patient", patient.id)

    def get_patient(self, patient_id: str) -> Patient:
        row = self.session.get(PatientRow, patient_id, populate_existing=True)
        if row is None:
            raise NotFoundError("patient", patient_id)
        if self._who is not None:
            self._versions.saw(patient_id, row.version)
        return self._patient(row)

    def update_patient(self, patient: Patient) -> Patient:
        """Write ``patient`` if the stored version is still ``patient.version``; the stored
        version becomes +1. Otherwise :class:`ConcurrentEditError` (nothing written)."""
        result = self.session.execute(
            update(PatientRow)
            .where(PatientRow.id == patient.id, PatientRow.version == patient.version)
            .values(
                mrn=patient.mrn, display_name=patient.display_name,
                birth_year=patient.birth_year, opioid_naive=patient.opioid_naive,
                spasticity_origin=patient.spasticity_origin, notes=patient.notes,
                version=patient.version + 1,
            )
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if result.rowcount != 1:  # type: ignore[attr-defined]
            if self.session.get(PatientRow, patient.id) is None:
                raise NotFoundError("patient", patient.id)
            raise ConcurrentEditError("patient", patient.id, patient.version)
        row = self.session.get(PatientRow, patient.id, populate_existing=True)
        assert row is not None
        self._versions.bumped.add(patient.id)  # this write is the transaction's bump
        self._write("update", row, "patient", patient.id)
        return replace(patient, version=patient.version + 1)

    def list_patients(self) -> Sequence[Patient]:
        # Plain column tuples, not ORM objects: several times faster for a whole clinic.
        rows = self.session.execute(select(*_PATIENT_COLUMNS).order_by(PatientRow.mrn))
        return [Patient(*r) for r in rows]

    # --- devices and procedures ----------------------------------------------------------

    @staticmethod
    def _device(r: DeviceRow) -> Device:
        return Device(
            r.patient_id, DeviceKind(r.kind), r.model, r.implanted_on, r.serial, r.removed_on,
            _q_in(r.implanted_length, "device.implanted_length", Dimension.LENGTH), r.tip_level,
            _q_in(r.volume, "device.volume"), r.notes, r.id,
        )  # fmt: skip

    @staticmethod
    def _device_values(d: Device) -> dict[str, Any]:
        return {
            "patient_id": d.patient_id, "kind": d.kind.value, "model": d.model,
            "serial": d.serial, "implanted_on": d.implanted_on, "removed_on": d.removed_on,
            "implanted_length": _q_out(d.implanted_length, Dimension.LENGTH),
            "tip_level": d.tip_level, "volume": _q_out(d.volume), "notes": d.notes,
        }  # fmt: skip

    def add_device(self, device: Device) -> None:
        self._touch(device.patient_id)
        row = DeviceRow(id=device.id, **self._device_values(device))
        self._write("insert", row, "device", device.id)
        self._sync_schedule(device.patient_id)

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
            self._sync_schedule(patient_id)

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
            placed=_json(list(p.placed)), removed=_json(list(p.removed)), notes=p.notes, by=p.by,
        )  # fmt: skip
        self._write("insert", row, "procedure", p.id)

    def procedures_for(self, patient_id: str) -> Sequence[Procedure]:
        rows = self.session.execute(
            select(ProcedureRow)
            .where(ProcedureRow.patient_id == patient_id)
            .order_by(ProcedureRow.performed_on)
        ).scalars()
        return [
            Procedure(
                r.patient_id,
                ProcedureKind(r.kind),
                r.performed_on,
                tuple(json.loads(r.placed)),
                tuple(json.loads(r.removed)),
                r.notes,
                r.by,
                r.id,
            )
            for r in rows
        ]

    # --- prescriptions, refills, program changes -------------------------------------------

    def add_prescription(self, prescription: PrescriptionVersion) -> None:
        p = prescription
        self._touch(p.patient_id)
        row = PrescriptionRow(
            id=p.id, patient_id=p.patient_id, version=p.version, plan_json=p.plan_json,
            author=p.author, reason=p.reason, created_at=p.created_at,
        )  # fmt: skip
        self._write("insert", row, "prescription", p.id)

    def prescriptions_for(self, patient_id: str) -> Sequence[PrescriptionVersion]:
        rows = self.session.execute(
            select(PrescriptionRow)
            .where(PrescriptionRow.patient_id == patient_id)
            .order_by(PrescriptionRow.version)
        ).scalars()
        return [
            PrescriptionVersion(
                r.patient_id, r.version, r.plan_json, r.author, r.reason, r.created_at, r.id
            )
            for r in rows
        ]

    def add_refill(self, refill: RefillRecord) -> None:
        r = refill
        self._touch(r.patient_id)
        row = RefillRow(
            id=r.id, patient_id=r.patient_id, device_id=r.device_id,
            prescription_version=r.prescription_version, performed_at=r.performed_at,
            expected_remaining=_q_out(r.expected_remaining), withdrawn=_q_out(r.withdrawn),
            discrepancy=_q_out(r.discrepancy), filled=_q_out(r.filled),
            confirmed_after_fill=_q_out(r.confirmed_after_fill), drug_lot=r.drug_lot,
            concentrations=_json([list(c) for c in r.concentrations]), by=r.by,
            refill_by=r.refill_by, decided_by=r.decided_by, planned_refill=r.planned_refill,
            candidates=_candidates_json(r),
            findings=_json([f.to_json() for f in r.findings]),
            overrides=_json([list(o) for o in r.overrides]),
        )  # fmt: skip
        self._write("insert", row, "refill", r.id)
        self._sync_schedule(r.patient_id)

    def revise_refill_forecast(self, refill: RefillRecord) -> None:
        row = self.session.get(RefillRow, refill.id)
        if row is None:
            raise NotFoundError("refill", refill.id)
        self._touch(row.patient_id)
        row.refill_by, row.decided_by = refill.refill_by, refill.decided_by
        row.candidates = _candidates_json(refill)
        self._write("update", row, "refill", refill.id)
        self._sync_schedule(row.patient_id)

    @staticmethod
    def _refill(r: RefillRow) -> RefillRecord:
        return RefillRecord(
            patient_id=r.patient_id,
            device_id=r.device_id,
            prescription_version=r.prescription_version,
            performed_at=r.performed_at,
            expected_remaining=_q_req(r.expected_remaining, "refill.expected_remaining"),
            withdrawn=_q_req(r.withdrawn, "refill.withdrawn"),
            discrepancy=_q_req(r.discrepancy, "refill.discrepancy"),
            filled=_q_req(r.filled, "refill.filled"),
            drug_lot=r.drug_lot,
            concentrations=_pairs(r.concentrations),
            by=r.by,
            refill_by=r.refill_by,
            decided_by=r.decided_by,
            confirmed_after_fill=_q_in(r.confirmed_after_fill, "refill.confirmed_after_fill"),
            planned_refill=r.planned_refill,
            candidates=tuple(
                RefillCandidateRecord(
                    datetime.fromisoformat(c["at"]), c["kind"], c["reason"], c["source"]
                )
                for c in json.loads(r.candidates)
            ),
            findings=_findings(r.findings),
            overrides=_pairs(r.overrides),
            id=r.id,
        )

    def refills_for(self, patient_id: str) -> Sequence[RefillRecord]:
        rows = self.session.execute(
            select(RefillRow)
            .where(RefillRow.patient_id == patient_id)
            .order_by(RefillRow.performed_at)
        ).scalars()
        return [self._refill(r) for r in rows]

    def latest_refills(self) -> Sequence[RefillRecord]:
        last = (
            select(RefillRow.patient_id, func.max(RefillRow.performed_at).label("at"))
            .group_by(RefillRow.patient_id)
            .subquery()
        )
        rows = self.session.execute(
            select(RefillRow).join(
                last,
                (RefillRow.patient_id == last.c.patient_id) & (RefillRow.performed_at == last.c.at),
            )
        ).scalars()
        return [self._refill(r) for r in rows]

    # --- the refill calendar's index ----------------------------------------------------

    def _sync_schedule(self, patient_id: str) -> None:
        """Recompute one patient's calendar row after a refill or device write (same
        transaction): present while a drug pump is in place, due = next_due(latest refill)."""
        pump = self.session.scalar(
            select(DeviceRow.id).where(
                DeviceRow.patient_id == patient_id, DeviceRow.removed_on.is_(None),
                DeviceRow.kind.in_(_DRUG_PUMPS),
            ).limit(1)
        )  # fmt: skip
        row = self.session.get(RefillScheduleRow, patient_id)
        if pump is None:
            if row is not None:
                self.session.delete(row)
            return
        last = self.session.execute(
            select(RefillRow.id, RefillRow.refill_by, RefillRow.planned_refill)
            .where(RefillRow.patient_id == patient_id)
            .order_by(RefillRow.performed_at.desc(), RefillRow.id.desc())
            .limit(1)
        ).first()
        refill_id, due = (last.id, next_due(last.refill_by, last.planned_refill)) if last else (
            None, None)  # fmt: skip
        if row is None:
            self.session.add(RefillScheduleRow(patient_id=patient_id, refill_id=refill_id, due=due))
        else:
            row.refill_id, row.due = refill_id, due
        self.session.flush()

    @staticmethod
    def _due_where(window: DueWindow) -> list[ColumnElement[bool]]:
        due = RefillScheduleRow.due
        if window.undated:
            return [due.is_(None)]
        where: list[ColumnElement[bool]] = [due.is_not(None)]
        if window.start is not None:
            where.append(due >= window.start)
        if window.end is not None:
            where.append(due < window.end)
        return where

    def count_refills_due(self, window: DueWindow) -> int:
        count = self.session.scalar(
            select(func.count()).select_from(RefillScheduleRow).where(*self._due_where(window))
        )
        return int(count or 0)

    def refills_due(
        self, window: DueWindow, limit: int | None, offset: int
    ) -> Sequence[tuple[Patient, RefillRecord | None]]:
        t, s = PatientRow, RefillScheduleRow
        # The page's keys first (a covering index scan, cheap to skip), then the joins for
        # those rows only: OFFSET over the joined rows would build every skipped row.
        keys = (
            select(s.patient_id, s.refill_id, s.due)
            .where(*self._due_where(window))
            .order_by(s.due, s.patient_id)
            .offset(offset)
        )
        if limit is not None:
            keys = keys.limit(limit)
        page = keys.subquery()
        query = (
            select(*_PATIENT_COLUMNS, RefillRow)
            .select_from(page)
            .join(t, t.id == page.c.patient_id)
            .outerjoin(RefillRow, RefillRow.id == page.c.refill_id)
            .order_by(page.c.due, page.c.patient_id)
        )  # fmt: skip
        return [
            (Patient(*r[:-1]), None if r[-1] is None else self._refill(r[-1]))
            for r in self.session.execute(query)
        ]

    def add_program_change(self, change: ProgramChange) -> None:
        c = change
        self._touch(c.patient_id)
        row = ProgramChangeRow(
            id=c.id, patient_id=c.patient_id, at=c.at, old_version=c.old_version,
            new_version=c.new_version, by=c.by, reason=c.reason,
            findings=_json([f.to_json() for f in c.findings]),
            overrides=_json([list(o) for o in c.overrides]),
        )  # fmt: skip
        self._write("insert", row, "program_change", c.id)

    def program_changes_for(self, patient_id: str) -> Sequence[ProgramChange]:
        rows = self.session.execute(
            select(ProgramChangeRow)
            .where(ProgramChangeRow.patient_id == patient_id)
            .order_by(ProgramChangeRow.at)
        ).scalars()
        return [
            ProgramChange(
                r.patient_id,
                r.at,
                r.old_version,
                r.new_version,
                r.by,
                r.reason,
                _findings(r.findings),
                _pairs(r.overrides),
                r.id,
            )
            for r in rows
        ]

    # --- interrogations, alarms, complications ---------------------------------------------

    def add_interrogation(self, interrogation: Interrogation) -> None:
        i = interrogation
        self._touch(i.patient_id)
        row = InterrogationRow(
            id=i.id, patient_id=i.patient_id, device_id=i.device_id, at=i.at,
            status=_json(i.status), log=_json(list(i.log)), by=i.by,
        )  # fmt: skip
        self._write("insert", row, "interrogation", i.id)

    @staticmethod
    def _interrogation(r: InterrogationRow) -> Interrogation:
        return Interrogation(
            r.patient_id, r.device_id, r.at, json.loads(r.status), tuple(json.loads(r.log)),
            r.by, r.id,
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

    @staticmethod
    def _alarm(r: AlarmRow) -> Alarm:
        return Alarm(
            r.patient_id, r.code, r.level, r.message, r.raised_at, r.device_id, r.cleared_at,
            r.cleared_by, r.id,
        )  # fmt: skip

    def _alarm_values(self, a: Alarm) -> dict[str, Any]:
        return {
            "patient_id": a.patient_id, "device_id": a.device_id, "code": a.code,
            "level": a.level, "message": a.message, "raised_at": a.raised_at,
            "cleared_at": a.cleared_at, "cleared_by": a.cleared_by,
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
            select(AlarmRow).where(AlarmRow.patient_id == patient_id).order_by(AlarmRow.raised_at)
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
            .order_by(ComplicationRow.occurred_on)
        ).scalars()
        return [
            Complication(
                r.patient_id,
                ComplicationCode(r.code),
                r.occurred_on,
                r.notes,
                r.device_id,
                r.by,
                r.id,
            )
            for r in rows
        ]
