"""The demo clinic agrees with itself: counts, alarms only where the record implies them, the
case reports' dates, nothing in the future. Built once in memory (the recording unit of work
the seeding uses) with all 20 generated patients."""

from datetime import date, datetime, time, timedelta

import pytest

from thecal.adapters.composition import stimulator_context
from thecal.adapters.data_files import example_plan, load_catalog, load_library
from thecal.adapters.plan_files import parse_plan
from thecal.clinic.demo import DEMO_LOGINS, SEED_PATIENTS, load_demo
from thecal.clinic.demo_record import RecordingUnitOfWork, replay
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import DeviceKind
from thecal.clinic.workflows import RefillInput, preview_refill
from thecal.therapy.compare import above
from thecal.units import Q_

TODAY = date(2026, 11, 23)
MORNING = datetime.combine(TODAY, time(7, 0))  # when the demo decides its alarms


@pytest.fixture(scope="module")
def demo() -> RecordingUnitOfWork:
    uow = RecordingUnitOfWork()
    seen: list[str] = []
    load_demo(uow, load_library(), load_catalog(),
              lambda name: parse_plan(example_plan(f"{name}.toml")), TODAY, 20,
              stimulation=stimulator_context(), progress=seen.append)  # fmt: skip
    assert len(seen) == SEED_PATIENTS + 20  # progress: one call per patient
    return uow


def _expected_now(uow: RecordingUnitOfWork, patient_id: str) -> tuple[float, float]:
    """(expected reservoir at MORNING, the pump's low-reservoir alarm volume), mL."""
    with uow.reader() as repo:
        probe = preview_refill(
            repo, load_library(), load_catalog(), patient_id=patient_id,
            entry=RefillInput(Q_(0.0, "mL"), Q_(20.0, "mL"), "probe"), at=MORNING, by="test",
        )  # fmt: skip
    assert probe.forecast is not None
    return (float(probe.record.expected_remaining.to("mL").magnitude),
            float(probe.forecast.alarm_threshold.to("mL").magnitude))  # fmt: skip


def test_counts(demo: RecordingUnitOfWork) -> None:
    s = demo.state
    assert len(s.patients) == SEED_PATIENTS + 20
    assert {u.username for u in s.users.values()} == {x.user.username for x in DEMO_LOGINS}
    assert len(s.refills) > 100  # ~60-day refills over months to years for 23 pump patients
    # Every write recorded once, and audited once in memory: the replay writes the same.
    assert demo.writes == len(s.audit)


def test_low_reservoir_alarms_only_where_the_reservoir_is_low(demo: RecordingUnitOfWork) -> None:
    s = demo.state
    alarmed = {a.patient_id for a in s.alarms.values() if a.code == "LOW_RESERVOIR"}
    assert alarmed  # the demo shows some (patients whose refills stopped short of today)
    pump_patients = {
        d.patient_id for d in s.devices.values()
        if d.kind is DeviceKind.PUMP and d.removed_on is None
    }  # fmt: skip
    for pid in pump_patients:
        with demo.reader() as repo:
            if not repo.prescriptions_for(pid):
                continue
            refills = repo.refills_for(pid)
        expected, threshold = _expected_now(demo, pid)
        low = not above(Q_(expected, "mL"), Q_(threshold, "mL"))
        assert (pid in alarmed) == low, (s.patients[pid].mrn, expected, threshold)
        if low:
            # The calendar agrees: the refill was due by now (days to refill <= 0).
            last = refills[-1] if refills else None
            assert last is None or (last.refill_by is not None and last.refill_by <= MORNING)
    for alarm in s.alarms.values():
        assert alarm.raised_at <= MORNING
        assert alarm.device_id is not None and s.devices[alarm.device_id].kind is DeviceKind.PUMP


def test_nothing_happens_after_today(demo: RecordingUnitOfWork) -> None:
    end = datetime.combine(TODAY + timedelta(days=1), time(0, 0))
    s = demo.state
    assert all(r.performed_at < end for r in s.refills)
    assert all(d.implanted_on <= TODAY for d in s.devices.values())
    assert all(x.at < end for x in s.impedances)


def test_seed_001_dates_match_the_2017_case_report(demo: RecordingUnitOfWork) -> None:
    # Bamps et al., J Clin Case Rep 2017;7: a 58-year-old woman whose IPG was relocated; the
    # relocation cannot be later than the publication.
    s = demo.state
    p = next(x for x in s.patients.values() if x.mrn == "SEED-001")
    devices = [d for d in s.devices.values() if d.patient_id == p.id]
    relocation = max(d.implanted_on for d in devices)
    assert all(d.implanted_on < date(2017, 1, 1) for d in devices)
    assert relocation.year - (p.birth_year or 0) == 58  # 2016 - 1958
    comp = [c for c in s.complications if c.patient_id == p.id]
    assert comp and all(c.occurred_on < date(2017, 1, 1) for c in comp)


def test_seed_001_generator_names_no_anachronistic_product(demo: RecordingUnitOfWork) -> None:
    # The case report names no generator; Proclaim XR (FDA approval reported years after 2016)
    # would be an anachronism: the catalog's generic primary-cell entry stands in.
    s = demo.state
    p = next(x for x in s.patients.values() if x.mrn == "SEED-001")
    models = {
        d.model for d in s.devices.values() if d.patient_id == p.id and d.kind.value == "stimulator"
    }
    assert models == {"Medtronic primary-cell SCS IPG"}


def test_replay_writes_the_same_clinic(demo: RecordingUnitOfWork) -> None:
    # Replaying the log into a fresh store gives the same records (the seeding's second step).
    target = MemoryUnitOfWork()
    with target.transaction("setup", MORNING, "replay") as repo:
        replay(demo.log, lambda _who: repo)
    assert len(target.state.patients) == len(demo.state.patients)
    assert [r.id for r in target.state.refills] == [r.id for r in demo.state.refills]
    assert target.state.alarms.keys() == demo.state.alarms.keys()
