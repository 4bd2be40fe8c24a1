from datetime import datetime, time

import pytest

from thecal.therapy.admixture import make_admixture
from thecal.therapy.delivery import DeliveryModel, daily_dose, dose_delivered, volume_delivered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import (
    Schedule,
    continuous,
    day_program,
    patient_bolus,
    periodic_bolus,
    single_bolus,
    weekly,
)
from thecal.units import Q_, InputError

T0 = datetime(2026, 11, 23, 9, 0)  # a Monday


def test_seed_003_case_1_trial_dose(library: DrugLibrary) -> None:
    # Hydromorphone 0.1 mg/mL + bupivacaine 0.1 mg/mL at 0.5 mL/h:
    # 0.1 mg/mL × 0.5 mL/h × 24 h/d = 1.2 mg/d of each.
    m = make_admixture(
        [
            (library.get("hydromorphone"), Q_("0.1 mg/mL")),
            (library.get("bupivacaine"), Q_("0.1 mg/mL")),
        ]
    )
    d = daily_dose(Schedule(continuous(Q_("0.5 mL/h"))), m)
    assert d.nominal["hydromorphone"].to("mg/d").magnitude == pytest.approx(1.2)
    assert d.nominal["bupivacaine"].to("mg/d").magnitude == pytest.approx(1.2)
    assert d.nominal_volume.to("mL/d").magnitude == pytest.approx(12.0)


def test_seed_003_case_2_implant_from_target_dose(library: DrugLibrary) -> None:
    # Ziconotide 10 mcg/mL + bupivacaine 10 mg/mL, target 2.5 mcg/d ziconotide:
    # 2.5 mcg/d ÷ 10 mcg/mL = 0.25 mL/d; bupivacaine 0.25 mL/d × 10 mg/mL = 2.5 mg/d.
    m = make_admixture(
        [(library.get("ziconotide"), Q_("10 mcg/mL")), (library.get("bupivacaine"), Q_("10 mg/mL"))]
    )
    rate = m.flow_for("ziconotide", Q_("2.5 mcg/d"))
    assert rate.to("mL/d").magnitude == pytest.approx(0.25)
    d = daily_dose(Schedule(continuous(rate)), m)
    assert d.nominal["ziconotide"].to("ug/d").magnitude == pytest.approx(2.5)
    assert d.nominal["bupivacaine"].to("mg/d").magnitude == pytest.approx(2.5)


def test_flex_periodic_single_exact_volume() -> None:
    day = day_program([(time(0), Q_("0.4 mL/d")), (time(8, 30), Q_("1 mL/d"))])
    sched = Schedule(
        weekly({}, day),
        periodic=(periodic_bolus(Q_("0.1 mL"), Q_("6 h"), Q_("30 min"), T0),),
        single=(single_bolus(Q_("0.2 mL"), T0.replace(hour=12), Q_("1 h")),),
    )
    # One day from 09:00: basal 1 mL/d × 15.5 h + 0.4 mL/d × 8.5 h = 0.64583 + 0.14167 = 0.7875
    # periodic at 09, 15, 21, 03 → 4 × 0.1 = 0.4; single 0.2 → total 1.3875 mL
    v = volume_delivered(sched, T0, T0.replace(day=24))
    assert v.to("mL").magnitude == pytest.approx(1.3875, abs=1e-9)
    # Halfway through the first periodic bolus (09:15): 0.05 mL bolus + 0.25 h × 1 mL/d basal
    v = volume_delivered(sched, T0, T0.replace(minute=15))
    assert v.magnitude == pytest.approx(0.05 + 0.25 / 24, abs=1e-9)


def test_weekday_specific_programs() -> None:
    low = day_program([(time(0), Q_("0.5 mL/d"))])
    high = day_program([(time(0), Q_("1 mL/d"))])
    model = DeliveryModel(Schedule(weekly({"sat": high, "sun": high}, low)))
    days = [d.magnitude for d in model.day_volumes()]
    assert days == pytest.approx([0.5] * 5 + [1.0, 1.0])
    # A full week: 5 × 0.5 + 2 × 1 = 4.5 mL
    assert model.volume(T0, T0.replace(day=30)).magnitude == pytest.approx(4.5)


def test_dose_delivered_follows_volume(library: DrugLibrary) -> None:
    m = make_admixture([(library.get("morphine"), Q_("25 mg/mL"))])
    doses = dose_delivered(Schedule(continuous(Q_("0.2 mL/d"))), m, T0, T0.replace(day=30))
    # 7 d × 0.2 mL/d × 25 mg/mL = 35 mg
    assert doses["morphine"].to("mg").magnitude == pytest.approx(35.0)


def test_worst_case_daily_volume_with_patient_bolus(library: DrugLibrary) -> None:
    m = make_admixture([(library.get("morphine"), Q_("10 mg/mL"))])
    bolus = patient_bolus(Q_("0.02 mL"), Q_("10 min"), Q_("5 h"), 10)
    # Lockout 5 h → ceil(24/5) = 5 boluses (< max 10); 5 × 0.02 = 0.1 mL on top of 1 mL/d.
    assert bolus.max_count_per_day == 5
    d = daily_dose(Schedule(continuous(Q_("1 mL/d"))), m, bolus)
    assert d.worst_case_volume.magnitude == pytest.approx(1.1)
    assert d.worst_case["morphine"].to("mg/d").magnitude == pytest.approx(11.0)


def test_time_to_deliver_inverts_the_integral() -> None:
    model = DeliveryModel(Schedule(continuous(Q_("0.5 mL/d"))))
    # 18 mL at 0.5 mL/d = 36 d
    t = model.time_to_deliver(T0, 18.0)
    assert t is not None
    assert abs((t - T0).total_seconds() - 36 * 86400) < 1.0
    assert DeliveryModel(Schedule(continuous(Q_("0 mL/d")))).time_to_deliver(T0, 1.0) is None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((Q_("0.1 mL"), Q_("6"), Q_("30 min")), "every"),
        ((Q_("0.1 mL"), Q_("30 s"), Q_("10 s")), "every"),
        ((Q_("0.1 mL"), Q_("1 h"), Q_("2 h")), "duration"),
    ],
)
def test_periodic_bolus_time_fields_name_their_unit(args: tuple, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError) as err:
        periodic_bolus(*args, T0)
    assert err.value.field.endswith(field)


def test_flex_must_start_at_midnight_and_have_at_most_24_steps() -> None:
    with pytest.raises(InputError, match="00:00"):
        day_program([(time(6), Q_("1 mL/d"))])
    with pytest.raises(InputError, match="at most 24"):
        day_program([(time(h, m), Q_("1 mL/d")) for h in range(13) for m in (0, 30)])


def test_negative_rate_and_lockout_shorter_than_bolus_refused() -> None:
    with pytest.raises(InputError, match="negative"):
        continuous(Q_("-1 mL/d"))
    with pytest.raises(InputError, match="lockout"):
        patient_bolus(Q_("0.1 mL"), Q_("30 min"), Q_("10 min"), 3)
