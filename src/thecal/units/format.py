"""Human display of quantities: clinic spelling ("mcg", never "µg", which is misread as "mg")."""

import pint


def fmt(q: pint.Quantity, digits: int = 4) -> str:
    """``2.5 mcg/d``, ``0.25 mL/d``: ``digits`` significant figures, short unit symbols."""
    unit = (
        f"{q.units:~P}".replace("µg", "mcg")
        .replace("day", "d")
        .replace("hr", "h")
        .replace("ml", "mL")
    )
    return f"{q.magnitude:.{digits}g} {unit}".strip()
