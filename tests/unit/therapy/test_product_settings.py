"""Product-choice limits live in data (drugs.toml [settings], clinic.toml) with their source,
are applied at their edge (the limit accepted, one more refused), and an institution's value
replaces the shipped one."""

from datetime import date, timedelta
from typing import Any

import pytest

from thecal.adapters.data_files import packaged
from thecal.clinic.calendar import RefillStatus, classify
from thecal.clinic.settings import build_clinic_settings
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import MAX_DRUGS
from thecal.therapy.library import DrugLibrary, LibraryError, build_library
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.therapy.plan_model import Plan
from thecal.therapy.schedule import MAX_STEPS_PER_DAY
from thecal.units import Q_, InputError

DRUGS = ["morphine", "bupivacaine", "clonidine", "baclofen", "hydromorphone"]
CONC = {"morphine": "10 mg/mL", "bupivacaine": "10 mg/mL", "clonidine": "1 mg/mL",
        "baclofen": "0.5 mg/mL", "hydromorphone": "2 mg/mL"}  # fmt: skip


def _plan(n_drugs: int = 1, n_steps: int = 1) -> Plan:
    # Steps every 30 min from 00:00: n_steps distinct starts within one day (n_steps <= 48).
    steps = [{"start": f"{i // 2:02d}:{30 * (i % 2):02d}", "rate": "0.3 mL/d"}
             for i in range(n_steps)]  # fmt: skip
    raw: dict[str, Any] = {
        "at": "2024-03-02T09:00:00",
        "pump": {"model": "SynchroMed II 8637-20"},
        "admixture": [{"drug": d, "concentration": CONC[d]} for d in DRUGS[:n_drugs]],
        "schedule": {"mode": "flex", "steps": steps},
    }
    return PlanFile.model_validate(raw).to_typed()


def _institution(**values: Any) -> DrugLibrary:
    layer = {"settings": {**values, **{f"{k}_source": "institution policy" for k in values}}}
    return build_library([("drugs.toml", packaged("drugs.toml")), ("inst.toml", layer)])


def test_shipped_values_are_product_choices_equal_to_the_code_defaults() -> None:
    settings = packaged("drugs.toml")["settings"]
    assert settings["max_admixture_drugs"] == MAX_DRUGS == 4
    assert settings["max_flex_steps_per_day"] == MAX_STEPS_PER_DAY == 24
    for key in ("max_admixture_drugs_source", "max_flex_steps_per_day_source"):
        assert settings[key].startswith("Product choice:")
    clinic = build_clinic_settings("clinic.toml", packaged("clinic.toml"))
    assert clinic.due_soon_window == Q_(7, "d")
    assert clinic.due_soon_window_source.startswith("Product choice:")


def test_admixture_drug_limit_edge(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    assert len(resolve(_plan(n_drugs=4), library, catalog).admixture.ingredients) == 4
    with pytest.raises(InputError, match="has 5 drugs"):
        resolve(_plan(n_drugs=5), library, catalog)


def test_flex_step_limit_edge(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    resolved = resolve(_plan(n_steps=24), library, catalog)
    assert len(resolved.schedule.basal.days[0].steps) == 24
    with pytest.raises(InputError, match="has 25 steps"):
        resolve(_plan(n_steps=25), library, catalog)


def test_institution_values_are_used(catalog: DeviceCatalog) -> None:
    wider = _institution(max_admixture_drugs=5, max_flex_steps_per_day=25)
    assert wider.settings.max_admixture_drugs_source == "institution policy"
    assert len(resolve(_plan(n_drugs=5, n_steps=25), wider, catalog).admixture.ingredients) == 5
    tighter = _institution(max_admixture_drugs=2, max_flex_steps_per_day=12)
    resolve(_plan(n_drugs=2, n_steps=12), tighter, catalog)
    with pytest.raises(InputError, match="has 3 drugs"):
        resolve(_plan(n_drugs=3), tighter, catalog)
    with pytest.raises(InputError, match="has 13 steps"):
        resolve(_plan(n_steps=13), tighter, catalog)


@pytest.mark.parametrize("value", [0, -1, True, "4", 2.5])
def test_bad_limit_values_are_refused(value: Any) -> None:
    with pytest.raises(LibraryError, match=r"inst\.toml: settings\.max_admixture_drugs"):
        _institution(max_admixture_drugs=value)


def test_limit_without_its_source_is_refused() -> None:
    layer = {"settings": {"max_flex_steps_per_day": 12}}
    with pytest.raises(LibraryError, match=r"settings\.max_flex_steps_per_day_source"):
        build_library([("drugs.toml", packaged("drugs.toml")), ("inst.toml", layer)])


def test_due_soon_window_edge_and_institution_value() -> None:
    today = date(2026, 11, 23)
    shipped = build_clinic_settings("clinic.toml", packaged("clinic.toml"))
    soon = timedelta(days=float(shipped.due_soon_window.to("d").magnitude))
    assert classify(today + timedelta(days=7), today, soon) is RefillStatus.DUE_SOON
    assert classify(today + timedelta(days=8), today, soon) is RefillStatus.SCHEDULED
    layer = {"due_soon_window": "14 d", "due_soon_window_source": "institution policy"}
    own = build_clinic_settings("inst", {**packaged("clinic.toml"), **layer})
    assert own.due_soon_window == Q_(14, "d")
    for bad in ("0 d", "7 mL"):
        with pytest.raises(InputError, match="inst: due_soon_window"):
            build_clinic_settings("inst", {**packaged("clinic.toml"), "due_soon_window": bad})
