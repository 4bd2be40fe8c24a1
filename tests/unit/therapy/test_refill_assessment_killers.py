"""Tests that kill the mutants of ``thecal.therapy.refill_assessment`` the other refill tests let
survive (``tools/mutate.py``; mutant numbers are those of ``--list`` on the module at this
commit). Each test names the mutant(s) it kills; see docs/testing.md for the run."""

from dataclasses import FrozenInstanceError, replace
from datetime import timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import Admixture
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import PreviousProgram, RefillProposal
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.therapy.reservoir import Fill
from thecal.therapy.schedule import Schedule, continuous
from thecal.units import Q_

from .gate_helpers import AT, mix, program

PUMP = "Prometra II 20 mL"  # reservoir 20 mL, low-reservoir alarm 3 mL
LAST = Fill(Q_("20 mL"), AT - timedelta(days=30))


def _refill(
    catalog: DeviceCatalog,
    library: DrugLibrary,
    admixture: Admixture | None = None,
    **kw: object,
) -> RefillProposal:
    m = admixture or mix(library, ("morphine", "10 mg/mL"))
    prog = program(catalog, m, Schedule(continuous(Q_("0.5 mL/d"))), pump=PUMP, start=False)
    return RefillProposal(prog, Fill(Q_("20 mL"), AT), **kw)  # type: ignore[arg-type]


def _codes(a: RefillAssessment) -> set[Code]:
    return {f.code for f in a.findings}


# --- L50 #1, L68 #4: the decision record is immutable -----------------------------------------


def test_assessment_and_expected_residual_are_frozen(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #1 (ExpectedResidual frozen=True → False) and #4 (RefillAssessment the same): a
    recorded decision cannot be edited after it was made."""
    a = assess_refill(_refill(catalog, library, last_fill=LAST, withdrawn=Q_("5 mL")), library)
    assert a.expected is not None
    with pytest.raises(FrozenInstanceError):
        a.expected.volume = Q_("99 mL")  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        a.findings = ()  # type: ignore[misc]
    # Nothing half-changed: 30 d × 0.5 mL/d = 15 mL delivered, 20 − 15 = 5 mL left.
    assert a.expected.volume.to("mL").magnitude == pytest.approx(5.0)


# --- L104 #5: a refill that changes the drug carries the drug-change findings ------------------


def test_refill_with_another_drug_reports_the_old_drug_in_the_catheter(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #5 (remove ``out += drug_change_at_refill(p.program)``).

    Morphine 25 mg/mL → hydromorphone 2 mg/mL at 0.5 mL/d: until the hydromorphone reaches the
    catheter tip the patient gets morphine at 25 mg/mL × 0.5 mL/d = 12.5 mg/d, above the
    tolerant 10 mg/d limit → SOFT for morphine, plus an INFO for the arrival of hydromorphone."""
    old = mix(library, ("morphine", "25 mg/mL"))
    new = mix(library, ("hydromorphone", "2 mg/mL"))
    prev = PreviousProgram(old, Schedule(continuous(Q_("0.2 mL/d"))), AT - timedelta(days=30))
    prog = replace(
        program(catalog, new, Schedule(continuous(Q_("0.5 mL/d"))), previous=prev, pump=PUMP),
        catheter_volume=Q_("0.2 mL"),
    )
    a = assess_refill(RefillProposal(prog, Fill(Q_("20 mL"), AT)), library)
    clearing = [f for f in a.findings if f.code is Code.DRUG_CHANGE_CLEARING]
    morphine = [f for f in clearing if f.drug == "morphine"]
    assert [f.level for f in morphine] == [Level.SOFT]
    assert morphine[0].value is not None
    assert morphine[0].value.to("mg/d").magnitude == pytest.approx(12.5)
    assert morphine[0] in a.needs_reason
    assert any(f.drug is None and "hydromorphone" in f.message for f in clearing)


# --- L165 #29: an implant estimate at or above the last fill means 0 mL delivered -------------


@pytest.mark.parametrize("estimate", ["20 mL", "20.4 mL"])
def test_device_estimate_at_or_above_the_last_fill_delivered_nothing(
    library: DrugLibrary, catalog: DeviceCatalog, estimate: str
) -> None:
    """Kills #29 (``max(0.0, …)`` → ``max(1.0, …)``): 20 − 20 = 0 mL and 20 − 20.4 = −0.4 mL
    (a rounding residue of the implant's count) are both clamped to 0 mL, not to 1 mL."""
    p = _refill(catalog, library, last_fill=LAST, device_estimate=Q_(estimate))
    a = assess_refill(p, library)
    assert a.expected is not None and a.expected.from_device
    assert a.expected.delivered.to("mL").magnitude == 0.0
    assert a.expected.volume == Q_(estimate)


# --- L167 #33, #34: the implant's empty time on the window's edges -----------------------------


def test_device_empty_exactly_at_the_last_fill_counts_as_ran_empty(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #33 (``last.at <= empty`` → ``<``): empty at the last fill itself (30 d ago) is
    inside [last fill, refill]: ran_empty_at is that time, an interruption of 30 d × 24 = 720 h."""
    p = _refill(
        catalog, library, last_fill=LAST, device_estimate=Q_("0 mL"), device_empty_at=LAST.at
    )
    a = assess_refill(p, library)
    assert a.expected is not None and a.expected.ran_empty_at == LAST.at
    restart = [f for f in a.findings if f.code is Code.RESTART_AFTER_INTERRUPTION]
    assert len(restart) == 1 and "720 h" in restart[0].message


def test_device_empty_exactly_at_the_refill_counts_as_ran_empty(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #34 (``empty <= at`` → ``<``): empty exactly at the refill time is inside the
    window, so ran_empty_at is AT (and, as #45 below checks, a 0 h gap is no interruption)."""
    p = _refill(catalog, library, last_fill=LAST, device_estimate=Q_("0 mL"), device_empty_at=AT)
    a = assess_refill(p, library)
    assert a.expected is not None and a.expected.ran_empty_at == AT


def test_device_empty_outside_the_window_is_ignored(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Companion of #33/#34: one minute before the last fill or after the refill is not in
    [last fill, refill] (an alarm of another fill, or a clock error): no ran_empty_at."""
    for empty in (LAST.at - timedelta(minutes=1), AT + timedelta(minutes=1)):
        p = _refill(
            catalog, library, last_fill=LAST, device_estimate=Q_("0 mL"), device_empty_at=empty
        )
        a = assess_refill(p, library)
        assert a.expected is not None and a.expected.ran_empty_at is None


# --- L177 #38, #39: reported boluses counted in [last fill, refill) ----------------------------


def test_bolus_exactly_at_the_last_fill_is_counted_in_the_basis(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #38 (``last.at <= r.at`` → ``<``): a 0.1 mL bolus at the last fill's own time counts.
    Delivered 30 d × 0.5 mL/d + 0.1 mL = 15.1 mL; left 20 − 15.1 = 4.9 mL."""
    bolus = ReportedBolus(LAST.at, Q_("0.1 mL"))
    a = assess_refill(_refill(catalog, library, last_fill=LAST, reported=(bolus,)), library)
    assert a.expected is not None
    assert "plus 1 patient bolus the pump reported (0.1 mL)" in a.expected.basis
    assert a.expected.delivered.to("mL").magnitude == pytest.approx(15.1)
    assert a.expected.volume.to("mL").magnitude == pytest.approx(4.9)


def test_bolus_exactly_at_the_refill_is_not_counted_in_the_basis(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #39 (``r.at < at`` → ``<=``): a bolus at the refill time itself left no trace in the
    withdrawn residual. Delivered 30 d × 0.5 mL/d = 15 mL; left 20 − 15 = 5 mL."""
    bolus = ReportedBolus(AT, Q_("0.1 mL"))
    a = assess_refill(_refill(catalog, library, last_fill=LAST, reported=(bolus,)), library)
    assert a.expected is not None
    assert "patient bolus" not in a.expected.basis
    assert a.expected.delivered.to("mL").magnitude == pytest.approx(15.0)
    assert a.expected.volume.to("mL").magnitude == pytest.approx(5.0)


# --- L191 #45: empty exactly at the refill is no interruption ----------------------------------


def test_reservoir_empty_exactly_at_the_refill_is_no_interruption(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #45 (``empty_at >= p.fill.at`` → ``>``): with ``>`` a reservoir empty exactly at the
    refill becomes a 0 h interruption, which adds baclofen's withdrawal note ("interrupted for
    0 h"). Baclofen 500 mcg/mL at 0.5 mL/d from a 20 mL fill 40 d ago: 40 × 0.5 = 20 mL, empty
    exactly at the refill. One minute earlier it is an interruption (the note is there)."""
    m = mix(library, ("baclofen", "500 mcg/mL"))
    forty = Fill(Q_("20 mL"), AT - timedelta(days=40))
    at_refill = assess_refill(_refill(catalog, library, m, last_fill=forty), library)
    assert at_refill.expected is not None and at_refill.expected.ran_empty_at == AT
    assert Code.WITHDRAWAL_RISK not in _codes(at_refill)
    assert Code.RESTART_AFTER_INTERRUPTION not in _codes(at_refill)
    # The same through the implant's own empty alarm at the refill time.
    device = _refill(
        catalog, library, m, last_fill=forty, device_estimate=Q_("0 mL"), device_empty_at=AT
    )
    assert Code.WITHDRAWAL_RISK not in _codes(assess_refill(device, library))
    # One minute before the refill: a 1 min interruption, the withdrawal note appears.
    earlier = _refill(
        catalog, library, m, last_fill=forty, device_estimate=Q_("0 mL"),
        device_empty_at=AT - timedelta(minutes=1),
    )  # fmt: skip
    assert Code.WITHDRAWAL_RISK in _codes(assess_refill(earlier, library))


# --- L255 #62: the alarm message says where the threshold came from ----------------------------


def test_alarm_message_says_entered_or_from_the_catalog(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Kills #62 (``entered is not None`` → ``is``): an entered 0 mL alarm is "(entered)"; a
    catalog alarm of 0 mL (a pump record edited to 0 mL) is "(from the catalog)"."""
    entered = assess_refill(_refill(catalog, library, alarm_threshold=Q_("0 mL")), library)
    f = next(f for f in entered.findings if f.code is Code.ALARM_THRESHOLD_NOT_POSITIVE)
    assert "(entered)" in f.message and "from the catalog" not in f.message
    p = _refill(catalog, library)
    zero_pump = replace(p.program.pump, low_reservoir_alarm=Q_("0 mL"))
    from_catalog = replace(p, program=replace(p.program, pump=zero_pump))
    g = next(
        f
        for f in assess_refill(from_catalog, library).findings
        if f.code is Code.ALARM_THRESHOLD_NOT_POSITIVE
    )
    assert "(from the catalog)" in g.message and "(entered)" not in g.message
