"""Serve a virtual IPG over the authenticated link (the stimulator's side of
:mod:`thecal.adapters.implant_server`): a stimulator scenario file builds the IPG
(:mod:`thecal.implant.stimulator_build`), its groups are written at start as the scenario
runner writes them, and the server's clock follows the wall clock scaled, as for a pump.
The scenario's ``[[events]]`` (faults, patient actions) are not replayed by the server.
"""

import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from thecal.adapters.implant_server import ImplantServer, ScaledClock, command_logger
from thecal.adapters.link_settings import load_link_settings
from thecal.adapters.stimulator_files import load_stimulator_catalog
from thecal.adapters.stimulator_scenario_files import find_stimulator_scenario, mri_entries
from thecal.implant.stimulator_build import build
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.link.admission import ConnectionLimits
from thecal.programmer.commands import Qty
from thecal.programmer.implant_server import ImplantCommandHandler, ServerSettings
from thecal.units import InputError


def is_stimulator_scenario(path: Path) -> bool:
    """A stimulator scenario has ``leads`` and ``groups`` (a pump scenario or plan has
    neither). An unreadable file is left to the pump reader, which names the error."""
    try:
        with path.open("rb") as handle:
            doc = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "leads" in doc and "groups" in doc


def stimulator_from_scenario(
    path: Path, serial: str, catalogs: list[Path] | None = None
) -> SimulatedStimulator:
    """The virtual IPG of the scenario at ``path``, named ``serial`` (the key file's: the
    link authenticates it), its groups written (the first runs). A group the firmware refuses
    is an error naming it: the server never starts with less than the scenario says."""
    _, sc = find_stimulator_scenario(str(path))
    sc = sc.model_copy(update={"device": sc.device.model_copy(update={"serial": serial})})
    built = build(sc, load_stimulator_catalog(catalogs or []), mri_entries())
    dev = built.device
    for i, (name, program) in enumerate(built.groups):
        result = dev.write_group(name, program)
        if not result.state_changed:
            why = result.reason or "; ".join(f.message for f in result.findings)
            raise InputError(f"groups[{i}]", f"the IPG refused group {name!r}: {why}")
    return dev


def make_stimulator_server(
    dev: SimulatedStimulator,
    implant_secret: bytes,
    max_command_age: Qty | None = None,
    time_scale: float = 1.0,
    *,
    now: Callable[[], float] = time.monotonic,
    limits: ConnectionLimits | None = None,
) -> ImplantServer:
    """A server for the IPG ``dev`` whose clock follows wall time × ``time_scale``; limits
    not given are the shipped ``link.toml`` product choices."""
    settings = load_link_settings()
    handler = ImplantCommandHandler(
        dev,
        None,
        ServerSettings(
            max_command_age if max_command_age is not None else settings.max_command_age,
            journal_size=settings.journal_size,
            page_bytes=settings.page_bytes,
        ),
        logger=command_logger,
        advance=ScaledClock(dev, time_scale, now),
    )
    return ImplantServer(handler, implant_secret, now=now, limits=limits)


__all__ = ["is_stimulator_scenario", "make_stimulator_server", "stimulator_from_scenario"]
