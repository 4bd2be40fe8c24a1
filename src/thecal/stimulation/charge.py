"""Charge per phase, charge density and the Shannon k of each contact.

Q = I x PW (x the contact's fraction of the area's current); D = Q / A; k = log10 D + log10 Q
with D in uC/cm2 per phase and Q in uC per phase (Shannon, IEEE Trans Biomed Eng
1992;39(4):424-426).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pint

from thecal.stimulation.program import CASE, Area, ContactSetting, Polarity
from thecal.units import Q_

SHANNON_SOURCE = (
    "Shannon criterion k = log10 D + log10 Q (D in uC/cm2/phase, Q in uC/phase): Shannon, "
    "IEEE Trans Biomed Eng 1992;39(4):424-426"
)


def charge_per_phase(current: pint.Quantity, pulse_width: pint.Quantity) -> pint.Quantity:
    """Q = I x PW in uC per phase (5 mA for 300 us: 1.5 uC)."""
    return (current * pulse_width).to("uC")


def charge_density(charge: pint.Quantity, area: pint.Quantity) -> pint.Quantity:
    """D = Q / A in uC/cm2 per phase."""
    return (charge / area).to("uC/cm**2")


def shannon_k(density: pint.Quantity, charge: pint.Quantity) -> float | None:
    """k = log10 D + log10 Q (D in uC/cm2, Q in uC), or None for no charge (log of 0: no
    stimulation, nothing to damage)."""
    d = float(density.to("uC/cm**2").magnitude)
    q = float(charge.to("uC").magnitude)
    if d == 0 or q == 0:
        return None
    return math.log10(d) + math.log10(q)


@dataclass(frozen=True)
class ContactCharge:
    """One contact at one amplitude: its share of the current and what it carries."""

    contact: ContactSetting
    current: pint.Quantity
    charge: pint.Quantity
    area: pint.Quantity
    density: pint.Quantity
    k: float | None


def contact_charges(
    area: Area, current: pint.Quantity, contact_areas: Mapping[str, pint.Quantity]
) -> tuple[ContactCharge, ...]:
    """Every active lead contact of ``area`` when the area's current is ``current``: the
    cathodes share it by their cathodic fractions, the anodes by their anodic fractions.
    The case is skipped: it is far larger than any contact (its area is not a lead's).
    ``contact_areas``: the contact area of each lead by its name in the program."""
    out: list[ContactCharge] = []
    for c in area.active():
        if c.lead == CASE or c.polarity is Polarity.OFF:
            continue
        a = contact_areas[c.lead]
        i = (current * c.fraction).to("mA")
        q = charge_per_phase(i, area.pulse_width)
        d = charge_density(q, a)
        out.append(ContactCharge(c, i, q, a.to("cm**2"), d, shannon_k(d, q)))
    return tuple(out)


def zero_current() -> pint.Quantity:
    return Q_(0.0, "mA")
