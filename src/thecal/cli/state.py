"""The global options every command reads; kept apart from ``output`` so the top-level command
can set them without importing Rich tables, pint or the therapy package."""

from dataclasses import dataclass, field
from pathlib import Path

import typer


@dataclass
class State:
    """Global options (set by the top-level callback, read by every command)."""

    library: list[Path] = field(default_factory=list)
    json: bool = False


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()
