"""Reachable implants: serial → (address on 127.0.0.1, clinician credential), and the
telemetry work the pages do over the link with the clinician programmer (interrogate, read a
stimulator, write a program).

The links are registered in the clinic database by a physician
(:mod:`thecal.clinic.implant_links`; ``thecal clinic implant link``, the API, the
``/implants`` page): :class:`DatabaseLinks` reads them on every use. ``THECAL_IMPLANTS_FILE``
is kept as a deprecated development overlay (links the database does not have, for a server
started against throw-away virtual implants)::

    [implants."E2E-1"]
    port = 7001
    key = "/path/to/clinician.key"   # relative paths are relative to the TOML file
"""

import os
import time
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pint

from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.implant_links import link_for_serial, link_list
from thecal.clinic.model import Device
from thecal.clinic.ports import UnitOfWork
from thecal.clinic.program_delivery import UNCERTAIN_MESSAGE, PumpWrite
from thecal.clinic.refill_workflow import RefillInput
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.devices.pump import Program
from thecal.link import Initiator, Role
from thecal.link.keystore import KeyFile, KeyFileError, read_key_file
from thecal.link.transport import LOOPBACK, tcp_connect
from thecal.programmer import clinician_refill
from thecal.programmer.clinician import (
    ClinicianProgrammer,
    CommandRefused,
    InterrogationReport,
    ProgrammerError,
)
from thecal.programmer.commands import Op
from thecal.programmer.link_client import AckLost, LinkClient, LinkRefused, log_link_event
from thecal.programmer.stimulator import ImpedanceOutcome, StimInterrogation, StimulatorProgrammer
from thecal.programmer.wire_device import finding_from_json, status_to_json
from thecal.therapy.compare import equal
from thecal.therapy.findings import Finding, OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.therapy.proposal import Patient
from thecal.therapy.refill_assessment import assess_refill
from thecal.units import InputError, fmt

IMPLANTS_ENV = "THECAL_IMPLANTS_FILE"


@dataclass(frozen=True)
class ImplantLink:
    """Where a virtual implant answers: TCP ``port`` on ``host`` (127.0.0.1), with the
    clinician credential ``key``: a key file exported by ``thecal provision``, or the key
    registered in the database."""

    port: int
    key: Path | KeyFile
    ack_timeout_s: float = 5.0
    host: str = LOOPBACK


def load_implants(path: Path) -> dict[str, ImplantLink]:
    """The ``[implants."SERIAL"]`` tables of ``path``. :class:`InputError` names the bad field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(IMPLANTS_ENV, f"cannot read {path}: {exc}") from None
    out: dict[str, ImplantLink] = {}
    table = data.get("implants", {})
    if not isinstance(table, dict):
        raise InputError("implants", "must be a table", '[implants."SERIAL"]')
    for serial, entry in table.items():
        field = f"implants.{serial}"
        if not isinstance(entry, dict):
            raise InputError(field, "must be a table", "port = 7001, key = 'clinician.key'")
        port, key = entry.get("port"), entry.get("key")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise InputError(f"{field}.port", f"{port!r} is not a TCP port", "1–65535")
        if not isinstance(key, str) or not key:
            raise InputError(f"{field}.key", "is required", "the clinician key file")
        timeout = entry.get("ack_timeout_s", 5.0)
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise InputError(f"{field}.ack_timeout_s", f"{timeout!r}", "seconds > 0")
        out[str(serial)] = ImplantLink(port, path.parent / key, float(timeout))
    return out


def implants_from_env() -> dict[str, ImplantLink]:
    """The mapping named by ``THECAL_IMPLANTS_FILE`` (deprecated overlay); empty when unset."""
    name = os.environ.get(IMPLANTS_ENV)
    return load_implants(Path(name)) if name else {}


class DatabaseLinks(Mapping[str, ImplantLink]):
    """The links registered in the clinic database, read on every use (a link a physician
    registers is usable at once), over ``overlay`` (the deprecated links file)."""

    def __init__(self, uow: UnitOfWork, overlay: Mapping[str, ImplantLink] | None = None,
                 ack_timeout_s: float = 5.0) -> None:  # fmt: skip
        self._uow = uow
        self._overlay = dict(overlay or {})
        self._ack = ack_timeout_s

    def __getitem__(self, serial: str) -> ImplantLink:
        found = link_for_serial(self._uow, serial)
        if found is None:
            return self._overlay[serial]
        record, key = found
        return ImplantLink(record.port, KeyFile("clinician", serial, key.key), self._ack,
                           record.host)  # fmt: skip

    def __iter__(self) -> Iterator[str]:
        serials = [r.serial for r in link_list(self._uow)]
        return iter(dict.fromkeys([*serials, *self._overlay]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@contextmanager
def _clinician(link: ImplantLink) -> Iterator[LinkClient]:
    """A clinician's link client connected to ``link``, closed on exit. :class:`InputError`
    when the key or the port is unusable; link errors propagate."""
    try:
        cred = link.key if isinstance(link.key, KeyFile) else read_key_file(link.key, "clinician")
    except KeyFileError as exc:
        raise InputError("implant.key", str(exc)) from None
    try:
        transport = tcp_connect(link.port, link.ack_timeout_s, link.host)
    except (OSError, ValueError) as exc:
        raise InputError(
            "implant.port", f"cannot connect to {link.host}:{link.port}: {exc}"
        ) from None
    initiator = Initiator(cred.serial, Role.CLINICIAN, cred.key, time.monotonic,
                          peer=f"{link.host}:{link.port}", logger=log_link_event)  # fmt: skip
    client = LinkClient(transport, initiator, time.monotonic, ack_timeout_s=link.ack_timeout_s)
    try:
        client.connect(link.ack_timeout_s)
        yield client
    finally:
        client.close()


def interrogate(
    link: ImplantLink, library: DrugLibrary, catalog: DeviceCatalog
) -> InterrogationReport:
    """Connect as the clinician programmer, interrogate (status, journal, every log event)
    and disconnect. :class:`InputError` when the key or the port is unusable; link and
    programmer errors propagate."""
    with _clinician(link) as client:
        return ClinicianProgrammer(client, library, catalog.pump).interrogate()


def _other_implant(c: ClinicianProgrammer, device: Device) -> PumpWrite | None:
    """A refusal when the implant that answered is not ``device`` (nothing is sent to it)."""
    if c.status.serial == device.serial:
        return None
    return PumpWrite(DeliveryOutcome.REFUSED, f"implant {c.status.serial} answered, "
                     f"not {device.serial}: nothing was sent")  # fmt: skip


def _failed(exc: Exception, client: LinkClient | None, op: Op, uncertain: str, not_sent: str,
            refused: str = "refused by the pump") -> PumpWrite:  # fmt: skip
    """A write that raised: uncertain once ``op`` was sent (the pump may have acted on it),
    else refused with the pump's findings (``refused``) or nothing sent (``not_sent``)."""
    if client is not None and any(cmd.op is op for cmd in client.sent):
        return PumpWrite(DeliveryOutcome.UNCERTAIN, f"{uncertain} ({exc})")
    findings = _reply_findings(exc) if isinstance(exc, CommandRefused) else ()
    what = refused if isinstance(exc, CommandRefused) else not_sent
    return PumpWrite(DeliveryOutcome.REFUSED, f"{what}: {exc}", findings)


def write_program(
    link: ImplantLink, library: DrugLibrary, catalog: DeviceCatalog, device: Device,
    plan: PlanFile, reasons: Mapping[str, str], opioid_naive: bool | None = None,
) -> PumpWrite:  # fmt: skip
    """Write ``plan``'s program to ``device`` over ``link``: interrogate, run the programmer's
    safety gate on the implant's state, stage -> read back -> compare -> commit -> verify.
    Confirmed only when the pump's active program is the one sent; uncertain when the commit
    was sent and no verified answer came back; refused otherwise (nothing committed)."""
    resolved = resolve(plan.to_typed(), library, catalog)
    client: LinkClient | None = None
    try:
        with _clinician(link) as client:
            c = ClinicianProgrammer(client, library, catalog.pump, Patient(opioid_naive))
            if (other := _other_implant(c, device)) is not None:
                return other
            current = c.status.program
            threshold = resolved.alarm_threshold or (
                current.low_reservoir_threshold if current else c.spec.low_reservoir_alarm
            )
            if threshold is None:
                raise InputError("pump.low_reservoir_alarm", "is required", "e.g. '2 mL'")
            pending = Program(resolved.schedule, resolved.admixture, threshold,
                              resolved.program.patient_bolus)  # fmt: skip
            change = c.prepare_program(pending)
            if change.blocked:
                hard = "; ".join(f.message for f in change.findings if f.level.value == "hard")
                return PumpWrite(DeliveryOutcome.REFUSED, f"not sent: {hard}", change.findings)
            result = c.write_program(change, reasons, confirmed=True)
    except (AckLost, LinkRefused, OSError, ProgrammerError, OverrideError, InputError) as exc:
        return _failed(exc, client, Op.PROGRAM_COMMIT, UNCERTAIN_MESSAGE, "not programmed")
    if not result.committed:
        return PumpWrite(DeliveryOutcome.REFUSED, f"the pump said: {result.reply.message}",
                         result.device_findings)  # fmt: skip
    if not result.verified:
        return PumpWrite(
            DeliveryOutcome.UNCERTAIN, f"{UNCERTAIN_MESSAGE} (committed, not verified on read-back)"
        )
    return PumpWrite(DeliveryOutcome.CONFIRMED, "written, read back, committed and verified")


def write_refill(
    link: ImplantLink, library: DrugLibrary, catalog: DeviceCatalog, device: Device,
    entry: RefillInput, opioid_naive: bool | None = None,
) -> PumpWrite:  # fmt: skip
    """Send the refill (``entry``'s withdrawn and filled volumes, its reasons) to ``device``
    over ``link``; the programmer runs its own refill assessment first. Confirmed only when the
    re-interrogated log's last refill is the volume sent; uncertain when the refill was sent
    and that could not be read back; refused otherwise (nothing changed on the pump)."""
    client: LinkClient | None = None
    try:
        with _clinician(link) as client:
            c = ClinicianProgrammer(client, library, catalog.pump, Patient(opioid_naive))
            if (other := _other_implant(c, device)) is not None:
                return other
            c.refill(entry.withdrawn, entry.filled, dict(entry.overrides))
            fills = [e for e in c.events if e.kind is EventKind.REFILL]
            estimate = c.status.reservoir_estimate
    except (AckLost, LinkRefused, OSError, ProgrammerError, OverrideError, InputError) as exc:
        return _failed(exc, client, Op.REFILL, "The pump may or may not have taken the refill: "
                       "interrogate before anything else.", "not sent")  # fmt: skip
    if not fills or not equal(fills[-1].quantity("volume"), entry.filled):
        return PumpWrite(DeliveryOutcome.UNCERTAIN, "The refill was sent but the pump's log "
                         "does not show it: interrogate before anything else.")  # fmt: skip
    return PumpWrite(
        DeliveryOutcome.CONFIRMED,
        f"refill of {fmt(entry.filled)} sent and read "
        f"back in the pump's log; its reservoir estimate is now {fmt(estimate)}",
    )


def write_bridge(
    link: ImplantLink, library: DrugLibrary, catalog: DeviceCatalog, device: Device,
    volume: pint.Quantity, duration: pint.Quantity, reasons: Mapping[str, str],
    opioid_naive: bool | None = None,
) -> PumpWrite:  # fmt: skip
    """Send the bridge bolus (``volume`` mL over ``duration`` h, the programmer's bridge bolus
    op, checked by its bolus gate) to ``device`` over ``link``. Confirmed only when the pump
    started it; uncertain when it was sent and no answer came back; refused otherwise."""
    client: LinkClient | None = None
    try:
        with _clinician(link) as client:
            c = ClinicianProgrammer(client, library, catalog.pump, Patient(opioid_naive))
            if (other := _other_implant(c, device)) is not None:
                return other
            given = c.bolus(volume, duration, dict(reasons), kind="bridge")
    except (AckLost, LinkRefused, OSError, ProgrammerError, OverrideError, InputError) as exc:
        return _failed(exc, client, Op.BRIDGE_BOLUS, "The pump may or may not have started the "
                       "bridge bolus: interrogate before anything else.",
                       "bridge bolus not given", refused="bridge bolus not given")  # fmt: skip
    if not given.delivered:
        return PumpWrite(DeliveryOutcome.REFUSED, "bridge bolus refused by the pump: "
                         f"{given.reply.message}", given.findings)  # fmt: skip
    started = f"bridge bolus of {fmt(volume)} over {fmt(duration)} started by the pump"
    return PumpWrite(DeliveryOutcome.CONFIRMED, started)


def pump_refill_findings(
    link: ImplantLink,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    device: Device,
    entry: RefillInput,
    opioid_naive: bool | None = None,
) -> tuple[Finding, ...]:
    """The findings the programmer's own refill assessment will raise for ``entry`` on the
    pump's state (its program, clock, residual estimate and log), read over ``link`` without
    sending anything: the review shows them, so their reasons are asked for before the
    confirm. :class:`InputError` when the pump cannot be read."""
    try:
        with _clinician(link) as client:
            c = ClinicianProgrammer(client, library, catalog.pump, Patient(opioid_naive))
            c.interrogate()
            if c.status.serial != device.serial or c.status.program is None:
                return ()
            proposal = clinician_refill._refill_proposal(c, entry.withdrawn, entry.filled,
                                                         None, None)  # fmt: skip
            return tuple(assess_refill(proposal, library).findings)
    except (AckLost, LinkRefused, OSError, ProgrammerError) as exc:
        raise InputError("implant", f"the pump could not be read: {exc}") from None


def _reply_findings(exc: CommandRefused) -> tuple[Finding, ...]:
    """The pump's own findings in a refusal (its hard limits), if it sent any."""
    result = exc.reply.data.get("result")
    found = result.get("findings", []) if isinstance(result, dict) else []
    return tuple(finding_from_json(f) for f in found if isinstance(f, dict))


def read_stimulator(link: ImplantLink) -> tuple[ImpedanceOutcome, StimInterrogation]:
    """Connect as the clinician's stimulator programmer, run an impedance test, then
    interrogate (the status shows the battery after the test) and disconnect. A refused test
    is an :class:`InputError`; link and programmer errors propagate."""
    with _clinician(link) as client:
        programmer = StimulatorProgrammer(client)
        test = programmer.impedance_test()
        if test.report is None:
            raise InputError("stimulator.impedance_test", f"refused by the IPG: {test.result}")
        return test, programmer.interrogate()


def snapshot(report: InterrogationReport) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """The report as JSON to store: the status and the log events (seq, kind, device time,
    message, values as (name, magnitude, unit))."""
    log = tuple(
        {
            "seq": e.seq,
            "kind": e.kind.value,
            "at": e.at.isoformat(),
            "message": e.message,
            "values": [list(v) for v in e.values],
            "alarm": e.alarm.name if e.alarm is not None else None,
        }
        for e in report.events
    )
    return status_to_json(report.status), log


def reachable(implants: Mapping[str, ImplantLink], serial: str) -> ImplantLink | None:
    return implants.get(serial) if serial else None
