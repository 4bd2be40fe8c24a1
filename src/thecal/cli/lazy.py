"""Sub-commands imported on first use, so ``thecal --help`` starts at once.

Each command module pulls in its whole stack (pint and the unit registry, the store and
SQLAlchemy, matplotlib, the link's cryptography). A group built with :func:`lazy_group` knows
only each sub-command's name, where it lives and its one-line help; the module is imported when
the sub-command runs or its own help is asked for. The parent's help listing uses the stored
line; ``tests/cli/test_startup_imports.py`` checks it equals the loaded command's listing.
"""

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A sub-command: ``target`` is ``"module:attribute"`` naming a command function or a
    ``typer.Typer`` sub-app, or the sub-app itself; ``help`` is its line in the parent's list."""

    target: "str | typer.Typer"
    help: str


def load(name: str, entry: Lazy) -> Any:
    """The command function or sub-app ``entry`` names (imports its module)."""
    target = entry.target
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
    return target


def to_click(name: str, entry: Lazy) -> Any:
    """The click command Typer would have built had the target been registered eagerly."""
    target = load(name, entry)
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        return group.commands[name]
    holder.command(name)(target)
    return typer.main.get_command(holder)


class LazyCommands(MutableMapping[str, Any]):
    """A group's ``commands``: every name is listed (and offered as a "did you mean"), a
    command is built when it is first looked up."""

    def __init__(self, loaded: MutableMapping[str, Any], entries: Mapping[str, Lazy]) -> None:
        self.loaded = dict(loaded)
        self.entries = entries

    def is_loaded(self, name: str) -> bool:
        return name in self.loaded

    def __getitem__(self, name: str) -> Any:
        if name not in self.loaded and name in self.entries:
            self.loaded[name] = to_click(name, self.entries[name])
        return self.loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.loaded
        yield from (n for n in self.entries if n not in self.loaded)

    def __len__(self) -> int:
        return len(self.loaded.keys() | self.entries.keys())


def lazy_group(entries: Mapping[str, Lazy]) -> type[TyperGroup]:
    """A Typer group class whose sub-commands are ``entries``, listed in that order."""

    class LazyGroup(TyperGroup):
        listing = False  # True while the help text is rendered: use the stored lines

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.commands = LazyCommands(self.commands, entries)

        def list_commands(self, ctx: Any) -> list[str]:
            return list(self.commands)  # the names only: nothing is imported

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            commands = self.commands
            assert isinstance(commands, LazyCommands)
            if self.listing and cmd_name in entries and not commands.is_loaded(cmd_name):
                return TyperCommand(name=cmd_name, help=entries[cmd_name].help)
            return commands.get(cmd_name)

        def format_help(self, ctx: Any, formatter: Any) -> None:
            self.listing = True
            try:
                super().format_help(ctx, formatter)
            finally:
                self.listing = False

    return LazyGroup
