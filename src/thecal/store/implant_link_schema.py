"""The ORM mapping of implant links (migration 0009): each device's telemetry address and
clinician key id, the key itself in a table of its own (as login credentials are: the audit
log of links never carries it), and every write delivered over a link with its outcome."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from thecal.store.schema import ID, Base


class ImplantLinkRow(Base):
    __tablename__ = "implant_links"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    serial: Mapped[str] = mapped_column(String(80), index=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(80))
    by: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime)


class ImplantLinkKeyRow(Base):
    """The clinician role key of a link, hex (never audited, never shown)."""

    __tablename__ = "implant_link_keys"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    key_hex: Mapped[str] = mapped_column(Text)


class LinkDeliveryRow(Base):
    __tablename__ = "link_deliveries"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(80))
    what: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    prescription_version: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_link_deliveries_patient_at", "patient_id", "at", "id"),
        # The worklist's unsettled (uncertain) deliveries (migration 0011).
        Index("ix_link_deliveries_outcome", "outcome", "at"),
    )
