"""The API's response bodies. Quantities are ``{"value", "unit"}`` with UCUM units; times are
ISO 8601 local clinic time."""

from typing import Any, Literal

from pydantic import BaseModel


class QuantityOut(BaseModel):
    value: float
    unit: str


class FindingOut(BaseModel):
    """A stored finding; ``override_by`` (soft findings only): who may give its reason."""

    level: str
    code: str
    message: str
    source: str
    drug: str | None
    limit: str | None
    value: str | None
    override_by: str | None = None


class LoginOut(BaseModel):
    username: str
    role: str
    csrf: str


class LogoutOut(BaseModel):
    logged_out: str


class PatientSummary(BaseModel):
    id: str
    mrn: str
    name: str
    version: int


class DeviceOut(BaseModel):
    id: str
    kind: str
    model: str
    serial: str
    implanted_on: str
    removed_on: str | None


class PrescriptionOut(BaseModel):
    version: int
    plan: dict[str, Any]


class RefillOut(BaseModel):
    id: str
    performed_at: str
    by: str
    expected_remaining: QuantityOut
    withdrawn: QuantityOut
    discrepancy: QuantityOut
    filled: QuantityOut
    drug_lot: str
    refill_by: str | None
    decided_by: str
    findings: list[FindingOut]
    overrides: dict[str, str]


class PatientOut(PatientSummary):
    devices: list[DeviceOut]
    prescription: PrescriptionOut | None
    refills: list[RefillOut]


class InterrogationOut(BaseModel):
    """A stored interrogation's summary: who, when, pump, reservoir, alarms."""

    id: str
    at: str
    by: str
    device_id: str
    serial: str | None
    model: str | None
    device_time: str | None
    delivering: bool | None
    holds: list[Any]
    reservoir_estimate: QuantityOut | None
    alarms: list[str]
    events: int
    findings: list[FindingOut] = []  # the reconciliation with the record, hard first


class InterrogationDetail(InterrogationOut):
    """The summary plus the status snapshot and event log as the programmer stored them."""

    status: dict[str, Any]
    log: list[Any]


class CalendarEntryOut(BaseModel):
    patient_id: str
    mrn: str
    name: str
    status: str
    due: str | None
    days_left: int | None
    reason: str
    source: str


class CalendarOut(BaseModel):
    today: str
    soon: QuantityOut
    counts: dict[str, int]
    statuses: list[str]
    total: int
    limit: int
    offset: int
    entries: list[CalendarEntryOut]


class ProgramOut(BaseModel):
    """``version``: the prescription version in force after the call (None: none yet);
    ``delivery``: what the implant's link did (not-programmed: no registered link, the record
    changed and the pump did not)."""

    version: int | None
    findings: list[FindingOut]
    delivery: Literal["confirmed", "refused", "uncertain", "not-programmed"]
    delivery_detail: str | None = None
