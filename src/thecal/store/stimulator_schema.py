"""The ORM mapping of the stimulator records (migrations 0004, 0005): leads, program versions,
impedance sets and battery readings. Quantities as text with their unit, contact values and
findings as JSON text, as in :mod:`thecal.store.schema`."""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from thecal.store.schema import ID, QTY, Base


class StimLeadRow(Base):
    __tablename__ = "stim_leads"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(120))
    implanted_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    position: Mapped[str] = mapped_column(Text)


class StimProgramRow(Base):
    __tablename__ = "stim_programs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    version: Mapped[int] = mapped_column(Integer)
    program_json: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    findings: Mapped[str] = mapped_column(Text)  # JSON list of stored findings
    overrides: Mapped[str] = mapped_column(Text)  # JSON list of [code, reason]
    __table_args__ = (
        Index("uq_stim_programs_device_version", "device_id", "version", unique=True),
    )


class ImpedanceSetRow(Base):
    __tablename__ = "impedance_sets"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(20))
    # JSON list of [contact, "<ohm> ohm" or null, open circuit (bool)]; migration 0004 wrote
    # [contact, "<ohm> ohm"] (read as not open).
    values: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(80))
    # Migration 0005: some contact of the set read as an open circuit (derived from ``values``
    # on insert, sets are never updated) so a list can find them without parsing the JSON.
    open_circuit: Mapped[bool] = mapped_column(Boolean, server_default=false())
    __table_args__ = (Index("ix_impedance_sets_device_at", "device_id", "at", "id"),)


class BatteryReadingRow(Base):
    __tablename__ = "battery_readings"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(20))
    voltage: Mapped[str | None] = mapped_column(QTY)
    percent: Mapped[str | None] = mapped_column(QTY)
    recharge: Mapped[bool] = mapped_column(Boolean)
    recharge_duration: Mapped[str | None] = mapped_column(QTY)
    by: Mapped[str] = mapped_column(String(80))
    __table_args__ = (Index("ix_battery_readings_device_at", "device_id", "at", "id"),)
