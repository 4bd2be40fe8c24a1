"""The example plans (examples/*.toml) through the core: resolve() + daily_dose + forecast.

The seed numbers are asserted here and, independently, through the CLI's JSON output
(tests/cli/test_cli.py)."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from thecal.adapters.plan_files import load_plan
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.refill_dates import forecast
from thecal.therapy.safety_gate import check

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def resolved(name: str, library: DrugLibrary, catalog: DeviceCatalog) -> ResolvedPlan:
    return resolve(load_plan(EXAMPLES / name).to_typed(), library, catalog)


def per_day(name: str, library: DrugLibrary, catalog: DeviceCatalog) -> dict[str, float]:
    """Nominal daily dose of each drug (mg/d or ug/d as the plan's units) and 'volume' (mL/d)."""
    r = resolved(name, library, catalog)
    d = daily_dose(r.schedule, r.admixture, r.program.patient_bolus)
    out = {"volume": float(d.nominal_volume.to("mL/d").magnitude)}
    for drug, q in d.nominal.items():
        out[drug] = float(q.to("ug/d" if "microgram" in str(q.units) else "mg/d").magnitude)
    return out


def test_seed003_case1_trial(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    d = per_day("seed003-case1-trial.toml", library, catalog)
    # 0.5 mL/h × 24 h/d = 12 mL/d; × 0.1 mg/mL = 1.2 mg/d of hydromorphone and of bupivacaine.
    assert d == pytest.approx({"volume": 12.0, "hydromorphone": 1.2, "bupivacaine": 1.2})


def test_seed003_case1_implant(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    d = per_day("seed003-case1-implant.toml", library, catalog)
    # 1.999 mg/d ÷ 10 mg/mL = 0.1999 mL/d; × 10 mg/mL bupivacaine = 1.999 mg/d.
    assert d == pytest.approx({"volume": 0.1999, "hydromorphone": 1.999, "bupivacaine": 1.999})


def test_seed003_case2_trial(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    d = per_day("seed003-case2-trial.toml", library, catalog)
    # 0.2 mL/h × 24 = 4.8 mL/d; × 0.25 mcg/mL = 1.2 mcg/d; × 0.25 mg/mL = 1.2 mg/d.
    assert d == pytest.approx({"volume": 4.8, "ziconotide": 1.2, "bupivacaine": 1.2})


def test_seed003_case2_implant(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    r = resolved("seed003-case2-implant.toml", library, catalog)
    d = per_day("seed003-case2-implant.toml", library, catalog)
    # 2.5 mcg/d ÷ 10 mcg/mL = 0.25 mL/d; 0.25 mL/d × 10 mg/mL = 2.5 mg/d bupivacaine.
    assert d == pytest.approx({"volume": 0.25, "ziconotide": 2.5, "bupivacaine": 2.5})
    assert r.fill is not None and r.fill.first_fill
    fc = forecast(r.fill, r.schedule, r.pump, None, r.program.patient_bolus, r.admixture, library)
    # First fill of a new pump: replace within 14 d — before the 2 mL alarm at 18/0.25 = 72 d.
    assert fc.refill_by == datetime(2024, 3, 18, 9) + timedelta(days=14)
    assert "ziconotide" in fc.decided_by and "first fill" in fc.decided_by
    assert fc.low_alarm_nominal is not None
    assert abs(fc.low_alarm_nominal - (datetime(2024, 3, 18, 9) + timedelta(days=72))) < (
        timedelta(seconds=1)
    )
    gate = check(r.program, library)
    assert not gate.blocked
    # 2.5 mcg/d is above the labelled starting maximum of 2.4 mcg/d.
    assert [f.code for f in gate.needs_reason] == [Code.START_DOSE_ABOVE_LIMIT]


def test_seed000_catheter_volume(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    r = resolved("seed000-catheter-splice.toml", library, catalog)
    volume = r.catheter_volume()
    assert volume is not None
    # 60 cm × 0.0026 mL/cm (Prometra catheter) = 0.156 mL.
    assert volume.to("mL").magnitude == pytest.approx(0.156)
    d = per_day("seed000-catheter-splice.toml", library, catalog)
    assert d == pytest.approx({"volume": 0.3, "morphine": 3.0})  # 3 mg/d ÷ 10 mg/mL


@pytest.mark.parametrize(
    ("name", "level", "code"),
    [
        ("hard-opioid-bolus-opioid-naive.toml", Level.HARD, Code.OPIOID_BOLUS_OPIOID_NAIVE),
        ("soft-morphine-above-naive-range.toml", Level.SOFT, Code.DAILY_DOSE_ABOVE_LIMIT),
    ],
)
def test_finding_examples(
    library: DrugLibrary, catalog: DeviceCatalog, name: str, level: Level, code: Code
) -> None:
    r = resolved(name, library, catalog)
    worst = [f for f in check(r.program, library).findings if f.level is not Level.INFO]
    assert [(f.level, f.code) for f in worst] == [(level, code)]


def test_every_example_resolves(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.toml"))
    assert len(names) >= 7
    for name in names:
        r = resolved(name, library, catalog)
        assert r.plan.title, name
