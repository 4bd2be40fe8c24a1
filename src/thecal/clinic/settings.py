"""Clinic settings built from parsed data (reading the file is an adapter's job)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pint

from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class ClinicSettings:
    """``replacement_lead`` (time): how long before a pump's earliest end of battery life its
    elective replacement is planned, with the source of that number."""

    replacement_lead: pint.Quantity
    replacement_lead_source: str


def build_clinic_settings(origin: str, data: Mapping[str, Any]) -> ClinicSettings:
    """Parse the clinic settings; each value needs ``<name>_source``. Raises
    :class:`InputError` naming ``<origin>: <field>``."""
    raw = data.get("replacement_lead")
    if not isinstance(raw, str):
        raise InputError(f"{origin}: replacement_lead", "is required", "a duration such as '6 mo'")
    lead = parse_quantity(raw, f"{origin}: replacement_lead", Dimension.TIME)
    if lead.magnitude <= 0:
        raise InputError(f"{origin}: replacement_lead", "must be positive", "a duration > 0")
    source = data.get("replacement_lead_source")
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"{origin}: replacement_lead_source", "every value needs a source")
    return ClinicSettings(lead, source)
