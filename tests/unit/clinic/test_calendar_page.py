from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.clinic import random_clinic
from tests.unit.clinic.test_registry import SETTINGS
from thecal.clinic.calendar import (
    CalendarEntry,
    RefillStatus,
    calendar_page,
    entry_for,
    refill_calendar,
)
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import DeviceKind
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.replacement import replacement_plans
from thecal.units import Q_, InputError

SOON = Q_(7, "d")
CLINIC = MemoryUnitOfWork()
random_clinic.build(CLINIC, seed=7, patients=300)


def brute_force(repo: ClinicRepository, today: date) -> list[CalendarEntry]:
    """Every drug-pump patient classified one by one, sorted like the calendar."""
    latest = {r.patient_id: r for r in sorted(repo.latest_refills(), key=lambda r: r.id)}
    for r in repo.latest_refills():  # ties on performed_at: the larger id is the latest
        have = latest[r.patient_id]
        if (r.performed_at, r.id) > (have.performed_at, have.id):
            latest[r.patient_id] = r
    pumps = {d.patient_id for d in repo.devices_in_place()
             if d.kind in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP)}  # fmt: skip
    out = [entry_for(p, latest.get(p.id), today, SOON)
           for p in repo.list_patients() if p.id in pumps]  # fmt: skip
    out.sort(key=lambda e: (e.status.rank, e.due or datetime.min, e.patient_id))
    return out


@settings(max_examples=60, deadline=None)
@given(
    statuses=st.sets(st.sampled_from(list(RefillStatus)), min_size=1),
    limit=st.integers(0, 80) | st.none(),
    offset=st.integers(0, 320),
    day=st.integers(-20, 40),
)
def test_a_page_is_the_slice_of_the_whole_calendar(
    statuses: set[RefillStatus], limit: int | None, offset: int, day: int
) -> None:
    today = date.fromordinal(random_clinic.TODAY.toordinal() + day)
    with CLINIC.reader() as repo:
        everything = brute_force(repo, today)
        page = calendar_page(repo, today, SOON, sorted(statuses), limit, offset)
    chosen = [e for e in everything if e.status in statuses]
    end = None if limit is None else offset + limit
    assert list(page.entries) == chosen[offset:end]
    assert page.total == len(chosen)
    assert {s: page.counts[s] for s in RefillStatus} == {
        s: sum(1 for e in everything if e.status is s) for s in RefillStatus
    }


def test_the_random_clinic_covers_every_status() -> None:
    with CLINIC.reader() as repo:
        page = calendar_page(repo, random_clinic.TODAY, SOON, limit=0)
        assert all(page.counts[s] > 0 for s in RefillStatus), page.counts
        # 300 patients: about 10 % have no pump and about 10 % of the rest were explanted.
        assert 200 < page.total < 270
        assert (
            refill_calendar(repo, random_clinic.TODAY, SOON)
            == calendar_page(repo, random_clinic.TODAY, SOON, limit=None).entries
        )


def test_paging_arguments_are_checked() -> None:
    with CLINIC.reader() as repo, pytest.raises(InputError, match=r"calendar\.offset"):
        calendar_page(repo, random_clinic.TODAY, SOON, offset=-1)
    with CLINIC.reader() as repo, pytest.raises(InputError, match=r"calendar\.limit"):
        calendar_page(repo, random_clinic.TODAY, SOON, limit=-5)


@pytest.mark.parametrize("limit", [0, 1, 5, 10, 40])
@pytest.mark.parametrize("day", [0, 365, 900])
def test_the_replacement_shortlist_is_the_head_of_the_full_list(
    catalog, limit: int, day: int
) -> None:
    today = date.fromordinal(random_clinic.TODAY.toordinal() + day)
    specs = {s.model: s for s in catalog.pumps}
    with CLINIC.reader() as repo:
        full = replacement_plans(repo, specs, today, SETTINGS)
        short = replacement_plans(repo, specs, today, SETTINGS, limit=limit)
    assert short == full[:limit]
    assert len({p.status for p in full}) >= 3  # the list mixes statuses, so the order matters
