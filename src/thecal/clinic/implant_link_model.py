"""The records of implant links (see :mod:`thecal.clinic.implant_links`): the link of a device,
its clinician key (never printed) and every write delivered over it, and what the clinic needs
from storage for them (part of :class:`thecal.clinic.ports.ClinicRepository`)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from thecal.clinic.model import new_id


@dataclass(frozen=True)
class LinkAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class LinkKey:
    """A clinician role key; ``key`` is never printed (not in repr)."""

    key_id: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class ImplantLinkRecord:
    """Device ``device_id`` (serial ``serial``) answers at ``host:port`` with the clinician
    key ``key_id``; set by ``by`` at ``at``."""

    device_id: str
    patient_id: str
    serial: str
    host: str
    port: int
    key_id: str
    by: str
    at: datetime

    @property
    def address(self) -> LinkAddress:
        return LinkAddress(self.host, self.port)


class DeliveryOutcome(StrEnum):
    CONFIRMED = "confirmed"  # committed, read back and verified by the pump
    REFUSED = "refused"  # nothing changed on the pump
    UNCERTAIN = "uncertain"  # sent, no acknowledgement: the pump may or may not run it
    # An uncertain delivery settled by the next interrogation (clinic.delivery_settling):
    SETTLED_CONFIRMED = "settled-confirmed"  # the pump shows it took effect
    SETTLED_NOT_APPLIED = "settled-not-applied"  # the pump shows it did not


# What a write over the link itself can end in (the settled outcomes come later).
WRITE_OUTCOMES = (DeliveryOutcome.CONFIRMED, DeliveryOutcome.REFUSED, DeliveryOutcome.UNCERTAIN)


@dataclass(frozen=True)
class LinkDelivery:
    """One write sent over the link (``what``: "program" or "refill") and its outcome; with
    ``prescription_version`` the version recorded for it (confirmed and settled-confirmed
    programs only)."""

    patient_id: str
    device_id: str
    at: datetime
    by: str
    what: str
    outcome: DeliveryOutcome
    detail: str
    payload: tuple[tuple[str, str], ...]  # what was sent, as (name, text) pairs
    prescription_version: int | None = None
    id: str = field(default_factory=new_id)


class ImplantLinkRecords(Protocol):
    # Insert or replace the link of ``link.device_id`` and its key (audited without the key).
    def set_implant_link(self, link: ImplantLinkRecord, key: LinkKey) -> None: ...
    def implant_link(self, device_id: str) -> ImplantLinkRecord | None: ...
    # Every link, by serial.
    def implant_links(self) -> Sequence[ImplantLinkRecord]: ...
    def implant_link_key(self, device_id: str) -> LinkKey | None: ...
    def add_link_delivery(self, delivery: LinkDelivery) -> None: ...
    # A patient's deliveries by (at, id).
    def link_deliveries_for(self, patient_id: str) -> Sequence[LinkDelivery]: ...
