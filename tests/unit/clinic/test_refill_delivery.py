"""A refill sent over the link is recorded only when the pump confirmed it; refused or
uncertain ones store only the delivery; nothing is sent when the record would refuse."""

from collections.abc import Callable
from datetime import datetime

import pytest

from tests.unit.clinic.conftest import NURSE, VIEWER, FakeClock, setup_patient
from thecal.clinic.errors import ConcurrentEditError, PermissionDenied
from thecal.clinic.implant_link_model import WRITE_OUTCOMES, DeliveryOutcome
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device
from thecal.clinic.program_delivery import PumpWrite
from thecal.clinic.refill_delivery import refill_through_implant
from thecal.clinic.refill_workflow import RefillInput, preview_refill
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_


def _writer(outcome: DeliveryOutcome, sent: list[RefillInput]) -> Callable[..., PumpWrite]:
    def write(device: Device, entry: RefillInput) -> PumpWrite:
        sent.append(entry)
        return PumpWrite(outcome, outcome.value)

    return write


def _entry(uow: MemoryUnitOfWork, library: DrugLibrary, catalog: DeviceCatalog, pid: str,
           at: datetime) -> RefillInput:  # fmt: skip
    # 60 days of 0.3 mL/d from the 20 mL fill: 18 mL delivered, 2 mL expected; 1.6 mL withdrawn.
    entry = RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-1")
    with uow.reader() as repo:
        preview = preview_refill(repo, library, catalog, patient_id=pid, entry=entry, at=at,
                                 by="nina")  # fmt: skip
    reasons = {f.code.value: "checked (test)" for f in preview.needs_reason}
    return RefillInput(entry.withdrawn, entry.filled, entry.drug_lot, overrides=reasons)


@pytest.mark.parametrize("outcome", WRITE_OUTCOMES)
def test_recorded_only_when_confirmed(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    outcome: DeliveryOutcome,
) -> None:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    entry = _entry(uow, library, catalog, patient.id, clock.now)
    sent: list[RefillInput] = []
    out = refill_through_implant(uow, clock, library, catalog, actor=NURSE,
                                 patient_id=patient.id, entry=entry,
                                 write=_writer(outcome, sent))  # fmt: skip
    assert sent == [entry]
    with uow.reader() as repo:
        refills = repo.refills_for(patient.id)
        (delivery,) = repo.link_deliveries_for(patient.id)
    assert delivery.outcome is outcome and delivery.what == "refill"
    assert ("filled", "20 mL") in delivery.payload
    if outcome is DeliveryOutcome.CONFIRMED:
        assert out.refill is not None and refills == [out.refill.record]
    else:
        assert out.refill is None and refills == []


def test_nothing_sent_for_a_viewer_or_a_stale_version(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    entry = _entry(uow, library, catalog, patient.id, clock.now)
    sent: list[RefillInput] = []
    write = _writer(DeliveryOutcome.CONFIRMED, sent)
    with pytest.raises(PermissionDenied):
        refill_through_implant(uow, clock, library, catalog, actor=VIEWER,
                               patient_id=patient.id, entry=entry, write=write)  # fmt: skip
    with pytest.raises(ConcurrentEditError):
        refill_through_implant(uow, clock, library, catalog, actor=NURSE,
                               patient_id=patient.id, entry=entry, write=write,
                               patient_version=0)  # fmt: skip
    assert sent == []
