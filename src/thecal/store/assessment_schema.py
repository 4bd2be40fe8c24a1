"""The ORM mapping of recorded assessments (migration 0013): the presentation given to the
decision rules and what they proposed, as JSON text, with who, when and the urgency."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from thecal.store.schema import ID, Base


class AssessmentRow(Base):
    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20))
    presentation: Mapped[str] = mapped_column(Text)  # JSON
    result: Mapped[str] = mapped_column(Text)  # JSON
    note: Mapped[str] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(80))
    __table_args__ = (
        Index("ix_assessments_patient_at", "patient_id", "at", "id"),
        Index("ix_assessments_open", "closed_at", "urgency"),
    )
