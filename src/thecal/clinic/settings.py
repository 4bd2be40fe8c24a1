"""Clinic settings built from parsed data (reading the file is an adapter's job)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pint

from thecal.clinic.reconciliation import ReconciliationSettings, build_reconciliation_settings
from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class ClinicSettings:
    """``replacement_lead`` (time): how long before a pump's earliest end of battery life its
    elective replacement is planned; ``session_idle_timeout`` and ``session_max_age`` (time):
    when a web/API session ends; ``due_soon_window`` (time): the refill calendar's look-ahead
    (due soon up to and including today + window). Each with the source of that number."""

    replacement_lead: pint.Quantity
    replacement_lead_source: str
    # A signed-in session ends after this long without a request (idle) and this long after
    # the login whatever the activity (absolute); both times, with their sources.
    session_idle_timeout: pint.Quantity
    session_idle_timeout_source: str
    session_max_age: pint.Quantity
    session_max_age_source: str
    due_soon_window: pint.Quantity
    due_soon_window_source: str
    # The interrogation's clock-drift thresholds; None: the table is absent (drift not checked).
    reconciliation: ReconciliationSettings | None = None


def _duration(origin: str, data: Mapping[str, Any], name: str,
              example: str) -> tuple[pint.Quantity, str]:  # fmt: skip
    """A positive duration ``name`` and its ``<name>_source``."""
    raw = data.get(name)
    if not isinstance(raw, str):
        raise InputError(f"{origin}: {name}", "is required", f"a duration such as '{example}'")
    value = parse_quantity(raw, f"{origin}: {name}", Dimension.TIME)
    if value.magnitude <= 0:
        raise InputError(f"{origin}: {name}", "must be positive", "a duration > 0")
    source = data.get(f"{name}_source")
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"{origin}: {name}_source", "every value needs a source")
    return value, source


def build_clinic_settings(origin: str, data: Mapping[str, Any]) -> ClinicSettings:
    """Parse the clinic settings; each value needs ``<name>_source``. Raises
    :class:`InputError` naming ``<origin>: <field>``."""
    lead, lead_source = _duration(origin, data, "replacement_lead", "6 mo")
    idle, idle_source = _duration(origin, data, "session_idle_timeout", "30 min")
    max_age, max_age_source = _duration(origin, data, "session_max_age", "12 h")
    if idle > max_age:
        raise InputError(f"{origin}: session_idle_timeout", f"{idle:~P} is longer than "
                         f"session_max_age {max_age:~P}", "at most session_max_age")  # fmt: skip
    soon, soon_source = _duration(origin, data, "due_soon_window", "7 d")
    table = data.get("reconciliation")
    if table is not None and not isinstance(table, Mapping):
        raise InputError(f"{origin}: reconciliation", "must be a table", "[reconciliation]")
    recon = None if table is None else build_reconciliation_settings(origin, table)
    return ClinicSettings(
        lead, lead_source, idle, idle_source, max_age, max_age_source, soon, soon_source, recon
    )
