"""Implant links: where a patient's implant answers over the telemetry link and the clinician
credential that reaches it, registered per device by a physician in the clinic database.

The credential's key is stored apart from the link record (as login credentials are: the
audit log of links never carries it) and is never shown: a link is identified by its
``key_id``, a fingerprint of the key. Every telemetry write the clinic sends (a program, a
refill) is recorded as a :class:`LinkDelivery` with its outcome: confirmed by the pump,
refused, or uncertain (the command was sent and no acknowledgement came back).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.implant_link_model import (
    ImplantLinkRecord,
    LinkAddress,
    LinkDelivery,
    LinkKey,
)
from thecal.clinic.model import Device, Role, User
from thecal.clinic.ports import Clock, UnitOfWork
from thecal.clinic.program_delivery import (
    DeliveredProgram,
    ProgramWriter,
    program_through_implant,
)
from thecal.clinic.refill_delivery import DeliveredRefill, RefillWriter, refill_through_implant
from thecal.clinic.refill_workflow import RefillInput
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile
from thecal.units import InputError

KEY_LEN = 32
"""Bytes of a clinician role key (thecal.link.crypto.KEY_LEN)."""

LINK_HOSTS = ("127.0.0.1",)
"""Hosts a link may name: the telemetry transport connects to the loopback address only
(thecal.link.transport.tcp_connect), where the virtual implants are served."""

MAX_KEY_ID = 80
"""Characters of a key id (the implant_links.key_id column)."""

_ADDRESS = re.compile(r"^([0-9A-Za-z.\-]{1,253}):([0-9]{1,5})$")


def parse_address(text: str, field_name: str = "implant_link.address") -> LinkAddress:
    """``HOST:PORT`` as a :class:`LinkAddress`: the host one of :data:`LINK_HOSTS`, the port
    1–65535 (both ends included). :class:`InputError` names ``field_name`` otherwise."""
    m = _ADDRESS.match(text.strip())
    if m is None:
        raise InputError(field_name, f"{text!r} is not HOST:PORT", "127.0.0.1:7001")
    host, port = m.group(1), int(m.group(2))
    if host not in LINK_HOSTS:
        raise InputError(field_name, f"the telemetry link reaches {', '.join(LINK_HOSTS)} only, "
                         f"not {host!r}", "127.0.0.1:PORT")  # fmt: skip
    if not 1 <= port <= 65535:
        raise InputError(field_name, f"{port} is not a TCP port", "1–65535")
    return LinkAddress(host, port)


def _device(devices: Sequence[Device], serial: str) -> Device:
    found = [d for d in devices if d.serial == serial]
    if not found:
        raise NotFoundError("device", f"in place with serial {serial}")
    return found[0]


def register_link(
    uow: UnitOfWork,
    clock: Clock,
    *,
    actor: User,
    serial: str,
    address: str,
    key: bytes,
    key_id: str,
    key_serial: str,
    reason: str,
) -> ImplantLinkRecord:
    """Register (or replace) the link of the implant in place with ``serial``: ``address``
    (``HOST:PORT``) and the clinician ``key`` read from a key file for ``key_serial``, named
    by ``key_id`` (its fingerprint, :func:`thecal.adapters.link_keys.key_fingerprint`). A
    physician's decision (:class:`PermissionDenied` otherwise); audited with ``reason``."""
    if actor.role is not Role.PHYSICIAN:
        raise PermissionDenied(actor.username, actor.role.value, "register implant links")
    if not reason.strip():
        raise InputError("implant_link.reason", "is required", "why the link is set")
    where = parse_address(address)
    if len(key) != KEY_LEN:
        raise InputError("implant_link.key", f"must be {KEY_LEN} bytes", "a clinician key file")
    if not key_id.strip() or len(key_id) > MAX_KEY_ID:
        raise InputError("implant_link.key_id", f"{key_id!r}", f"1–{MAX_KEY_ID} characters")
    if key_serial != serial:
        raise InputError("implant_link.key", f"is the key of implant {key_serial!r}, not "
                         f"{serial!r}", "the clinician key file of this implant")  # fmt: skip
    at = clock()
    with uow.transaction(actor.username, at, reason) as repo:
        device = _device(repo.devices_in_place(), serial)
        record = ImplantLinkRecord(device.id, device.patient_id, serial, where.host, where.port,
                                   key_id, actor.username, at)  # fmt: skip
        repo.set_implant_link(record, LinkKey(record.key_id, key))
    return record


def links(uow: UnitOfWork) -> tuple[tuple[ImplantLinkRecord, LinkKey], ...]:
    """Every registered link of a device still in place, with its key (for the edge that
    connects; never for display), by serial."""
    with uow.reader() as repo:
        in_place = {d.id for d in repo.devices_in_place()}
        out = []
        for link in repo.implant_links():
            key = repo.implant_link_key(link.device_id)
            if link.device_id in in_place and key is not None:
                out.append((link, key))
    return tuple(out)


def link_for_serial(uow: UnitOfWork, serial: str) -> tuple[ImplantLinkRecord, LinkKey] | None:
    """The link of the implant in place with ``serial`` (None: none registered)."""
    return next(((r, k) for r, k in links(uow) if r.serial == serial), None)


def link_list(uow: UnitOfWork) -> tuple[ImplantLinkRecord, ...]:
    """Every registered link of a device in place (no keys), by serial."""
    return tuple(r for r, _ in links(uow))


@dataclass(frozen=True)
class ImplantLinkServices:
    """The implant-link workflows on the clinic's unit of work and clock (exposed as
    ``ClinicServices.implant_links``)."""

    uow: UnitOfWork
    clock: Clock
    library: DrugLibrary
    catalog: DeviceCatalog

    def register(self, *, actor: User, serial: str, address: str, key: bytes, key_id: str,
                 key_serial: str, reason: str) -> ImplantLinkRecord:  # fmt: skip
        """:func:`register_link` (a physician's decision, audited without the key)."""
        return register_link(self.uow, self.clock, actor=actor, serial=serial, address=address,
                             key=key, key_id=key_id, key_serial=key_serial,
                             reason=reason)  # fmt: skip

    def list(self) -> tuple[ImplantLinkRecord, ...]:
        """Every registered link of a device in place (no keys), by serial."""
        return link_list(self.uow)

    def deliveries(self, *, patient_id: str) -> tuple[LinkDelivery, ...]:
        """The writes sent over the patient's links, oldest first."""
        with self.uow.reader() as repo:
            repo.get_patient(patient_id)
            return tuple(repo.link_deliveries_for(patient_id))

    def program(self, *, actor: User, patient_id: str, plan: PlanFile, reason: str,
                write: ProgramWriter, overrides: Mapping[str, str] | None = None,
                patient_version: int | None = None) -> DeliveredProgram:  # fmt: skip
        """:func:`~thecal.clinic.program_delivery.program_through_implant`."""
        return program_through_implant(self.uow, self.clock, self.library, self.catalog,
                                       actor=actor, patient_id=patient_id, plan=plan,
                                       reason=reason, write=write, overrides=overrides,
                                       patient_version=patient_version)  # fmt: skip

    def refill(self, *, actor: User, patient_id: str, entry: RefillInput, write: RefillWriter,
               patient_version: int | None = None) -> DeliveredRefill:  # fmt: skip
        """:func:`~thecal.clinic.refill_delivery.refill_through_implant`."""
        return refill_through_implant(self.uow, self.clock, self.library, self.catalog,
                                      actor=actor, patient_id=patient_id, entry=entry,
                                      write=write, patient_version=patient_version)  # fmt: skip
