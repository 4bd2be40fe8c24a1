"""Shared registration test data: raw fields as a form or CSV row gives them."""

from datetime import datetime
from typing import Any

from thecal.adapters.composition import clinic_settings, stimulator_context
from thecal.clinic.services import ClinicServices
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary

from .conftest import FakeClock

NOW = datetime(2024, 3, 1, 10, 0)


def raw_patient(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "mrn": "R-100",
        "name": "Synthetic Ada",
        "date_of_birth": "1961-05-04",
        "sex": "female",
        "contact": "+44 20 0000 0000",
        "diagnoses": "cancer-spinal-metastases; ckd:g3b; diabetes",
    }
    raw.update(over)
    return raw


def raw_pump(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "kind": "pump",
        "model": "synchromed ii 8637-20",
        "serial": "SN-9",
        "udi": "(01)00643169001234(21)SN-9",
        "pocket_side": "Left",
    }
    raw.update(over)
    return raw


def raw_catheter(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "kind": "catheter",
        "model": "Prometra catheter",
        "length": "50 cm",
        "tip_level": "t10",
    }
    raw.update(over)
    return raw


def services(uow: Any, library: DrugLibrary, catalog: DeviceCatalog) -> ClinicServices[Any]:
    return ClinicServices(
        uow=uow,
        clock=FakeClock(NOW),
        library=library,
        catalog=catalog,
        settings=clinic_settings(),
        stimulation=stimulator_context(),
    )
