"""The implant side's link limits as data (``thecal/data/link.toml``).

Every number there is a product choice with its reason beside it (``<name>_source``); this
module checks each one (finite, positive, the right unit, a whole number where a count is meant,
a source present) and builds the objects the link and the command layer take. Errors name the
field as ``<origin>: <table>.<name>``. (The link layer imports only the standard library and
cryptography, so the parsing of these quantities lives here, at the edge.)"""

from dataclasses import dataclass
from typing import Any

import pint

from thecal.adapters.data_files import packaged
from thecal.link.admission import ConnectionLimits
from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class BackoffSettings:
    """After ``n`` consecutive failed authentications a peer address waits
    ``min(base_s * 2**(n-1), max_s)`` seconds; ``max_peers`` addresses are tracked."""

    base_s: float
    max_s: float
    max_peers: int


@dataclass(frozen=True)
class LinkSettings:
    """``connection``: timeouts and caps per connection; ``backoff``: failed-authentication
    back-off; ``max_command_age`` (time): the staleness bound; ``journal_size``: stored replies
    kept; ``page_bytes``: the longest reply sent whole. ``sources`` maps ``table.name`` to its
    source text."""

    connection: ConnectionLimits
    backoff: BackoffSettings
    max_command_age: pint.Quantity[Any]
    journal_size: int
    page_bytes: int
    sources: dict[str, str]


def _table(origin: str, data: dict[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name)
    if not isinstance(table, dict):
        raise InputError(f"{origin}: {name}", "is required", f"a [{name}] table")
    return table


def _source(origin: str, table: dict[str, Any], where: str, name: str) -> str:
    source = table.get(f"{name}_source")
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"{origin}: {where}.{name}_source", "every value needs a source")
    return source


def _time(origin: str, table: dict[str, Any], where: str, name: str) -> pint.Quantity[Any]:
    raw = table.get(name)
    field = f"{origin}: {where}.{name}"
    if not isinstance(raw, str):
        raise InputError(field, "is required", "a time such as '10 s'")
    value = parse_quantity(raw, field, Dimension.TIME)
    if not value.magnitude > 0:  # parse_quantity already refused NaN and infinity
        raise InputError(field, "must be greater than zero", "e.g. '10 s'")
    return value


def _count(origin: str, table: dict[str, Any], where: str, name: str) -> int:
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{origin}: {where}.{name}", f"{value!r} is not a whole number ≥ 1")
    return value


def build_link_settings(origin: str, data: dict[str, Any]) -> LinkSettings:
    """The link limits from a parsed ``link.toml``; :class:`InputError` names the field."""
    sources: dict[str, str] = {}

    def time(table: dict[str, Any], where: str, name: str) -> pint.Quantity[Any]:
        sources[f"{where}.{name}"] = _source(origin, table, where, name)
        return _time(origin, table, where, name)

    def seconds(table: dict[str, Any], where: str, name: str) -> float:
        return float(time(table, where, name).to("s").magnitude)

    def count(table: dict[str, Any], where: str, name: str) -> int:
        sources[f"{where}.{name}"] = _source(origin, table, where, name)
        return _count(origin, table, where, name)

    conn = _table(origin, data, "connection")
    connection = ConnectionLimits(
        handshake_s=seconds(conn, "connection", "handshake"),
        idle_s=seconds(conn, "connection", "idle"),
        frame_s=seconds(conn, "connection", "frame"),
        max_per_peer=count(conn, "connection", "max_per_peer"),
        max_total=count(conn, "connection", "max_total"),
    )
    back = _table(origin, data, "auth_backoff")
    backoff = BackoffSettings(
        base_s=seconds(back, "auth_backoff", "base"),
        max_s=seconds(back, "auth_backoff", "max"),
        max_peers=count(back, "auth_backoff", "max_peers"),
    )
    if backoff.max_s < backoff.base_s:
        raise InputError(f"{origin}: auth_backoff.max", "must be at least auth_backoff.base")
    cmd = _table(origin, data, "commands")
    return LinkSettings(
        connection=connection,
        backoff=backoff,
        max_command_age=time(cmd, "commands", "max_command_age"),
        journal_size=count(cmd, "commands", "journal_size"),
        page_bytes=count(cmd, "commands", "page_bytes"),
        sources=sources,
    )


def load_link_settings() -> LinkSettings:
    """The implant side's link limits shipped in ``thecal/data/link.toml`` (product choices)."""
    return build_link_settings("thecal/data/link.toml", packaged("link.toml"))


__all__ = ["BackoffSettings", "LinkSettings", "build_link_settings", "load_link_settings"]
