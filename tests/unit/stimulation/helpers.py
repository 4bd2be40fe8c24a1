"""Build, resolve and check stimulation programs from plain dicts (the file's shape)."""

import copy
from typing import Any

from thecal.adapters.stimulator_files import load_stimulator_catalog, parse_stimulation
from thecal.stimulation.catalog import StimulatorCatalog, build_stimulator_catalog
from thecal.stimulation.gate import StimulationCheck, check_program
from thecal.stimulation.resolve import ResolvedStimulation, resolve
from thecal.therapy.findings import Code

SHIPPED = load_stimulator_catalog()

# The worked example: a 1.3 mm x 3 mm ring contact, area pi x 0.13 cm x 0.3 cm
# = 0.12252 cm2.
RING = {"name": "L1", "kind": "percutaneous", "contacts": 8, "diameter": "1.3 mm",
        "contact_length": "3 mm"}  # fmt: skip


def area(**changes: Any) -> dict[str, Any]:
    """A tonic current-mode area: 5 mA, 300 us, 50 Hz, cathode L1:1, anode L1:2."""
    base: dict[str, Any] = {
        "name": "A",
        "amplitude": "5 mA",
        "pulse_width": "300 us",
        "rate": "50 Hz",
        "contacts": [
            {"lead": "L1", "index": 1, "polarity": "cathode"},
            {"lead": "L1", "index": 2, "polarity": "anode"},
        ],
    }
    base.update(changes)
    return base


def program(*areas: dict[str, Any], ipg: dict[str, Any] | None = None,
            leads: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "title": "test",
        "ipg": ipg or {"model": "OpenNerve IPG"},
        "leads": copy.deepcopy(leads or [RING]),
        "areas": list(areas) or [area()],
    }


def resolved(data: dict[str, Any], catalog: StimulatorCatalog = SHIPPED) -> ResolvedStimulation:
    return resolve(parse_stimulation(data), catalog)


def check(data: dict[str, Any], catalog: StimulatorCatalog = SHIPPED) -> StimulationCheck:
    r = resolved(data, catalog)
    return check_program(r.program, r.contact_areas, r.ipg, catalog.limits)


def codes(result: StimulationCheck) -> set[Code]:
    return {f.code for f in result.findings}


def catalog_with(limits: dict[str, Any] | None = None, **sections: Any) -> StimulatorCatalog:
    """The shipped catalog with an institution layer (``[limits]`` keys, or sections)."""
    from thecal.adapters.data_files import packaged

    layer: dict[str, Any] = dict(sections)
    if limits:
        layer["limits"] = limits
    return build_stimulator_catalog(
        [("shipped", packaged("stimulators.toml")), ("institution", layer)]
    )
