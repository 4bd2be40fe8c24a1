"""Safety-gate codes that belong to refills: fill checks, discrepancy, stability, dates."""

from datetime import timedelta

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary, build_library
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import Schedule, continuous
from thecal.units import Q_

from .gate_helpers import AT, codes, daily, finding, mix, program


def _refill(catalog: DeviceCatalog, library: DrugLibrary, **kw: object) -> RefillProposal:
    m = mix(library, ("morphine", "10 mg/mL"))
    prog = program(catalog, m, Schedule(continuous(Q_("0.5 mL/d"))), pump="Prometra II 20 mL")
    fill = kw.pop("fill", Fill(Q_("20 mL"), AT))
    return RefillProposal(prog, fill, **kw)  # type: ignore[arg-type]


def test_fill_larger_than_reservoir_is_hard(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    # The TMLT case: 40 mL entered for a 20 mL pump.
    result = check(_refill(catalog, library, fill=Fill(Q_("40 mL"), AT)), library)
    f = finding(result, Code.FILL_EXCEEDS_RESERVOIR)
    assert f.level is Level.HARD and f.limit == Q_("20 mL") and result.blocked


def test_empty_fill_is_hard(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    result = check(_refill(catalog, library, fill=Fill(Q_("0 mL"), AT)), library)
    assert finding(result, Code.FILL_EMPTY).level is Level.HARD


def test_residual_higher_than_expected_seed_000(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Last fill 20 mL, 30 d at 0.5 mL/d → expected delivered 15 mL, expected residual 5 mL.
    # Withdrawn 8 mL: 3 mL more than expected (> 2 mL), delivered 12 mL = −20 % (band ±15 %):
    # under-delivery, as a calcified, impinged catheter would cause.
    last = Fill(Q_("20 mL"), AT - timedelta(days=30))
    result = check(_refill(catalog, library, last_fill=last, withdrawn=Q_("8 mL")), library)
    threshold = finding(result, Code.DISCREPANCY_ABOVE_THRESHOLD)
    band = finding(result, Code.DISCREPANCY_OUTSIDE_ACCURACY)
    assert threshold.level is Level.SOFT and band.level is Level.SOFT
    assert "ASRA" in threshold.source and "p.22" in band.source
    ok = check(_refill(catalog, library, last_fill=last, withdrawn=Q_("5.5 mL")), library)
    assert Code.DISCREPANCY_ABOVE_THRESHOLD.value not in codes(ok)


def test_pocket_fill_after_refill_is_hard(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    # Filled 20 mL, only 18.5 mL confirmed in the reservoir: 1.5 mL > 1 mL (20 mL pump).
    result = check(
        _refill(
            catalog,
            library,
            last_fill=Fill(Q_("20 mL"), AT - timedelta(days=30)),
            withdrawn=Q_("5 mL"),
            filled=Q_("20 mL"),
            confirmed_after_fill=Q_("18.5 mL"),
        ),
        library,
    )
    f = finding(result, Code.POSSIBLE_POCKET_FILL)
    assert f.level is Level.HARD and "Maino" in f.source


def _ziconotide_refill(
    catalog: DeviceCatalog, library: DrugLibrary, planned_days: float, first: bool = False
) -> RefillProposal:
    m = mix(library, ("ziconotide", "10 mcg/mL"), ("bupivacaine", "10 mg/mL"))
    prog = program(catalog, m, daily(m, "ziconotide", "2.4 mcg/d"))
    return RefillProposal(
        prog, Fill(Q_("20 mL"), AT, first_fill=first), AT + timedelta(days=planned_days)
    )


def test_refill_planned_beyond_stability_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Diluted ziconotide (10 mcg/mL): refill at least every 40 d; planned at 50 d.
    result = check(_ziconotide_refill(catalog, library, 50), library)
    f = finding(result, Code.REFILL_INTERVAL_BEYOND_STABILITY)
    assert f.level is Level.HARD and f.limit == Q_("40 d")
    assert Code.REFILL_INTERVAL_BEYOND_STABILITY.value not in codes(
        check(_ziconotide_refill(catalog, library, 35), library)
    )


def test_first_fill_rinse_and_fourteen_days(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    result = check(_ziconotide_refill(catalog, library, 20, first=True), library)
    rinse = finding(result, Code.FIRST_FILL_RINSE)
    assert rinse.level is Level.INFO and rinse.limit == Q_("14 d")
    stab = finding(result, Code.REFILL_INTERVAL_BEYOND_STABILITY)
    assert stab.limit == Q_("14 d")


def test_reservoir_runs_out_before_planned_refill(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # 20 mL at 0.5 mL/d reaches the 3 mL alarm after (20 − 3) / 0.5 = 34 d; planned at 45 d.
    m = mix(library, ("morphine", "10 mg/mL"))
    prog = program(catalog, m, Schedule(continuous(Q_("0.5 mL/d"))), pump="Prometra II 20 mL")
    result = check(RefillProposal(prog, Fill(Q_("20 mL"), AT), AT + timedelta(days=45)), library)
    f = finding(result, Code.RESERVOIR_RUNS_OUT_BEFORE_REFILL)
    assert f.level is Level.SOFT
    fine = check(RefillProposal(prog, Fill(Q_("20 mL"), AT), AT + timedelta(days=30)), library)
    assert Code.RESERVOIR_RUNS_OUT_BEFORE_REFILL.value not in codes(fine)


def test_refill_interval_above_institution_maximum(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    settings = {"max_refill_interval": "28 d", "max_refill_interval_source": "Clinic policy 12"}
    inst = build_library([("inst", {"drugs": [], "settings": settings})])
    lib = type(library)(library.drugs, inst.settings)
    m = mix(lib, ("baclofen", "500 mcg/mL"))
    prog = program(catalog, m, daily(m, "baclofen", "200 mcg/d"))
    result = check(RefillProposal(prog, Fill(Q_("20 mL"), AT), AT + timedelta(days=31)), lib)
    f = finding(result, Code.REFILL_INTERVAL_ABOVE_INSTITUTION_MAX)
    assert f.source == "Clinic policy 12"


def test_delayed_refill_after_empty_reservoir_flags_restart(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Seed 003 (Ruan 2010): 20 mL of morphine 10 mg/mL at 0.5 mL/d (5 mg/d) runs dry after
    # 20 / 0.5 = 40 d; the refill happens at 50 d, so delivery stopped for 10 d. Restarting at
    # 5 mg/d needs a reason; the proposal is the labelled opioid-naive maximum, 1 mg/d.
    last = Fill(Q_("20 mL"), AT - timedelta(days=50))
    result = check(_refill(catalog, library, last_fill=last, withdrawn=Q_("0 mL")), library)
    f = finding(result, Code.RESTART_AFTER_INTERRUPTION)
    assert f.level is Level.SOFT and "240 h" in f.message
    assert f.limit.to("mg/d").magnitude == 1.0
    on_time = Fill(Q_("20 mL"), AT - timedelta(days=30))
    ok = check(_refill(catalog, library, last_fill=on_time, withdrawn=Q_("5 mL")), library)
    assert Code.RESTART_AFTER_INTERRUPTION.value not in codes(ok)
