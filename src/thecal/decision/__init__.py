"""Decision support for new symptoms, pocket findings and replacement planning: sourced rules
in a data file, evaluated by a pure function. It proposes prompts; it never diagnoses."""

from thecal.decision.assessment import (
    CATEGORIES,
    PROPOSES_NEVER_DIAGNOSES,
    URGENCIES,
    URGENCY_WORDS,
    Assessment,
    FiredRule,
    Item,
)
from thecal.decision.engine import assess
from thecal.decision.presentation import Presentation, presentation_from_mapping
from thecal.decision.rules import Rule, build_rules

__all__ = [
    "CATEGORIES",
    "PROPOSES_NEVER_DIAGNOSES",
    "URGENCIES",
    "URGENCY_WORDS",
    "Assessment",
    "FiredRule",
    "Item",
    "Presentation",
    "Rule",
    "assess",
    "build_rules",
    "presentation_from_mapping",
]
