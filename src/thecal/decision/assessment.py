"""The output of an assessment: an urgency, prompts, a differential, a work-up and statements
that must not be missed, each with its source and the data that raised it.

An assessment proposes; it never diagnoses (:data:`PROPOSES_NEVER_DIAGNOSES` travels with it).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

URGENCIES = ("routine", "within_week", "within_24h", "today", "emergency")
"""Least to most urgent; an assessment's urgency is the maximum over the rules that fired."""
Urgency = Literal["routine", "within_week", "within_24h", "today", "emergency"]
URGENCY_WORDS = {
    "routine": "routine",
    "within_week": "within a week",
    "within_24h": "within 24 h",
    "today": "today",
    "emergency": "emergency: now",
}
CATEGORIES = ("prompts", "differential", "workup", "must_not_miss")

PROPOSES_NEVER_DIAGNOSES = (
    "Thecal proposes prompts for a clinician; it never diagnoses. Each item is a reminder "
    "raised by the data shown with it, not a finding about the patient, and a normal device "
    "check never closes a work-up."
)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def rank(urgency: str) -> int:
    """Position of ``urgency`` in :data:`URGENCIES` (0 = routine)."""
    return URGENCIES.index(urgency)


class Item(BaseModel):
    """One prompt, differential entry, work-up step or must-not-miss statement."""

    model_config = _FROZEN

    code: str
    text: str
    source: str
    because: list[str]
    rules: list[str]
    cutoff: str


class FiredRule(BaseModel):
    """A rule that fired, with its own urgency and why."""

    model_config = _FROZEN

    id: str
    title: str
    urgency: Urgency
    because: list[str]
    source: str
    cutoff: str


class Assessment(BaseModel):
    """What the rules propose for one presentation."""

    model_config = _FROZEN

    urgency: Urgency
    prompts: list[Item]
    differential: list[Item]
    workup: list[Item]
    must_not_miss: list[Item]
    fired: list[FiredRule]
    statement: str = PROPOSES_NEVER_DIAGNOSES

    def items(self, category: str) -> list[Item]:
        """The items of one of :data:`CATEGORIES`."""
        items: list[Item] = getattr(self, category)
        return items

    def codes(self, category: str) -> list[str]:
        return [i.code for i in self.items(category)]
