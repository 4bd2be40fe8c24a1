"""Turn every error a user can cause into one line and exit code 2 (never a traceback)."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from thecal.cli import output as o
from thecal.devices.catalog import CatalogError
from thecal.therapy.library import LibraryError
from thecal.units import InputError

P = ParamSpec("P")
R = TypeVar("R")

# Core functions name their own parameters; in a plan file the user knows them by these names.
_PLAN_FIELDS = {
    "refill.alarm_threshold": "pump.low_reservoir_alarm",
}


def as_input_error(exc: Exception) -> InputError:
    """One :class:`InputError` for any user-caused error (library errors: the first, with a
    count and a pointer to ``thecal library check``)."""
    if isinstance(exc, InputError):
        field = _PLAN_FIELDS.get(exc.field, exc.field)
        return InputError(field, exc.message, exc.expected)
    if isinstance(exc, LibraryError | CatalogError):
        first = exc.errors[0]
        more = len(exc.errors) - 1
        note = f" (and {more} more; run 'thecal library check FILE')" if more else ""
        return InputError(first.field, first.message + note, first.expected)
    return InputError("input", str(exc))


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command; an :class:`InputError`, :class:`LibraryError` or :class:`CatalogError`
    becomes a one-line ``error: <field>: <message>`` on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        # The command's own --json, or the global one (on the root context's State).
        as_json = bool(kwargs.get("json_out"))
        for value in (*args, *kwargs.values()):
            # Typer hands commands its vendored click context: recognise it by its interface.
            root = value.find_root() if hasattr(value, "find_root") else None
            if root is not None and isinstance(root.obj, o.State):
                as_json = as_json or root.obj.json
        try:
            return func(*args, **kwargs)
        except (InputError, LibraryError, CatalogError) as exc:
            raise o.fail(as_input_error(exc), as_json) from None

    return wrapper
