"""The worklist's overdue refills are ONE counted item (the calendar lists them), every other
item keeps its own line, and :func:`page_of` pages the list with counts per kind: the pages
put back together are the list, whatever the limit (property), and a negative limit or
offset is an error naming the field."""

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.integration.test_worklist_store import _refill
from thecal.adapters.composition import clinic_settings
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Alarm
from thecal.clinic.services import ClinicServices
from thecal.clinic.worklist import WorkItem, page_of
from thecal.units import InputError

from .conftest import FakeClock, setup_patient

T0 = datetime(2024, 1, 1)


@pytest.fixture
def svc(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> ClinicServices[Any]:
    return ClinicServices(uow=uow, clock=clock, library=library, catalog=catalog,
                          settings=clinic_settings())  # fmt: skip


def test_overdue_refills_are_one_counted_item(svc, uow, clock, library, catalog) -> None:
    a, pump_a = setup_patient(uow, clock, library, catalog, "A")
    b, _ = setup_patient(uow, clock, library, catalog, "B")
    with uow.transaction("system", clock(), "alarm") as repo:
        repo.add_alarm(Alarm(a.id, "MOTOR_STALL", "critical", "stall", clock(), pump_a.id))
    # Refilled 2024-03-02 09:00 with 20 mL at 0.3 mL/d down to the 2 mL alarm: refill by
    # 2024-05-01 09:00 (18 mL / 0.3 mL/d = 60 d). On 2024-06-01 both are overdue.
    clock.now = datetime(2024, 3, 2, 9, 0)
    for pid in (a.id, b.id):
        _refill(uow, clock, library, catalog, pid, 2.0)
    clock.now = datetime(2024, 6, 1, 9, 0)
    items = svc.worklist()
    assert [(i.kind, i.count) for i in items] == [("alarm", 1), ("refill-overdue", 2)]
    overdue = items[1]
    assert overdue.patient_id is None and overdue.ref_id == "overdue"
    assert overdue.since == datetime(2024, 5, 1, 9, 0)  # the oldest due date
    assert overdue.message.startswith("2 refills are overdue; the oldest was due 2024-05-01 09:00")
    page = page_of(items, 1, 0)
    assert page.counts == {"alarm": 1, "refill-overdue": 2} and page.total == 2
    assert page.levels == {"critical": 1, "overdue": 1}
    assert [i.kind for i in page.items] == ["alarm"]
    clock.now = datetime(2024, 4, 30, 9, 0)  # the day before: nothing overdue, no item
    assert [i.kind for i in svc.worklist()] == ["alarm"]


def _item(n: int) -> WorkItem:
    kind = ("alarm", "reconciliation", "assessment")[n % 3]
    return WorkItem(f"p{n}", kind, "hard", "X", "m", T0 + timedelta(minutes=n), "s", str(n))


@given(st.integers(0, 40), st.integers(1, 12))
def test_pages_put_back_together_are_the_list(n: int, limit: int) -> None:
    items = [_item(i) for i in range(n)]
    pages = [page_of(items, limit, off) for off in range(0, n + limit, limit)]
    assert [i for p in pages for i in p.items] == items  # no item lost or repeated
    assert all(p.total == n and sum(p.counts.values()) == n for p in pages)


def test_limit_and_offset_edges() -> None:
    items = [_item(i) for i in range(3)]
    assert page_of(items, 0, 0).items == () and page_of(items, 0, 0).total == 3
    assert page_of(items, 3, 3).items == ()  # just past the end: empty, not an error
    assert page_of(items, 3, 2).items == (items[2],)
    for limit, offset, field in ((-1, 0, "worklist.limit"), (1, -1, "worklist.offset")):
        with pytest.raises(InputError) as e:
            page_of(items, limit, offset)
        assert e.value.field == field
    assert date(2024, 1, 1) == T0.date()
