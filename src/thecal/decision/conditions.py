"""The trigger language: small declarative conditions over the facts, never evaluated text.

A condition is a TOML table with exactly one of these keys:

- ``all = [...]`` / ``any = [...]``: every / at least one of the listed conditions;
- ``not = {...}``: the condition does not hold;
- ``fact = "name"`` with one test: ``is = true|false`` (a yes/no fact; ``is = true`` if no test
  is given), ``equals = "v"`` / ``in = [...]`` (a choice), ``has = "v"`` / ``has_any = [...]``
  (a set), ``above`` / ``below`` / ``at_or_above`` / ``at_or_below`` (a quantity with its unit,
  or a count). Comparisons go through :mod:`thecal.therapy.compare`: ``above`` is strictly
  above, ``at_or_below`` its complement; an absent value (the presentation does not say) never
  satisfies a comparison;
- ``symptom = [kinds]`` with optional ``place = [...]`` (pain), ``rash = true|false``
  (pruritus), ``progressive = true``, ``onset_within = "7 d"`` (onset at or below).

Evaluation returns ``None`` when the condition does not hold, else the facts that made it hold,
in words with their values.
"""

from dataclasses import dataclass
from typing import Any

import pint

from thecal.decision.facts import FACTS, facts_of, limit_quantity, say
from thecal.decision.presentation import PainPlace, Presentation, SymptomKind
from thecal.therapy.compare import above, above_count, at_or_above, below
from thecal.units import fmt

COMPARISONS = ("above", "below", "at_or_above", "at_or_below")
_TESTS = {
    "flag": ("is",),
    "choice": ("equals", "in"),
    "set": ("has", "has_any"),
    "quantity": COMPARISONS,
    "count": COMPARISONS,
}
SYMPTOM_WORDS = {
    "bladder": "bladder change",
    "bowel": "bowel change",
    "sensory_change": "sensory change (paraesthesia/numbness)",
    "spasticity": "returning spasticity",
}
_SIGN = {"above": ">", "below": "<", "at_or_above": "≥", "at_or_below": "≤"}


class ConditionError(ValueError):
    """A malformed condition: ``path`` names where in the trigger, ``message`` what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class All:
    parts: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    part: "Condition"


@dataclass(frozen=True)
class FactTest:
    fact: str
    test: str
    value: Any


@dataclass(frozen=True)
class SymptomTest:
    kinds: frozenset[str]
    places: frozenset[str] | None = None
    rash: bool | None = None
    progressive: bool | None = None
    onset_within: pint.Quantity | None = None


Condition = All | AnyOf | Not | FactTest | SymptomTest


def _strings(value: Any, allowed: tuple[str, ...], path: str) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise ConditionError(path, "expected a name or a list of names")
    for v in items:
        if v not in allowed:
            raise ConditionError(path, f"unknown value {v!r} (one of: {', '.join(allowed)})")
    return frozenset(items)


def parse_condition(data: Any, path: str) -> Condition:
    """Parse one condition table; a :class:`ConditionError` names ``path`` and the key."""
    if not isinstance(data, dict):
        raise ConditionError(path, "a condition is a table (all, any, not, fact or symptom)")
    heads = [k for k in ("all", "any", "not", "fact", "symptom") if k in data]
    if len(heads) != 1:
        unknown = sorted(set(data) - {"all", "any", "not", "fact", "symptom"})
        if unknown and not heads:
            raise ConditionError(f"{path}.{unknown[0]}", f"unknown key {unknown[0]!r}")
        raise ConditionError(path, "needs exactly one of all, any, not, fact, symptom")
    head = heads[0]
    if head in ("all", "any"):
        _only(data, {head}, path)
        parts = data[head]
        if not isinstance(parts, list) or not parts:
            raise ConditionError(f"{path}.{head}", "expected a non-empty list of conditions")
        parsed = tuple(parse_condition(c, f"{path}.{head}.{i}") for i, c in enumerate(parts))
        return All(parsed) if head == "all" else AnyOf(parsed)
    if head == "not":
        _only(data, {"not"}, path)
        return Not(parse_condition(data["not"], f"{path}.not"))
    if head == "symptom":
        return _symptom(data, path)
    return _fact(data, path)


def _only(data: dict[str, Any], keys: set[str], path: str) -> None:
    for k in data:
        if k not in keys:
            raise ConditionError(f"{path}.{k}", f"unknown key {k!r}")


def _symptom(data: dict[str, Any], path: str) -> SymptomTest:
    _only(data, {"symptom", "place", "rash", "progressive", "onset_within"}, path)
    kinds = _strings(data["symptom"], SymptomKind.__args__, f"{path}.symptom")  # type: ignore[attr-defined]
    places = None
    if "place" in data:
        places = _strings(data["place"], PainPlace.__args__, f"{path}.place")  # type: ignore[attr-defined]
    flags: dict[str, bool | None] = {}
    for key in ("rash", "progressive"):
        v = data.get(key)
        if v is not None and not isinstance(v, bool):
            raise ConditionError(f"{path}.{key}", "expected true or false")
        flags[key] = v
    onset = None
    if "onset_within" in data:
        try:
            onset = limit_quantity(FACTS["time_since_refill"], data["onset_within"], "")
        except ValueError as exc:
            raise ConditionError(f"{path}.onset_within", str(exc)) from None
    return SymptomTest(kinds, places, flags["rash"], flags["progressive"], onset)


def _fact(data: dict[str, Any], path: str) -> FactTest:
    name = data["fact"]
    if not isinstance(name, str) or name not in FACTS:
        raise ConditionError(f"{path}.fact", f"unknown fact {name!r}")
    kind = FACTS[name]
    allowed = _TESTS[kind.kind]
    tests = [k for k in data if k != "fact"]
    for k in tests:
        if k not in allowed:
            raise ConditionError(
                f"{path}.{k}", f"{k!r} does not apply to {name} (use {', '.join(allowed)})"
            )
    if not tests and kind.kind == "flag":
        return FactTest(name, "is", True)
    if len(tests) != 1:
        raise ConditionError(path, f"fact {name!r} needs exactly one of {', '.join(allowed)}")
    test, value = tests[0], data[tests[0]]
    where = f"{path}.{test}"
    if test == "is":
        if not isinstance(value, bool):
            raise ConditionError(where, "expected true or false")
    elif test in ("equals", "has"):
        value = next(iter(_strings(value, kind.values, where)))
        if isinstance(data[test], list):
            raise ConditionError(where, "expected one name")
    elif test in ("in", "has_any"):
        value = _strings(value, kind.values, where)
    elif kind.kind == "count":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConditionError(where, "expected a whole number")
    else:
        try:
            value = limit_quantity(kind, value, "")
        except ValueError as exc:
            raise ConditionError(where, str(exc)) from None
    return FactTest(name, test, value)


def _compare(value: Any, test: str, limit: Any) -> bool:
    if isinstance(limit, pint.Quantity):
        checks = {"above": above, "below": below, "at_or_above": at_or_above}
        if test == "at_or_below":
            return not above(value, limit)
        return bool(checks[test](value, limit))
    v, m = float(value), float(limit)
    return {
        "above": above_count(v, m),
        "below": above_count(m, v),
        "at_or_above": not above_count(m, v),
        "at_or_below": not above_count(v, m),
    }[test]


def _limit_words(limit: Any) -> str:
    if isinstance(limit, pint.Quantity):
        return say("", limit).strip()
    return str(limit)


def evaluate(c: Condition, facts: dict[str, Any], p: Presentation) -> list[str] | None:
    """The reasons ``c`` holds for ``p`` (``facts`` = :func:`facts_of` of ``p``), or None."""
    if isinstance(c, All):
        reasons: list[str] = []
        for part in c.parts:
            r = evaluate(part, facts, p)
            if r is None:
                return None
            reasons += r
        return reasons
    if isinstance(c, AnyOf):
        found = [r for part in c.parts if (r := evaluate(part, facts, p)) is not None]
        return [x for r in found for x in r] if found else None
    if isinstance(c, Not):
        return [] if evaluate(c.part, facts, p) is None else None
    if isinstance(c, SymptomTest):
        return _symptoms(c, p)
    value = facts[c.fact]
    if c.test == "is":
        return [say(c.fact, value)] if bool(value) == c.value else None
    if c.test == "equals":
        return [say(c.fact, value)] if value == c.value else None
    if c.test == "in":
        return [say(c.fact, value)] if value in c.value else None
    if c.test in ("has", "has_any"):
        wanted = {c.value} if c.test == "has" else c.value
        hit = frozenset(value & wanted)
        return [say(c.fact, hit)] if hit else None
    if value is None or not _compare(value, c.test, c.value):
        return None
    return [f"{say(c.fact, value)} ({_SIGN[c.test]} {_limit_words(c.value)})"]


def _symptoms(c: SymptomTest, p: Presentation) -> list[str] | None:
    hits = []
    for s in p.symptoms:
        if s.kind not in c.kinds:
            continue
        if c.places is not None and s.place not in c.places:
            continue
        if c.rash is not None and s.rash is not c.rash:
            continue
        if c.progressive is not None and s.progressive is not c.progressive:
            continue
        if c.onset_within is not None and (s.onset is None or above(s.onset, c.onset_within)):
            continue
        words = f"new {SYMPTOM_WORDS.get(s.kind, s.kind.replace('_', ' '))}"
        if s.place:
            words += f" ({s.place.replace('_', ' ')}{', ' + s.quality if s.quality else ''})"
        if s.rash is False:
            words += " without rash"
        if s.onset is not None:
            words += f", onset {fmt(s.onset)} ago"
        if s.progressive:
            words += ", progressive"
        hits.append(words)
    return hits or None


def holds(c: Condition, p: Presentation) -> list[str] | None:
    """:func:`evaluate` with the facts computed here."""
    return evaluate(c, facts_of(p), p)
