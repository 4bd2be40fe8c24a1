"""The decision rules the clinic runs: the shipped ``decision_rules.toml``, then
``$THECAL_DECISION_RULES`` (an institution file), read once per process."""

import os
from functools import cache
from pathlib import Path
from typing import Any

from thecal.adapters.data_files import packaged, read_toml
from thecal.clinic.assessment_workflow import AssessmentServices
from thecal.clinic.services import ClinicServices
from thecal.decision import Rule, build_rules

RULES_ENV = "THECAL_DECISION_RULES"


@cache
def clinic_rules() -> tuple[Rule, ...]:
    """Shipped rules then the institution's (RulesError/InputError on a bad file)."""
    layers: list[tuple[str, dict[str, Any]]] = [
        ("thecal/data/decision_rules.toml", packaged("decision_rules.toml"))
    ]
    extra = os.environ.get(RULES_ENV)
    if extra:
        layers.append((extra, read_toml(Path(extra), "rules")))
    return build_rules(layers)


def assessment_services(services: ClinicServices[Any]) -> AssessmentServices:
    """Recorded assessments on ``services``' unit of work with :func:`clinic_rules`."""
    return AssessmentServices(services.uow, services.clock, services.catalog, services.settings,
                              services.stimulation, clinic_rules())  # fmt: skip
