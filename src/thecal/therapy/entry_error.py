"""The entry-error guard: program changes whose size looks like a typing or unit slip.

Decimal and unit slips (a dose ten times too high, a per-hour value entered as per-day, mg for
mcg) are the documented cause of intrathecal overdoses. Beside the drug library's entry-error
ceilings (hard limits no intended program reaches), this guard compares the new program with the
one it replaces:

- **daily dose and rate**: a new value at least ``10 / (1 + t)`` times the old one, or at most
  ``(1 + t) / 10`` of it, is hard (``t`` is the library's ``slip_tolerance``: the band for an
  intended titration step on top of the slip). The finding names the slip factor it is nearest
  to: x10 (decimal point), x24 (per hour for per day), x100, x1000 (mg for mcg), or their
  inverses. Edge: a ratio exactly at the bound is flagged. A decrease after an interruption is
  the restart rule's business, and a stop (new dose 0) or start (old dose 0) is not a ratio.
- **concentration**: a new concentration within the band of x10, x100 or x1000 of the old one,
  or of its inverse, is hard unless it is a strength the library lists for the drug
  (``marketed_concentrations``; an institution lists the strengths its pharmacy compounds).
- **no limits**: a drug with no daily-dose limit at all raises a soft finding, so that an empty
  library never reads as "no findings".
"""

import math
from collections.abc import Mapping

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.compare import equal
from thecal.therapy.drugs import Bound, Drug
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import Settings
from thecal.units import fmt

# (factor, what the slip looks like). x24 is a time-base slip: it applies to doses and rates.
_DOSE_SLIPS: tuple[tuple[float, str], ...] = (
    (10.0, "a decimal point in the wrong place"),
    (24.0, "a per-hour value entered where per-day was meant"),
    (100.0, "two decimal places out"),
    (1000.0, "mg and mcg swapped"),
)
_CONCENTRATION_SLIPS: tuple[tuple[float, str], ...] = (
    (10.0, "a decimal point in the wrong place"),
    (100.0, "two decimal places out"),
    (1000.0, "mg/mL and mcg/mL swapped"),
)


def _nearest(ratio: float, slips: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    """The slip factor closest to ``ratio`` (or its inverse) on a log scale."""
    r = ratio if ratio >= 1 else 1 / ratio
    return min(slips, key=lambda s: abs(math.log(r) - math.log(s[0])))


def _describe(ratio: float, factor: float, meaning: str) -> str:
    if ratio >= 1:
        return f"x{ratio:.3g}, like x{factor:g} ({meaning})"
    return f"1/{1 / ratio:.3g} of it, like 1/{factor:g} ({meaning}, the other way)"


def dose_slip(new: pint.Quantity, old: pint.Quantity, tolerance: float) -> str | None:
    """What slip the change ``old`` -> ``new`` looks like (doses or rates, same dimension), or
    None. Contiguous bands: any jump of at least 10 / (1 + tolerance) is flagged."""
    o = float(old.to(new.units).magnitude)
    n = float(new.magnitude)
    if not (o > 0 and n > 0):
        return None if (o >= 0 and n >= 0) else "a negative value"
    ratio = n / o
    if not math.isfinite(ratio):
        return "a value that is not a number"
    bound = 10.0 / (1.0 + tolerance)
    if ratio >= bound * (1 - 1e-12) or ratio <= (1 / bound) * (1 + 1e-12):
        factor, meaning = _nearest(ratio, _DOSE_SLIPS)
        return _describe(ratio, factor, meaning)
    return None


def concentration_slip(new: pint.Quantity, old: pint.Quantity, tolerance: float) -> str | None:
    """What slip the concentration change ``old`` -> ``new`` looks like, or None: the ratio is
    within [F / (1 + tolerance), F (1 + tolerance)] of a slip factor F or of 1 / F."""
    o = float(old.to(new.units).magnitude)
    n = float(new.magnitude)
    if not (o > 0 and n > 0):
        return None
    ratio = n / o
    r = ratio if ratio >= 1 else 1 / ratio
    for factor, meaning in _CONCENTRATION_SLIPS:
        if factor / (1 + tolerance) * (1 - 1e-12) <= r <= factor * (1 + tolerance) * (1 + 1e-12):
            return _describe(ratio, factor, meaning)
    return None


def slip_findings(
    new_admixture: Admixture,
    new_daily: Mapping[str, pint.Quantity],
    old_admixture: Admixture | None,
    old_daily: Mapping[str, pint.Quantity] | None,
    new_volume: pint.Quantity,
    old_volume: pint.Quantity | None,
    settings: Settings,
    interrupted: bool,
) -> list[Finding]:
    """Hard findings for changes that look like slips (see the module docstring).

    ``new_daily``/``old_daily``: nominal daily dose per drug (mass/d); ``new_volume``/
    ``old_volume``: nominal daily volume (mL/d); ``interrupted``: delivery stopped before this
    program (a large decrease is then the restart rule's, not a slip)."""
    tol = settings.slip_tolerance
    if tol is None or old_admixture is None or old_daily is None:
        return []
    out: list[Finding] = []
    for ing in new_admixture.ingredients:
        name = ing.drug.name
        if name in old_daily and name in new_daily:
            slip = dose_slip(new_daily[name], old_daily[name], tol)
            if slip and not (interrupted and new_daily[name] < old_daily[name]):
                out.append(
                    _finding(
                        Code.DOSE_LOOKS_LIKE_SLIP,
                        f"{name} daily dose {fmt(old_daily[name])} → {fmt(new_daily[name])} is "
                        f"{slip}. Check the number, its unit and its time base (per day or per "
                        "hour) before programming.",
                        settings.slip_source,
                        name,
                        new_daily[name],
                    )
                )
        old_ing = next((i for i in old_admixture.ingredients if i.drug.name == name), None)
        if old_ing is None or _listed(ing.drug, ing.concentration):
            continue
        slip = concentration_slip(ing.concentration, old_ing.concentration, tol)
        if slip:
            out.append(
                _finding(
                    Code.CONCENTRATION_LOOKS_LIKE_SLIP,
                    f"{name} concentration {fmt(old_ing.concentration)} → "
                    f"{fmt(ing.concentration)} is {slip}. Check the pharmacy label; a strength "
                    "the pharmacy really makes belongs in the drug library.",
                    settings.slip_source,
                    name,
                    ing.concentration,
                )
            )
    if old_volume is not None:
        slip = dose_slip(new_volume, old_volume, tol)
        if slip and not (interrupted and new_volume < old_volume):
            out.append(
                _finding(
                    Code.RATE_LOOKS_LIKE_SLIP,
                    f"The pump rate {fmt(old_volume)} → {fmt(new_volume)} is {slip}. Check the "
                    "number and its time base (mL/d or mL/h).",
                    settings.slip_source,
                    None,
                    new_volume,
                )
            )
    return out


def _listed(drug: Drug, concentration: pint.Quantity) -> bool:
    return any(equal(concentration, c) for c in drug.marketed_concentrations)


def _finding(
    code: Code, message: str, source: str, drug: str | None, new: pint.Quantity
) -> Finding:
    # The previous value is in the message; ``limit`` stays empty: the old value is no limit.
    return Finding(Level.HARD, code, message, source, drug, None, new)


def no_limit_findings(
    admixture: Admixture, contexts: Mapping[str, Mapping[str, str]]
) -> list[Finding]:
    """A soft finding for each drug with no daily-dose limit for this patient: an empty library
    must never read as "no findings". ``contexts``: the limit context per drug name."""
    out: list[Finding] = []
    for ing in admixture.ingredients:
        drug = ing.drug
        if drug.limits_for(Bound.DAILY_DOSE_MAX, contexts.get(drug.name, {})):
            continue
        out.append(
            Finding(
                Level.SOFT,
                Code.NO_DOSE_LIMITS,
                f"No daily dose limits are configured for {drug.name}: Thecal cannot check this "
                "dose. Check it against your institution's protocol, and add limits to the "
                "drug library.",
                "Product rule: a drug without limits is never shown as 'no findings' "
                "(dose-error-reduction libraries of hospital smart pumps)",
                drug.name,
            )
        )
    return out
