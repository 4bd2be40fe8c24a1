"""The stimulator catalog: every value has a source, nothing not public is shipped, and an
institution may override (never above the k where damage was seen)."""

from typing import Any

import pytest

from thecal.adapters.data_files import packaged
from thecal.stimulation.catalog import (
    BatteryKind,
    LeadKind,
    StimulatorCatalogError,
    build_stimulator_catalog,
)

from .helpers import SHIPPED, catalog_with


def test_shipped_catalog() -> None:
    assert SHIPPED.limits.shannon_k == 1.5 and SHIPPED.limits.shannon_k_damage == 1.85
    assert SHIPPED.limits.charge_density_warning.to("uC/cm**2").magnitude == 30
    assert "PRODUCT CHOICE" in SHIPPED.limits.sources["shannon_k"]
    # A lead's kind is shipped only with a source: the 3387's ring contacts (OSS-DBS); no
    # reference note says whether the six SCS leads are percutaneous or paddle.
    kinds = {lead.model: lead.kind for lead in SHIPPED.leads}
    assert kinds.pop("Medtronic 3387") is LeadKind.PERCUTANEOUS
    assert set(kinds) == {"Vectris 977A2", "Octrode", "Linear", "Specify", "Artisan", "Penta"}
    assert set(kinds.values()) == {None}
    assert "OSS-DBSv2" in SHIPPED.lead("Medtronic 3387", "lead").source("kind")
    assert {i.battery for i in SHIPPED.ipgs} >= {BatteryKind.PRIMARY, BatteryKind.RECHARGEABLE}
    opennerve = SHIPPED.ipg("opennerve ipg", "ipg.model")
    assert opennerve.get("amplitude_max").to("mA").magnitude == 5.0
    assert "app_func_parameter.c" in opennerve.source("amplitude_max")
    for spec in (*SHIPPED.leads, *SHIPPED.ipgs):
        kind = {"kind"} if getattr(spec, "kind", None) is not None else set()
        assert set(spec.values) | kind == set(spec.sources)  # every value has its source
    # Not public for any shipped IPG or SCS lead: never a default (stimulation notes §1.1).
    for ipg in SHIPPED.ipgs:
        for key in ("available_voltage", "capacity", "efficiency", "quiescent_power"):
            assert ipg.get(key) is None, (ipg.model, key)
    for lead in SHIPPED.leads:
        if lead.model != "Medtronic 3387":
            assert lead.get("diameter") is None and lead.get("contact_area") is None


def _layer(**raw: Any) -> list[tuple[str, dict[str, Any]]]:
    return [("shipped", packaged("stimulators.toml")), ("inst.toml", raw)]


def test_a_value_without_source_is_refused() -> None:
    with pytest.raises(StimulatorCatalogError) as exc:
        build_stimulator_catalog(_layer(ipgs=[{"model": "X", "amplitude_max": "5 mA"}]))
    assert exc.value.errors[0].field == "inst.toml: ipgs[0].amplitude_max_source"


def test_institution_overrides_by_model_and_limits_by_key() -> None:
    c = catalog_with(
        limits={"shannon_k": 1.85, "shannon_k_source": "our protocol"},
        ipgs=[{"model": "Eterna", "available_voltage": "12 V",
               "available_voltage_source": "vendor letter"}],
    )  # fmt: skip
    assert c.limits.shannon_k == 1.85 and c.limits.charge_density_warning.magnitude == 30
    eterna = c.ipg("Eterna", "ipg.model")
    assert eterna.get("available_voltage").magnitude == 12
    assert eterna.battery is BatteryKind.RECHARGEABLE  # kept from the shipped entry


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"shannon_k": 1.8501, "shannon_k_source": "x"}, "inst.toml: limits.shannon_k"),
        ({"charge_density_warning": "0 uC/cm2", "charge_density_warning_source": "x"},
         "inst.toml: limits.charge_density_warning"),
        ({"charge_density_warning": "30 uC", "charge_density_warning_source": "x"},
         "inst.toml: limits.charge_density_warning"),
    ],
)  # fmt: skip
def test_bad_limits(limits: dict[str, Any], field: str) -> None:
    with pytest.raises(StimulatorCatalogError) as exc:
        build_stimulator_catalog(_layer(limits=limits))
    assert exc.value.errors[0].field == field
    # k exactly at the damage threshold is allowed (the institution's choice).
    assert catalog_with(limits={"shannon_k": 1.85, "shannon_k_source": "x"}).limits.shannon_k


def test_unknown_keys_and_kinds() -> None:
    with pytest.raises(StimulatorCatalogError) as exc:
        build_stimulator_catalog(_layer(leads=[{"model": "Y", "kind": "wire", "colour": 1}]))
    fields = [e.field for e in exc.value.errors]
    assert "inst.toml: leads[0].colour" in fields and "inst.toml: leads[0].kind" in fields


def test_a_lead_kind_needs_its_source() -> None:
    with pytest.raises(StimulatorCatalogError) as exc:
        build_stimulator_catalog(_layer(leads=[{"model": "Octrode", "kind": "percutaneous"}]))
    assert [e.field for e in exc.value.errors] == ["inst.toml: leads[0].kind_source"]
    c = catalog_with(leads=[{"model": "Octrode", "kind": "percutaneous",
                             "kind_source": "our purchasing record"}])  # fmt: skip
    assert c.lead("Octrode", "lead").kind is LeadKind.PERCUTANEOUS


def test_an_overridden_value_needs_its_own_source() -> None:
    # The shipped OpenNerve amplitude_max cites its firmware; a new value must not inherit it.
    with pytest.raises(StimulatorCatalogError) as exc:
        build_stimulator_catalog(_layer(ipgs=[{"model": "OpenNerve IPG", "amplitude_max": "6 mA"}]))
    assert exc.value.errors[0].field == "inst.toml: ipgs[0].amplitude_max_source"
    with pytest.raises(StimulatorCatalogError) as exc:
        build_stimulator_catalog(_layer(limits={"shannon_k": 1.2}))
    assert exc.value.errors[0].field == "inst.toml: limits.shannon_k_source"


def test_malformed_sections() -> None:
    with pytest.raises(StimulatorCatalogError) as exc:
        build_stimulator_catalog(_layer(leads=5, limits=[1]))
    assert [e.field for e in exc.value.errors] == ["inst.toml: leads", "inst.toml: limits"]
