"""``thecal implant provision`` (key files) and ``thecal implant serve`` (a virtual implant on
127.0.0.1 over the authenticated link). Register with::

    implant_app.command("provision")(serve.provision_cmd)
    implant_app.command("serve")(serve.serve_cmd)
"""

import logging
import math
from dataclasses import replace
from pathlib import Path

import typer

from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import (
    DeviceInputs,
    ImplantServer,
    implant_from_plan,
    load_source,
    make_server,
)
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.link import Role
from thecal.link.keystore import (
    KeyFileError,
    export_role_credential,
    provision_implant,
    read_key_file,
)
from thecal.link.transport import TcpListener
from thecal.programmer.commands import Qty
from thecal.units import Dimension, InputError, parse_quantity


@handles_errors
def provision_cmd(
    serial: str = typer.Option(..., "--serial", help="implant serial number"),
    out: Path = typer.Option(..., "--out", help="implant secret key file to create (0600)"),
    clinician_key: Path | None = typer.Option(None, "--clinician-key", help="also export it"),
    patient_key: Path | None = typer.Option(None, "--patient-key", help="also export it"),
    remote_key: Path | None = typer.Option(
        None, "--remote-key", help="also export the stimulator's patient remote key"
    ),
    force: bool = typer.Option(False, "--force", help="overwrite existing key files"),
) -> None:
    """Create an implant secret (manufacture) and optionally its role credentials."""
    try:
        secret = provision_implant(out, serial, overwrite=force)
        for role, path in (
            (Role.CLINICIAN, clinician_key),
            (Role.PATIENT, patient_key),
            (Role.REMOTE, remote_key),
        ):
            if path is not None:
                export_role_credential(secret, role, path, overwrite=force)
    except KeyFileError as exc:
        raise InputError("--out", str(exc)) from None
    o.console().print(f"provisioned {serial}: {out}")


@handles_errors
def serve_cmd(
    ctx: typer.Context,
    source: Path = typer.Argument(
        ..., help="pump scenario, plan or stimulator scenario file (TOML)", show_default=False
    ),
    port: int = typer.Option(..., "--port", help="TCP port on 127.0.0.1 (0 = any free port)"),
    key: Path = typer.Option(..., "--key", help="implant secret key file (implant provision)"),
    time_scale: float = typer.Option(1.0, "--time-scale", help="implant seconds per wall second"),
    max_age: str | None = typer.Option(
        None, "--max-age", help="refuse commands older than this [default: link.toml, 60 s]"
    ),
    critical_alarm_repeat: str | None = typer.Option(
        None, "--critical-alarm-repeat", help="required for plan files (not public)"
    ),
    stroke_volume: str | None = typer.Option(None, "--stroke-volume", help="SynchroMed: required"),
    max_connections: int | None = typer.Option(None, "--max-connections", hidden=True),
) -> None:
    """Run a virtual implant as a telemetry server (simulated clock = wall time × scale)."""
    # typer reads "nan" and "inf" as floats.
    if not (math.isfinite(time_scale) and time_scale > 0):
        raise InputError("--time-scale", f"{time_scale!r} must be finite and above 0", "e.g. 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    library = load_library(o.state(ctx).library)
    catalog = load_catalog()
    try:
        secret = read_key_file(key, "implant")
    except KeyFileError as exc:
        raise InputError("--key", str(exc)) from None
    age = None if max_age is None else parse_quantity(max_age, "--max-age", Dimension.TIME)
    if age is not None and not age.magnitude > 0:
        raise InputError("--max-age", "must be greater than zero", "e.g. '60 s'")
    from thecal.adapters.stimulator_server import is_stimulator_scenario

    if is_stimulator_scenario(source):
        _serve_stimulator(source, secret.serial, secret.key, age, time_scale, port, max_connections)
        return
    plan, inputs = load_source(source)
    if inputs is None:
        if critical_alarm_repeat is None:
            raise InputError("--critical-alarm-repeat", "is required for a plan file", "'10 min'")
        inputs = DeviceInputs(
            secret.serial,
            parse_quantity(critical_alarm_repeat, "--critical-alarm-repeat", Dimension.TIME),
            parse_quantity(stroke_volume, "--stroke-volume", Dimension.VOLUME)
            if stroke_volume
            else None,
        )
    else:
        # The key file's serial is the one the link authenticates: it names the implant.
        inputs = replace(inputs, serial=secret.serial)
    pump = implant_from_plan(plan, library, catalog, inputs)
    _serve(
        make_server(pump, library, secret.key, age, time_scale),
        secret.serial,
        port,
        max_connections,
    )


def _serve_stimulator(
    source: Path,
    serial: str,
    key: bytes,
    age: Qty | None,
    time_scale: float,
    port: int,
    max_connections: int | None,
) -> None:
    """A stimulator scenario: the virtual IPG (its groups written) behind the same link."""
    from thecal.adapters.stimulator_server import make_stimulator_server, stimulator_from_scenario

    dev = stimulator_from_scenario(source, serial)
    _serve(make_stimulator_server(dev, key, age, time_scale), serial, port, max_connections)


def _serve(server: ImplantServer, serial: str, port: int, max_connections: int | None) -> None:
    with TcpListener(port) as listener:
        o.console().print(f"implant {serial} listening on 127.0.0.1:{listener.port}")
        try:
            server.serve_tcp(listener, max_connections)
        except KeyboardInterrupt:
            server.stop.set()
