"""A small demo clinic in memory (2 generated patients besides the case reports, stimulators
with leads and readings) with one pump interrogation added, built once per module."""

from datetime import date, datetime

import pytest

from thecal.adapters.composition import stimulator_context
from thecal.adapters.data_files import example_plan, load_catalog, load_library
from thecal.adapters.plan_files import parse_plan
from thecal.clinic.demo import load_demo
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import DeviceKind
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary

TODAY = date(2026, 11, 23)
# The implant's log as the programmer stores it: one completed bolus of 0.25 mL, one refused.
LOG = [
    {"seq": 41, "at": "2026-11-22T20:15:00", "kind": "bolus end",
     "message": "patient bolus complete", "values": [["volume", 0.25, "mL"]]},
    {"seq": 42, "at": "2026-11-22T20:20:00", "kind": "bolus refused",
     "message": "lockout", "values": []},
]  # fmt: skip


class Clinic:
    def __init__(self) -> None:
        self.library: DrugLibrary = load_library()
        self.catalog: DeviceCatalog = load_catalog()
        self.uow = MemoryUnitOfWork()
        load_demo(self.uow, self.library, self.catalog,
                  lambda name: parse_plan(example_plan(f"{name}.toml")), TODAY, 2,
                  stimulation=stimulator_context())  # fmt: skip
        with self.uow.reader() as repo:
            self.ids = {p.mrn: p.id for p in repo.list_patients()}
            nurse = repo.user_by_name("nurse")
            pump = next(d for d in repo.devices_for(self.ids["DEMO-0002"])
                        if d.kind is DeviceKind.PUMP and d.in_place)  # fmt: skip
        assert nurse is not None
        status = {
            "serial": pump.serial, "model": pump.model, "delivering": True,
            "reservoir_estimate": {"value": 12.5, "unit": "mL"},
            "delivered_total": {"value": 301.25, "unit": "mL"},
            "eri_at": "2031-05-01T00:00:00", "alarms": [],
        }  # fmt: skip
        record_interrogation(self.uow, lambda: datetime(2026, 11, 23, 10, 30), nurse,
                             self.ids["DEMO-0002"], pump.serial, status, LOG)  # fmt: skip


@pytest.fixture(scope="module")
def clinic() -> Clinic:
    return Clinic()
