"""Every shipped limit, generated from the shipped library: a value exactly on the limit is not
flagged by it, a value just past it is (edge semantics: thecal.therapy.compare). A bound shipped
without a case here fails the test, so no shipped limit goes untested."""

from datetime import timedelta

import pint
import pytest

from thecal.adapters.data_files import packaged
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import Admixture
from thecal.therapy.compare import equal
from thecal.therapy.drugs import Bound, Drug, Limit
from thecal.therapy.findings import Code, Finding
from thecal.therapy.library import DrugLibrary, build_library
from thecal.therapy.proposal import Patient, PreviousProgram, RefillProposal
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.units import Q_

from .gate_helpers import AT, daily, mix, program

JUST = 1e-6  # relative step past the edge: far above compare.REL_TOL (1e-9)

_SHIPPED = build_library([("shipped", packaged("drugs.toml"))])
CASES = [(d.name, i) for d in _SHIPPED.drugs for i in range(len(d.limits))]

CODES: dict[Bound, set[Code]] = {
    Bound.CONCENTRATION_MAX: {Code.CONCENTRATION_ABOVE_LIMIT, Code.CONCENTRATION_ENTRY_ERROR},
    Bound.DAILY_DOSE_MAX: {Code.DAILY_DOSE_ABOVE_LIMIT, Code.DAILY_DOSE_ENTRY_ERROR},
    Bound.START_DOSE_MAX: {Code.START_DOSE_ABOVE_LIMIT},
    Bound.TITRATION_STEP_MAX: {Code.TITRATION_STEP_ABOVE_LIMIT},
    Bound.TITRATION_PERCENT_MAX: {Code.TITRATION_PERCENT_ABOVE_LIMIT},
    Bound.INCREASE_INTERVAL_MIN: {Code.TITRATION_TOO_SOON},
    Bound.INCREASES_PER_WEEK_MAX: {Code.TITRATION_TOO_FREQUENT},
    Bound.REFILL_INTERVAL_MAX: {Code.REFILL_INTERVAL_BEYOND_STABILITY},
}


def _patient(lim: Limit) -> Patient:
    when = dict(lim.when)
    flag = {"true": True, "false": False}
    return Patient(
        opioid_naive=flag.get(when.get("opioid_naive", "false"), False),
        spasticity_origin=when.get("spasticity_origin"),
        cancer_pain=flag.get(when["cancer_pain"]) if "cancer_pain" in when else None,
    )


def _concentration(drug: Drug, lim: Limit) -> pint.Quantity:
    if dict(lim.when).get("dilution") == "undiluted":
        return drug.undiluted_concentrations[0]
    return max(drug.marketed_concentrations, key=lambda c: c.to("mg/mL").magnitude)


def _base_dose(mixture: Admixture) -> pint.Quantity:
    """A modest dose for checks that need one: the admixture at 0.5 mL/d."""
    (ing,) = mixture.ingredients
    return (ing.concentration * Q_(0.5, "mL/d")).to(ing.concentration.units * Q_(1, "mL/d").units)


def _result(drug: Drug, lim: Limit, catalog: DeviceCatalog, library: DrugLibrary, past: bool):
    """The gate's result for a proposal on the edge of ``lim`` (``past``: just beyond it)."""
    v = lim.value
    beyond = v * (1 + JUST)
    patient = _patient(lim)
    name = drug.name
    if lim.bound is Bound.CONCENTRATION_MAX:
        m = mix(library, (name, f"{(beyond if past else v):~}"))
        return check(program(catalog, m, daily(m, name, f"{_base_dose(m):~}"), patient=patient),
                     library)  # fmt: skip
    m = mix(library, (name, f"{_concentration(drug, lim):~}"))
    base = _base_dose(m)
    if lim.bound in (Bound.DAILY_DOSE_MAX, Bound.START_DOSE_MAX):
        dose = beyond if past else v
        return check(program(catalog, m, daily(m, name, f"{dose:~}"), patient=patient), library)
    if lim.bound in (Bound.TITRATION_STEP_MAX, Bound.TITRATION_PERCENT_MAX):
        old = base
        if lim.bound is Bound.TITRATION_STEP_MAX:
            new = old + (beyond if past else v)
        else:
            new = old * (1 + (beyond if past else v).to("").magnitude)
        prev = PreviousProgram(m, daily(m, name, f"{old:~}"), AT - timedelta(days=30))
        return check(program(catalog, m, daily(m, name, f"{new.to(old.units):~}"),
                             patient=patient, previous=prev), library)  # fmt: skip
    if lim.bound is Bound.INCREASE_INTERVAL_MIN:
        since = timedelta(hours=float(v.to("h").magnitude))
        started = AT - (since * (1 - JUST) if past else since)
        prev = PreviousProgram(m, daily(m, name, f"{base:~}"), started)
        return check(program(catalog, m, daily(m, name, f"{base * 1.01:~}"),
                             patient=patient, previous=prev), library)  # fmt: skip
    if lim.bound is Bound.INCREASES_PER_WEEK_MAX:
        allowed = round(v.to("").magnitude)
        earlier = allowed if past else allowed - 1  # this change is increase number earlier + 1
        times = tuple(AT - timedelta(hours=12 * (k + 1)) for k in range(earlier))
        prev = PreviousProgram(m, daily(m, name, f"{base:~}"), AT - timedelta(days=30),
                               earlier_increases=times)  # fmt: skip
        return check(program(catalog, m, daily(m, name, f"{base * 1.01:~}"),
                             patient=patient, previous=prev), library)  # fmt: skip
    if lim.bound is Bound.REFILL_INTERVAL_MAX:
        when = dict(lim.when)
        interval = timedelta(days=float(v.to("d").magnitude))
        planned = AT + (interval + timedelta(minutes=1) if past else interval)
        prog = program(catalog, m, daily(m, name, f"{base:~}"), patient=patient)
        fill = Fill(Q_("20 mL"), AT, first_fill=when.get("fill") == "first")
        return check(RefillProposal(prog, fill, planned), library)
    raise AssertionError(f"no edge case for shipped bound {lim.bound}: add one to this test")


def _flagged(found: tuple[Finding, ...], drug: Drug, lim: Limit) -> bool:
    return any(
        f.code in CODES[lim.bound]
        and f.drug == drug.name
        and f.level is lim.level
        and f.limit is not None
        and equal(f.limit, lim.value)
        for f in found
    )


@pytest.mark.parametrize(("drug_name", "index"), CASES)
def test_every_shipped_limit_on_its_edge_and_just_past_it(
    drug_name: str, index: int, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    drug = library.get(drug_name)
    lim = drug.limits[index]
    assert not _flagged(_result(drug, lim, catalog, library, past=False).findings, drug, lim)
    assert _flagged(_result(drug, lim, catalog, library, past=True).findings, drug, lim)


def test_the_cases_cover_the_shipped_library() -> None:
    assert len(CASES) >= 30 and {b for d in _SHIPPED.drugs for b in (x.bound for x in d.limits)}
