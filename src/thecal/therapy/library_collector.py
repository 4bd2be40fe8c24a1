"""Checking one drug-library layer's raw values: every error is collected with its location
(``<layer>: <path>``) rather than raised, so a layer reports all its problems in one pass."""

from collections.abc import Mapping
from typing import Any

import pint

from thecal.units import Dimension, InputError, parse_quantity


class Collector:
    """Collects every error of one library layer, each with its location (``origin: path``)."""

    def __init__(self, origin: str, errors: list[InputError]) -> None:
        self.origin = origin
        self.errors = errors

    def error(self, path: str, message: str, expected: str | None = None) -> None:
        self.errors.append(InputError(f"{self.origin}: {path}", message, expected))

    def unknown_keys(self, path: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(raw) - allowed):
            self.error(f"{path}.{key}", "unknown key", "one of: " + ", ".join(sorted(allowed)))

    def text(self, path: str, value: Any, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.error(path, "is required", "text")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(path, "must be non-empty text", "text")
            return None
        return value

    def quantity(self, path: str, value: Any, dim: Dimension) -> pint.Quantity | None:
        try:
            return parse_quantity(value, "", dim)
        except InputError as exc:
            self.error(path, exc.message, exc.expected)
            return None
