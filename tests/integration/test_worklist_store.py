"""The worklist's light reads (clinic/worklist_ports.py) in SQL give what the full reads give:
the findings of each patient's latest refill (only refills with findings), and the
stimulators among the devices in place. SQLite file and PostgreSQL."""

from datetime import datetime

from tests.unit.clinic.conftest import NURSE, FakeClock, setup_patient
from tests.unit.clinic.stim_fixtures import stim_patient
from thecal.clinic.model import DeviceKind
from thecal.clinic.refill_workflow import RefillInput, preview_refill, record_refill
from thecal.devices.catalog import DeviceCatalog
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_


def _refill(uow, clock, library, catalog, pid: str, withdrawn: float) -> None:  # type: ignore[no-untyped-def]
    entry = RefillInput(Q_(withdrawn, "mL"), Q_(20.0, "mL"), "LOT-1")
    with uow.reader() as repo:
        preview = preview_refill(repo, library, catalog, patient_id=pid, entry=entry,
                                 at=clock.now, by="nina")  # fmt: skip
    reasons = {f.code.value: "checked (test)" for f in preview.needs_reason}
    entry = RefillInput(entry.withdrawn, entry.filled, entry.drug_lot, overrides=reasons)
    record_refill(uow, clock, library, catalog, actor=NURSE, patient_id=pid, entry=entry)


def test_light_reads_match_the_full_reads(
    uow: SqlUnitOfWork, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    a, _ = setup_patient(uow, clock, library, catalog, "A")
    b, _ = setup_patient(uow, clock, library, catalog, "B")
    setup_patient(uow, clock, library, catalog, "C")  # no refill at all
    stim_patient(uow, clock)
    clock.now = datetime(2024, 3, 2, 9, 0)
    # 60 days at 0.3 mL/d from 20 mL: 2 mL expected. 0.5 mL withdrawn is a discrepancy
    # (a finding); then A's latest refill, 10 days later, has none of its own.
    _refill(uow, clock, library, catalog, a.id, 0.5)
    _refill(uow, clock, library, catalog, b.id, 0.5)
    clock.now = datetime(2024, 3, 12, 9, 0)
    _refill(uow, clock, library, catalog, a.id, 17.0)
    with uow.reader() as repo:
        full = {(r.patient_id, r.id, r.performed_at, r.findings)
                for r in repo.latest_refills() if r.findings}  # fmt: skip
        light = {(r.patient_id, r.refill_id, r.performed_at, r.findings)
                 for r in repo.latest_refill_findings()}  # fmt: skip
        stims = [d for d in repo.devices_in_place() if d.kind is DeviceKind.STIMULATOR]
        assert list(repo.stimulators_in_place()) == stims and len(stims) == 1
    assert light == full
    assert b.id in {p for p, *_ in light}  # B's only refill has findings
