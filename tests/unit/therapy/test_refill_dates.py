from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.refill_dates import (
    RESERVOIR_LABEL_PROGRAMMED,
    RESERVOIR_LABEL_WORST,
    CandidateKind,
    forecast,
    stability_findings,
)
from thecal.therapy.reservoir import Fill, ScheduleChange
from thecal.therapy.schedule import Schedule, continuous, patient_bolus
from thecal.units import Q_, InputError

FILL_AT = datetime(2024, 3, 4, 8, 0)
SECOND = timedelta(seconds=1)


def near(a: datetime | None, b: datetime) -> bool:
    """The inverse is bisected to 0.1 s."""
    return a is not None and abs(a - b) < SECOND


def ziconotide(library: DrugLibrary, conc: str) -> Admixture:
    return make_admixture([(library.get("ziconotide"), Q_(conc))])


# 20 mL at 0.1 mL/d reaches the 2 mL alarm after 18 / 0.1 = 180 d: the drug decides.
SLOW = Schedule(continuous(Q_(0.1, "mL/d")))


@pytest.mark.parametrize(
    ("conc", "first_fill", "days", "label"),
    [("5 mcg/mL", True, 14, "drug stability: ziconotide first fill, 14 d"),
     ("25 mcg/mL", True, 14, "drug stability: ziconotide first fill, 14 d"),
     ("5 mcg/mL", False, 40, "drug stability: ziconotide diluted, 40 d"),
     ("25 mcg/mL", False, 84, "drug stability: ziconotide undiluted, 84 d")],
)  # fmt: skip
def test_ziconotide_stability_decides(
    catalog: DeviceCatalog, library: DrugLibrary, conc: str, first_fill: bool, days: int,
    label: str,
) -> None:  # fmt: skip
    fill = Fill(Q_(20, "mL"), FILL_AT, first_fill=first_fill)
    fc = forecast(fill, SLOW, catalog.pump("SynchroMed II 8637-20"), None, None,
                  ziconotide(library, conc), library)  # fmt: skip
    assert fc.refill_by == FILL_AT + timedelta(days=days)
    assert fc.decided_by == label
    assert near(fc.low_alarm_nominal, FILL_AT + timedelta(days=180))


def test_first_fill_keeps_every_candidate(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    fill = Fill(Q_(20, "mL"), FILL_AT, first_fill=True)
    fc = forecast(fill, SLOW, catalog.pump("SynchroMed II 8637-20"), None, None,
                  ziconotide(library, "5 mcg/mL"), library)  # fmt: skip
    # First fill 14 d and diluted 40 d both apply; then the alarm at 180 d. Sorted by date.
    assert [(c.kind, c.interval.to("d").magnitude) for c in fc.candidates] == [
        (CandidateKind.STABILITY, pytest.approx(14)),
        (CandidateKind.STABILITY, pytest.approx(40)),
        (CandidateKind.RESERVOIR, pytest.approx(180, abs=1e-4)),
    ]
    assert all(c.source for c in fc.candidates)
    assert fc.candidates[0].level is Level.HARD


def test_stability_findings_level_from_the_limit(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    fill = Fill(Q_(20, "mL"), FILL_AT)
    fc = forecast(fill, SLOW, catalog.pump("SynchroMed II 8637-20"), None, None,
                  ziconotide(library, "5 mcg/mL"), library,
                  planned_refill=FILL_AT + timedelta(days=50))  # fmt: skip
    assert [f.code for f in fc.findings] == [Code.REFILL_INTERVAL_BEYOND_STABILITY]
    f = fc.findings[0]
    assert f.level is Level.HARD
    assert f.drug == "ziconotide"
    assert f.limit is not None and f.limit.to("d").magnitude == pytest.approx(40)
    assert f.value is not None and f.value.to("d").magnitude == pytest.approx(50)
    assert "40 d" in f.source or "40 days" in f.source
    # On the limit itself: allowed.
    assert stability_findings(fc, FILL_AT + timedelta(days=40)) == ()


def morphine(library: DrugLibrary) -> Admixture:
    return make_admixture([(library.get("morphine"), Q_(10, "mg/mL"))])


PTB = patient_bolus(Q_(0.1, "mL"), Q_(10, "min"), Q_(8, "h"), 2)  # 2 a day: 0.2 mL/d
BASAL = Schedule(continuous(Q_(0.5, "mL/d")))


def test_reservoir_dates_nominal_and_worst(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    fill = Fill(Q_(20, "mL"), FILL_AT)
    fc = forecast(fill, BASAL, catalog.pump("SynchroMed II 8637-20"), None, PTB,
                  morphine(library), library)  # fmt: skip
    # Nominal: (20 − 2) / 0.5 = 36 d to the 2 mL alarm, 20 / 0.5 = 40 d to empty.
    assert near(fc.low_alarm_nominal, FILL_AT + timedelta(days=36))
    assert near(fc.empty_nominal, FILL_AT + timedelta(days=40))
    # Worst: day k's 0.2 mL leave at the start of day k, so at τ in (k−1, k] d the pump has
    # delivered 0.5 τ + 0.2 k. Alarm: 0.5 τ + 0.2 k = 18 → k = 26, τ = (18 − 5.2) / 0.5 = 25.6 d.
    # Empty: 0.5 τ + 0.2 k = 20 → k = 29, τ = (20 − 5.8) / 0.5 = 28.4 d.
    assert near(fc.low_alarm_worst, FILL_AT + timedelta(days=25.6))
    assert near(fc.empty_worst, FILL_AT + timedelta(days=28.4))
    assert near(fc.refill_by, FILL_AT + timedelta(days=25.6))  # shipped margin is 0 d
    assert fc.decided_by == RESERVOIR_LABEL_WORST
    assert fc.alarm_source == catalog.pump("SynchroMed II 8637-20").source("low_reservoir_alarm")


def test_margin_and_alarm_override(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    fill = Fill(Q_(20, "mL"), FILL_AT)
    pump = catalog.pump("SynchroMed II 8637-20")
    fc = forecast(fill, BASAL, pump, Q_(4, "mL"), None, morphine(library), library,
                  margin=Q_(3, "d"))  # fmt: skip
    # (20 − 4) / 0.5 = 32 d to a 4 mL alarm; minus 3 d margin = 29 d.
    assert near(fc.low_alarm_nominal, FILL_AT + timedelta(days=32))
    assert fc.low_alarm_worst == fc.low_alarm_nominal  # no patient boluses
    assert near(fc.refill_by, FILL_AT + timedelta(days=29))
    assert fc.decided_by == RESERVOIR_LABEL_PROGRAMMED
    assert fc.alarm_source == "entered by the clinician"


def test_margin_from_the_library(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    lib = replace(library, settings=replace(library.settings, refill_margin=Q_(2, "d")))
    fc = forecast(Fill(Q_(20, "mL"), FILL_AT), BASAL, catalog.pump("SynchroMed II 8637-20"),
                  None, None, morphine(lib), lib)  # fmt: skip
    assert near(fc.refill_by, FILL_AT + timedelta(days=34))  # 36 − 2


def test_institution_maximum(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    settings = replace(library.settings, max_refill_interval=Q_(30, "d"),
                       max_refill_interval_source="Institution policy 7.3")  # fmt: skip
    lib = replace(library, settings=settings)
    fc = forecast(Fill(Q_(20, "mL"), FILL_AT), BASAL, catalog.pump("SynchroMed II 8637-20"),
                  None, None, morphine(lib), lib)  # fmt: skip
    assert fc.refill_by == FILL_AT + timedelta(days=30)
    assert fc.decided_by.startswith("institution maximum interval")
    findings = stability_findings(fc, FILL_AT + timedelta(days=31))
    assert [f.code for f in findings] == [Code.REFILL_INTERVAL_ABOVE_INSTITUTION_MAX]
    assert findings[0].source == "Institution policy 7.3"
    assert findings[0].level is Level.SOFT


def test_planned_refill_after_worst_case_empty(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    fill = Fill(Q_(20, "mL"), FILL_AT)
    fc = forecast(fill, BASAL, catalog.pump("SynchroMed II 8637-20"), None, PTB,
                  morphine(library), library)  # fmt: skip
    # Worst-case alarm 25.6 d, worst-case empty 28.4 d (see above).
    assert stability_findings(fc, FILL_AT + timedelta(days=25)) == ()
    late = stability_findings(fc, FILL_AT + timedelta(days=27))
    assert [f.code for f in late] == [Code.RESERVOIR_RUNS_OUT_BEFORE_REFILL]
    assert late[0].level is Level.SOFT
    assert "runs empty" not in late[0].message
    empty = stability_findings(fc, FILL_AT + timedelta(days=30))
    assert "runs empty" in empty[0].message and "morphine" in empty[0].message
    with pytest.raises(InputError):
        stability_findings(fc, FILL_AT - timedelta(days=1))


def test_seed_trial_on_external_pump(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    """Seed 003: hydromorphone + bupivacaine 0.1 mg/mL at 0.5 mL/h in an external pump."""
    admixture = make_admixture(
        [(library.get("hydromorphone"), Q_(0.1, "mg/mL")),
         (library.get("bupivacaine"), Q_(0.1, "mg/mL"))]
    )  # fmt: skip
    schedule = Schedule(continuous(Q_(0.5, "mL/h")))
    curlin = catalog.pump("Curlin 6000 CMS")
    fill = Fill(Q_(100, "mL"), FILL_AT)
    with pytest.raises(InputError) as err:
        forecast(fill, schedule, curlin, None, None, admixture, library,
                 reservoir_override=Q_(100, "mL"))  # fmt: skip
    assert err.value.field == "refill.alarm_threshold"
    with pytest.raises(InputError) as err:
        forecast(fill, schedule, curlin, Q_(10, "mL"), None, admixture, library)
    assert err.value.field == "pump.reservoir"
    fc = forecast(fill, schedule, curlin, Q_(10, "mL"), None, admixture, library,
                  reservoir_override=Q_(100, "mL"))  # fmt: skip
    # (100 − 10) mL / 0.5 mL/h = 180 h to the alarm; 100 / 0.5 = 200 h to empty.
    assert near(fc.refill_by, FILL_AT + timedelta(hours=180))
    assert near(fc.empty_nominal, FILL_AT + timedelta(hours=200))
    assert [c.kind for c in fc.candidates] == [CandidateKind.RESERVOIR]


def test_overfilled_reservoir_is_refused(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with pytest.raises(InputError) as err:
        forecast(Fill(Q_(40, "mL"), FILL_AT), BASAL, catalog.pump("SynchroMed II 8637-20"),
                 None, None, morphine(library), library)  # fmt: skip
    assert err.value.field == "fill.volume"


def test_negative_margin_is_refused(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with pytest.raises(InputError) as err:
        forecast(Fill(Q_(20, "mL"), FILL_AT), BASAL, catalog.pump("SynchroMed II 8637-20"),
                 None, None, morphine(library), library, margin=Q_(-1, "d"))  # fmt: skip
    assert err.value.field == "refill.margin"


def test_nothing_delivered_and_no_limits(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    stopped = Schedule(continuous(Q_(0, "mL/d")))
    fc = forecast(Fill(Q_(20, "mL"), FILL_AT), stopped, catalog.pump("SynchroMed II 8637-20"),
                  None, None, morphine(library), library)  # fmt: skip
    assert fc.low_alarm_nominal is None and fc.empty_worst is None
    assert fc.refill_by is None and fc.candidates == ()


def test_titration_after_the_fill_brings_the_alarm_forward(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    morphine = make_admixture([(library.get("morphine"), Q_(10, "mg/mL"))])
    pump = catalog.pump("SynchroMed II 8637-20")
    fill = Fill(Q_(20, "mL"), FILL_AT)
    before = Schedule(continuous(Q_(0.5, "mL/d")))
    change = ScheduleChange(FILL_AT + timedelta(days=10), Schedule(continuous(Q_(1.0, "mL/d"))))
    plain = forecast(fill, before, pump, Q_(2, "mL"), None, morphine, library)
    # 18 mL to the 2 mL alarm at 0.5 mL/d: 36 d.
    assert near(plain.low_alarm_nominal, FILL_AT + timedelta(days=36))
    titrated = forecast(fill, before, pump, Q_(2, "mL"), None, morphine, library, changes=(change,))
    # 10 d × 0.5 = 5 mL, then the other 13 mL at 1.0 mL/d: 13 d, so day 23; empty: day 25.
    assert near(titrated.low_alarm_nominal, FILL_AT + timedelta(days=23))
    assert near(titrated.empty_nominal, FILL_AT + timedelta(days=25))
    assert titrated.refill_by is not None and near(titrated.refill_by, FILL_AT + timedelta(days=23))


def test_worst_case_with_a_change_is_never_later_than_nominal(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    morphine = make_admixture([(library.get("morphine"), Q_(10, "mg/mL"))])
    pump = catalog.pump("SynchroMed II 8637-20")
    fill = Fill(Q_(20, "mL"), FILL_AT)
    ptm = patient_bolus(Q_(0.1, "mL"), Q_(10, "min"), Q_(4, "h"), 3)
    change = ScheduleChange(FILL_AT + timedelta(days=10), Schedule(continuous(Q_(1.0, "mL/d"))))
    fc = forecast(fill, Schedule(continuous(Q_(0.5, "mL/d"))), pump, Q_(2, "mL"), ptm,
                  morphine, library, changes=(change,))  # fmt: skip
    # Worst case: 0.3 mL/d more. 10 d × 0.8 = 8 mL, then 10 mL at 1.3 mL/d: 7.69… d, so
    # day 17.69 (each day's allowance counted at its start: up to 1 day earlier).
    assert fc.low_alarm_worst is not None and fc.low_alarm_nominal is not None
    assert fc.low_alarm_worst <= fc.low_alarm_nominal
    assert FILL_AT + timedelta(days=16.5) <= fc.low_alarm_worst <= FILL_AT + timedelta(days=17.7)
