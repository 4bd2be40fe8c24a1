"""The refill with a concentration change and its new program on SQLite and PostgreSQL: one
transaction or nothing, the gate on the reservoir after the refill (the scenarios and their
arithmetic: tests/unit/clinic/test_refill_program.py)."""

from datetime import datetime

import pytest

from tests.unit.clinic import test_refill_program as scenario
from tests.unit.clinic import test_refill_program_delivery as over_link
from tests.unit.clinic.conftest import FakeClock
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.devices.catalog import DeviceCatalog
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 1, 2, 9, 0))


def test_refill_and_new_program_stored_together(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    scenario.test_refill_and_new_program_stored_together(uow, clock, library, catalog)  # type: ignore[arg-type]


def test_gate_judges_the_reservoir_after_the_refill(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    scenario.test_gate_judges_the_reservoir_after_the_refill(uow, clock, library, catalog)  # type: ignore[arg-type]


def test_old_concentration_program_on_the_new_fill_refuses_everything(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    scenario.test_old_concentration_program_on_the_new_fill_refuses_everything(
        uow,
        clock,
        library,
        catalog,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("spoil", ["no reason", "stale patient", "nurse"])
def test_all_or_nothing(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    spoil: str,
) -> None:  # fmt: skip
    scenario.test_all_or_nothing(uow, clock, library, catalog, spoil)  # type: ignore[arg-type]


@pytest.mark.parametrize("program", [DeliveryOutcome.REFUSED, DeliveryOutcome.UNCERTAIN])
def test_program_not_confirmed_records_the_refill_only(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    program: DeliveryOutcome,
) -> None:  # fmt: skip
    over_link.test_program_not_confirmed_records_the_refill_only(
        uow,
        clock,
        library,
        catalog,
        program,  # type: ignore[arg-type]
    )


def test_everything_confirmed_records_both_then_sends_the_bridge(
    uow: SqlUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    over_link.test_everything_confirmed_records_both_then_sends_the_bridge(
        uow,
        clock,
        library,
        catalog,  # type: ignore[arg-type]
    )
