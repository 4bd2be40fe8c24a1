"""The clinic repository on SQLAlchemy: converts the clinic's dataclasses to rows and back, and
audits every write in the same transaction.

One class, :class:`SqlRepository`, combined from a mixin per record kind: people (users,
patients), devices and procedures, prescriptions and program changes, refills and the refill
calendar, device events (interrogations, alarms, complications) and stimulator records
(leads, program versions, impedances, battery readings) and implant links."""

from thecal.store.assessment_records import AssessmentRecords
from thecal.store.audit import AuditQueries
from thecal.store.delivery_settling_records import DeliverySettlingRecords
from thecal.store.device_records import DeviceRecords
from thecal.store.event_records import EventRecords
from thecal.store.implant_link_records import ImplantLinkRecords
from thecal.store.login_schema import LoginFailureRow
from thecal.store.patient_record_records import PatientRecordRecords
from thecal.store.people_records import PeopleRecords
from thecal.store.prescription_records import PrescriptionRecords
from thecal.store.refill_records import RefillRecords
from thecal.store.registration_records import RegistrationRecords
from thecal.store.session_schema import RevokedSessionRow
from thecal.store.stimulator_records import StimulatorRecords
from thecal.store.worklist_records import WorklistRecords

# RevokedSessionRow, LoginFailureRow: imported so their tables are on the metadata wherever
# the store is.
__all__ = ["LoginFailureRow", "RevokedSessionRow", "SqlRepository"]


class SqlRepository(
    PeopleRecords, DeviceRecords, PrescriptionRecords, RefillRecords, EventRecords,
    StimulatorRecords, RegistrationRecords, ImplantLinkRecords, AuditQueries,
    DeliverySettlingRecords, WorklistRecords, AssessmentRecords, PatientRecordRecords,
):  # fmt: skip
    """:class:`thecal.clinic.ports.ClinicRepository` on a SQLAlchemy session. ``who`` is
    (actor, at, reason) for the audit log; None makes the repository read-only."""
