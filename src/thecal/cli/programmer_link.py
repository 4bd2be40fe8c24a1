"""What every ``thecal programmer``/``thecal ptm`` command shares: the connection options, the
authenticated link to an implant served on 127.0.0.1, the clinician programmer built on it,
``--reason CODE=TEXT`` parsing and the "refused" exit (code 3)."""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from thecal.adapters.data_files import load_catalog, load_library
from thecal.cli import output as o
from thecal.link import Initiator, Role
from thecal.link.keystore import KeyFileError, KeyKind, read_key_file
from thecal.link.transport import tcp_connect
from thecal.programmer.clinician import ClinicianProgrammer
from thecal.programmer.link_client import LinkClient, log_link_event
from thecal.therapy.proposal import Patient
from thecal.units import InputError

PORT = typer.Option(..., "--port", help="implant server port on 127.0.0.1")
KEY = typer.Option(..., "--key", help="role credential file (clinician, patient or remote)")
ACK = typer.Option(5.0, "--ack-timeout", help="seconds to wait for an acknowledgement")
EXIT_REFUSED = 3
_KIND: dict[Role, KeyKind] = {
    Role.CLINICIAN: "clinician",
    Role.PATIENT: "patient",
    Role.REMOTE: "remote",
}


@contextmanager
def link_client(port: int, key: Path, role: Role, ack_timeout: float) -> Iterator[LinkClient]:
    # typer reads "nan" and "inf" as floats.
    if not (math.isfinite(ack_timeout) and ack_timeout > 0):
        raise InputError("--ack-timeout", f"{ack_timeout!r} must be finite and above 0", "seconds")
    try:
        cred = read_key_file(key, _KIND[role])
    except KeyFileError as exc:
        raise InputError("--key", str(exc)) from None
    try:
        transport = tcp_connect(port, ack_timeout)
    except OSError as exc:
        raise InputError("--port", f"cannot connect to 127.0.0.1:{port}: {exc}") from None
    client = LinkClient(
        transport,
        Initiator(
            cred.serial,
            role,
            cred.key,
            time.monotonic,
            peer=f"127.0.0.1:{port}",
            logger=log_link_event,
        ),
        time.monotonic,
        ack_timeout_s=ack_timeout,
    )
    try:
        client.connect(ack_timeout)
        yield client
    finally:
        client.close()


def parse_reasons(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        code, sep, text = item.partition("=")
        if not sep or not text.strip():
            raise InputError("--reason", f"{item!r} is not CODE=TEXT", "e.g. DOSE-DAILY-MAX=why")
        out[code.strip()] = text.strip()
    return out


def refused(message: str) -> typer.Exit:
    o.err_console().print(f"refused: {message}")
    return typer.Exit(EXIT_REFUSED)


def clinician_for(
    ctx: typer.Context, client: LinkClient, opioid_naive: bool | None
) -> ClinicianProgrammer:
    library = load_library(o.state(ctx).library)
    return ClinicianProgrammer(client, library, load_catalog().pump, Patient(opioid_naive))


NAIVE = typer.Option(None, "--opioid-naive/--opioid-tolerant", help="patient opioid status")
REASON = typer.Option([], "--reason", help="CODE=TEXT for a soft finding; repeatable")
