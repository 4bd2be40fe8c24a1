"""The ORM mapping of the registration records (migration 0006): a patient's registration
details (date of birth, sex, contact, coded diagnoses as JSON text) and a device's UDI and
pocket side."""

from datetime import date

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from thecal.store.schema import ID, Base


class PatientDetailsRow(Base):
    __tablename__ = "patient_details"
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(20))
    contact: Mapped[str] = mapped_column(Text)
    diagnoses: Mapped[str] = mapped_column(Text)  # JSON list of [code, detail]


class DeviceDetailsRow(Base):
    __tablename__ = "device_details"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ID, ForeignKey("patients.id"), index=True)
    udi: Mapped[str] = mapped_column(Text)
    pocket_side: Mapped[str | None] = mapped_column(String(20))
