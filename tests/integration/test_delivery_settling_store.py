"""Uncertain deliveries settled by the next interrogation, on SQLite and PostgreSQL: the same
scenarios as on the memory store (tests/unit/clinic/test_delivery_settling.py), with the
virtual pump's acknowledgement dropped."""

from datetime import datetime

import pytest

from tests.unit.clinic.conftest import FakeClock
from tests.unit.clinic.test_delivery_settling import (
    program_not_taken_is_settled_not_applied,
    program_taken_is_recorded,
    refill_settled_by_the_log,
)
from thecal.devices.catalog import DeviceCatalog
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 1, 2, 9, 0))


def test_program_taken_is_recorded(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    program_taken_is_recorded(uow, clock, library, catalog)
    assert uow.verify_audit().ok


def test_program_not_taken(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    program_not_taken_is_settled_not_applied(uow, clock, library, catalog)


@pytest.mark.parametrize("applied", [True, False])
def test_refill_settled_by_the_log(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    applied: bool,
) -> None:  # fmt: skip
    refill_settled_by_the_log(uow, clock, library, catalog, applied)
