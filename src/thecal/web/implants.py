"""Reachable virtual implants: serial → (port on 127.0.0.1, clinician key file), and one
interrogation over the telemetry link with the clinician programmer.

The mapping is a TOML file named by ``THECAL_IMPLANTS_FILE``::

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

from thecal.devices.catalog import DeviceCatalog
from thecal.link import Initiator, Role
from thecal.link.keystore import KeyFileError, read_key_file
from thecal.link.transport import tcp_connect
from thecal.programmer.clinician import ClinicianProgrammer, InterrogationReport
from thecal.programmer.link_client import LinkClient, log_link_event
from thecal.programmer.stimulator import ImpedanceOutcome, StimInterrogation, StimulatorProgrammer
from thecal.programmer.wire_device import status_to_json
from thecal.therapy.library import DrugLibrary
from thecal.units import InputError

IMPLANTS_ENV = "THECAL_IMPLANTS_FILE"


@dataclass(frozen=True)
class ImplantLink:
    """Where a virtual implant answers: TCP ``port`` on 127.0.0.1, with the clinician
    credential ``key`` (a key file exported by ``thecal provision``)."""

    port: int
    key: Path
    ack_timeout_s: float = 5.0


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
    """The mapping named by ``THECAL_IMPLANTS_FILE``; empty when it is not set."""
    name = os.environ.get(IMPLANTS_ENV)
    return load_implants(Path(name)) if name else {}


@contextmanager
def _clinician(link: ImplantLink) -> Iterator[LinkClient]:
    """A clinician's link client connected to ``link``, closed on exit. :class:`InputError`
    when the key or the port is unusable; link errors propagate."""
    try:
        cred = read_key_file(link.key, "clinician")
    except KeyFileError as exc:
        raise InputError("implant.key", str(exc)) from None
    try:
        transport = tcp_connect(link.port, link.ack_timeout_s)
    except OSError as exc:
        raise InputError(
            "implant.port", f"cannot connect to 127.0.0.1:{link.port}: {exc}"
        ) from None
    initiator = Initiator(cred.serial, Role.CLINICIAN, cred.key, time.monotonic,
                          peer=f"127.0.0.1:{link.port}", logger=log_link_event)  # fmt: skip
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
