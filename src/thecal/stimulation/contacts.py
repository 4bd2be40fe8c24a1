"""Which contact has which area: a ring contact's area from the lead's geometry, a paddle
contact's from its catalog entry (or the program file when the vendor does not publish it).
"""

import math
from dataclasses import dataclass

import pint

from thecal.stimulation.catalog import LeadKind

RING_AREA_SOURCE = (
    "Ring contact area A = pi x d x h (= 2 pi r h): INMANLab/General charge-density notebook, "
    "https://github.com/INMANLab/General"
)


def ring_area(diameter: pint.Quantity, length: pint.Quantity) -> pint.Quantity:
    """Lateral area of a ring contact, pi x diameter x length (cm2); the end cap of a tip
    contact is not included (a smaller area: the estimate of charge density stays low, so the
    check uses the ring area only for ring contacts, as the catalog lists them)."""
    return (math.pi * diameter * length).to("cm**2")


@dataclass(frozen=True)
class LeadGeometry:
    """A lead of the program: its ``name`` there, catalog ``model``, ``kind``, number of
    contacts (None when not known), the area of each contact and where the area comes from."""

    name: str
    model: str
    kind: LeadKind
    contacts: int | None
    contact_area: pint.Quantity
    area_source: str


def lead_geometry(
    name: str,
    model: str,
    kind: LeadKind,
    contacts: int | None,
    *,
    diameter: pint.Quantity | None,
    length: pint.Quantity | None,
    area: pint.Quantity | None,
    source: str,
) -> LeadGeometry | None:
    """The geometry of a lead, or None when its contact area cannot be known: a ring
    contact needs diameter and length (or an area), a paddle contact its area."""
    if area is not None:
        return LeadGeometry(name, model, kind, contacts, area.to("cm**2"), source)
    if kind is LeadKind.PERCUTANEOUS and diameter is not None and length is not None:
        return LeadGeometry(
            name,
            model,
            kind,
            contacts,
            ring_area(diameter, length),
            f"{source}; {RING_AREA_SOURCE}",
        )
    return None
