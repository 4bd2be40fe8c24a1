"""The ORM mapping (SQLAlchemy 2, typed). Rows are storage; the clinic's frozen dataclasses are
the domain — :mod:`thecal.store.repository` converts between them.

Quantities are stored as text with their unit ("20.0 mL"), findings and snapshots as JSON text:
both databases store them the same way and the audit log can hash them byte for byte.
"""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(32)
QTY = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))


class CredentialRow(Base):
    """A user's argon2 password hash (kept apart from the user record: the audit log of users
    never carries it)."""

    __tablename__ = "credentials"
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)


class PatientRow(Base):
    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    opioid_naive: Mapped[bool | None] = mapped_column(Boolean)
    spasticity_origin: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    # Optimistic versioning: every update is "... WHERE version = <the version read>".
    version: Mapped[int] = mapped_column(Integer)


class DeviceRow(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(120))
    serial: Mapped[str] = mapped_column(String(64))
    implanted_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    implanted_length: Mapped[str | None] = mapped_column(QTY)
    tip_level: Mapped[str | None] = mapped_column(String(20))
    volume: Mapped[str | None] = mapped_column(QTY)
    notes: Mapped[str] = mapped_column(Text)
    # Replacement planning reads the oldest pumps in place per model, not every device.
    __table_args__ = (
        Index("ix_devices_in_place", "kind", "removed_on", "model", "implanted_on", "id"),
    )


class ProcedureRow(Base):
    __tablename__ = "procedures"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    performed_on: Mapped[date] = mapped_column(Date)
    placed: Mapped[str] = mapped_column(Text)  # JSON list of device ids
    removed: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(80))


class PrescriptionRow(Base):
    __tablename__ = "prescriptions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    version: Mapped[int] = mapped_column(Integer)
    plan_json: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (
        Index("uq_prescriptions_patient_version", "patient_id", "version", unique=True),
    )


class RefillRow(Base):
    __tablename__ = "refills"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    prescription_version: Mapped[int] = mapped_column(Integer)
    performed_at: Mapped[datetime] = mapped_column(DateTime)
    expected_remaining: Mapped[str] = mapped_column(QTY)
    withdrawn: Mapped[str] = mapped_column(QTY)
    discrepancy: Mapped[str] = mapped_column(QTY)
    filled: Mapped[str] = mapped_column(QTY)
    confirmed_after_fill: Mapped[str | None] = mapped_column(QTY)
    drug_lot: Mapped[str] = mapped_column(String(64))
    concentrations: Mapped[str] = mapped_column(Text)  # JSON [[drug, concentration], ...]
    by: Mapped[str] = mapped_column(String(80))
    refill_by: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str] = mapped_column(Text)
    planned_refill: Mapped[datetime | None] = mapped_column(DateTime)
    candidates: Mapped[str] = mapped_column(Text)  # JSON
    findings: Mapped[str] = mapped_column(Text)  # JSON
    overrides: Mapped[str] = mapped_column(Text)  # JSON [[code, reason], ...]
    __table_args__ = (
        Index("ix_refills_patient_performed", "patient_id", "performed_at"),
        Index("ix_refills_with_findings", "patient_id", "performed_at",  # migration 0014
              sqlite_where=text("findings != '[]'"), postgresql_where=text("findings != '[]'")),
    )  # fmt: skip


class RefillScheduleRow(Base):
    """The refill calendar's index (derived, not audited: the refills and devices it comes
    from are). One row per patient with a drug pump in place: the latest refill and the date
    the next one is due (``clinic.calendar.next_due``; NULL when unknown). Kept in the same
    transaction as every refill or device write, so the calendar reads counts and one page
    by an index range instead of every patient."""

    __tablename__ = "refill_schedule"
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    refill_id: Mapped[str | None] = mapped_column(ForeignKey("refills.id"))
    due: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (Index("ix_refill_schedule_due", "due", "patient_id"),)


class ProgramChangeRow(Base):
    __tablename__ = "program_changes"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    old_version: Mapped[int | None] = mapped_column(Integer)
    new_version: Mapped[int] = mapped_column(Integer)
    by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    findings: Mapped[str] = mapped_column(Text)
    overrides: Mapped[str] = mapped_column(Text)


class InterrogationRow(Base):
    __tablename__ = "interrogations"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(Text)  # JSON
    log: Mapped[str] = mapped_column(Text)  # JSON
    by: Mapped[str] = mapped_column(String(80))
    # The reconciliation's findings (JSON list); "[]" for snapshots stored before migration 0007.
    findings: Mapped[str] = mapped_column(Text, server_default="[]")
    __table_args__ = (
        Index("ix_interrogations_with_findings", "patient_id",  # migration 0014
              sqlite_where=text("findings != '[]'"), postgresql_where=text("findings != '[]'")),
    )  # fmt: skip


class AlarmRow(Base):
    __tablename__ = "alarms"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    code: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    cleared_by: Mapped[str | None] = mapped_column(String(80))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(Text)  # why it was resolved


class ComplicationRow(Base):
    __tablename__ = "complications"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    by: Mapped[str] = mapped_column(String(80))


class AuditRow(Base):
    """Append-only, hash-chained: ``hash = sha256(prev_hash + canonical JSON of the row)``."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)  # canonical JSON of what was written
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The patient the entry is about (derived from entity/data, see store.audit.patient_of;
    # outside the hash: verify() checks it against the hashed data). Migration 0011.
    patient_id: Mapped[str | None] = mapped_column(String(64))
    # The audit viewer's filters, each walked newest first by seq (migration 0011).
    __table_args__ = (
        Index("ix_audit_log_actor_seq", "actor", "seq"),
        Index("ix_audit_log_action_seq", "action", "seq"),
        Index("ix_audit_log_entity_seq", "entity", "entity_id", "seq"),
        Index("ix_audit_log_patient_seq", "patient_id", "seq"),
        Index("ix_audit_log_at", "at"),
    )


class AuditHeadRow(Base):
    """One row: the last sequence number and hash. Writers lock it (SELECT … FOR UPDATE) so
    the chain never forks, and verify() compares it with the last log row (a deleted tail)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
