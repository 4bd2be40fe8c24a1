"""A concentration change over the link: refill, then program, then bridge; only what the
pump confirmed is recorded (the scenario and its arithmetic: test_refill_program.py)."""

from collections.abc import Mapping
from typing import Any

import pint
import pytest

from tests.unit.clinic.conftest import DOCTOR, NURSE, FakeClock, morphine_plan, setup_patient
from tests.unit.clinic.test_refill_program import AT, concentration_to, reasoned, stored
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device
from thecal.clinic.program_delivery import PumpWrite
from thecal.clinic.refill_concentration import concentration_change
from thecal.clinic.refill_program_delivery import (
    BRIDGE_BY_HAND,
    DeliveredChange,
    bridge_dose,
    bridge_plan,
    change_through_implant,
)
from thecal.clinic.refill_workflow import RefillInput
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import equal
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_

CONFIRMED, REFUSED = DeliveryOutcome.CONFIRMED, DeliveryOutcome.REFUSED
UNCERTAIN = DeliveryOutcome.UNCERTAIN


class Pump:
    """Fake link writers recording the order of what was sent."""

    def __init__(self, refill: DeliveryOutcome, program: DeliveryOutcome,
                 bridge: DeliveryOutcome = DeliveryOutcome.CONFIRMED) -> None:  # fmt: skip
        self.outcomes = {"refill": refill, "program": program, "bridge": bridge}
        self.sent: list[tuple[str, Any]] = []

    def _say(self, what: str, sent: Any) -> PumpWrite:
        self.sent.append((what, sent))
        return PumpWrite(self.outcomes[what], f"{what}: {self.outcomes[what].value}")

    def refill(self, device: Device, entry: RefillInput) -> PumpWrite:
        return self._say("refill", entry)

    def program(self, device: Device, plan: PlanFile, reasons: Mapping[str, str]) -> PumpWrite:
        return self._say("program", plan)

    def bridge(self, device: Device, volume: pint.Quantity, duration: pint.Quantity,
               reasons: Mapping[str, str]) -> PumpWrite:  # fmt: skip
        return self._say("bridge", (volume, duration))


def run(uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
        pump: Pump, new: str = "25 mg/mL") -> tuple[str, DeliveredChange]:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = AT
    change = concentration_to(uow, library, catalog, patient.id, new)
    entry = reasoned(uow, library, catalog, patient.id, change)
    out = change_through_implant(uow, clock, library, catalog, actor=DOCTOR,
                                 patient_id=patient.id, entry=entry, change=change,
                                 write_refill=pump.refill, write_program=pump.program,
                                 write_bridge=pump.bridge)  # fmt: skip
    return patient.id, out


def test_everything_confirmed_records_both_then_sends_the_bridge(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    pump = Pump(CONFIRMED, CONFIRMED)
    pid, out = run(uow, clock, library, catalog, pump)
    assert [w for w, _ in pump.sent] == ["refill", "program", "bridge"]
    # Bridge rate 0.3 mL/d, new rate 0.12 mL/d, 26.4 h = 1.1 d: the bolus on top of the basal
    # is (0.3 − 0.12) mL/d × 1.1 d = 0.198 mL over 26.4 h; with the basal 0.12 × 1.1 = 0.132
    # mL that is the 0.33 mL dead volume.
    volume, duration = pump.sent[2][1]
    assert equal(volume, Q_(0.198, "mL")) and equal(duration, Q_(26.4, "h"))
    assert out.program is not None and out.refill is not None and not out.old_program_running
    with uow.reader() as repo:
        deliveries = repo.link_deliveries_for(pid)
        (refill,) = repo.refills_for(pid)
    # The refill and the program share the record's time (stored in its transaction).
    by = {d.what: d for d in deliveries}
    assert {w: d.outcome for w, d in by.items()} == dict.fromkeys(
        ("refill", "program", "bridge"), CONFIRMED)  # fmt: skip
    assert by["refill"].at == by["program"].at == refill.performed_at
    assert by["program"].prescription_version == 2 == refill.prescription_version
    assert ("refill", refill.id) in by["bridge"].payload and len(deliveries) == 3
    assert stored(uow, pid) == (1, 2, 2)


@pytest.mark.parametrize("program", [REFUSED, UNCERTAIN])
def test_program_not_confirmed_records_the_refill_only(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    program: DeliveryOutcome,
) -> None:  # fmt: skip
    pump = Pump(CONFIRMED, program)
    pid, out = run(uow, clock, library, catalog, pump)
    assert [w for w, _ in pump.sent] == ["refill", "program"]  # no bridge
    assert out.old_program_running and out.bridge_write is None
    with uow.reader() as repo:
        (refill,) = repo.refills_for(pid)
        deliveries = repo.link_deliveries_for(pid)
    # The reservoir holds the NEW fill; the prescription (version 1) is unchanged.
    assert refill.concentrations == (("morphine", "25 mg/mL"),)
    assert refill.prescription_version == 1
    assert {d.what: d.outcome for d in deliveries} == {"refill": CONFIRMED, "program": program}
    assert stored(uow, pid) == (1, 1, 1)


@pytest.mark.parametrize("refill", [REFUSED, UNCERTAIN])
def test_refill_not_confirmed_sends_no_program_and_records_nothing(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    refill: DeliveryOutcome,
) -> None:  # fmt: skip
    pump = Pump(refill, CONFIRMED)
    pid, out = run(uow, clock, library, catalog, pump)
    assert [w for w, _ in pump.sent] == ["refill"] and out.refill is None
    with uow.reader() as repo:
        assert [(d.what, d.outcome) for d in repo.link_deliveries_for(pid)] == [("refill", refill)]
    assert stored(uow, pid) == (0, 1, 1)


def test_weaker_fill_bridge_is_not_a_bolus(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """10 → 5 mg/mL: new rate 3 mg/d ÷ 5 mg/mL = 0.6 mL/d; the bridge rate 3 mg/d ÷ 10 mg/mL
    = 0.3 mL/d is below it: no bolus can slow the pump, so nothing is sent for the bridge."""
    pump = Pump(CONFIRMED, CONFIRMED)
    _, out = run(uow, clock, library, catalog, pump, "5 mg/mL")
    assert [w for w, _ in pump.sent] == ["refill", "program"] and out.program is not None
    change = concentration_change(morphine_plan(), {"morphine": Q_(5, "mg/mL")}, library,
                                  catalog, catheter_volume=Q_(0.13, "mL"),
                                  internal_volume=Q_(0.2, "mL"))  # fmt: skip
    assert change is not None and bridge_dose(change) is None
    assert bridge_plan(change, linked=True).startswith(BRIDGE_BY_HAND)
    assert out.bridge.startswith(BRIDGE_BY_HAND) and BRIDGE_BY_HAND in out.program.change.reason


def test_nothing_sent_for_a_nurse(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = AT
    change = concentration_to(uow, library, catalog, patient.id)
    pump = Pump(CONFIRMED, CONFIRMED)
    with pytest.raises(PermissionDenied):
        change_through_implant(uow, clock, library, catalog, actor=NURSE, patient_id=patient.id,
                               entry=reasoned(uow, library, catalog, patient.id, change),
                               change=change, write_refill=pump.refill,
                               write_program=pump.program, write_bridge=pump.bridge)  # fmt: skip
    assert pump.sent == [] and stored(uow, patient.id) == (0, 1, 1)
