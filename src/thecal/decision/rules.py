"""Decision rules: the model, the loader of the shipped file, and institution overrides.

The shipped rules (``thecal/data/decision_rules.toml``) come first. An institution file may

- add rules (``[[rule]]`` with an id the shipped file does not use), and
- tighten a shipped rule (``[[tighten]]`` with its ``id``): raise its urgency, fire it in more
  cases (``also_when``: the rule fires when its own trigger *or* this one holds), add prompts,
  differential entries, work-up steps or must-not-miss statements.

Loosening is refused with an error naming the rule: a lower urgency, a replaced or narrowed
trigger (``when``), removing or rewording a shipped item (an item code the rule already has).
Every error names the file, the rule and the key (``InputError.field``).
"""

import re
from dataclasses import dataclass, field, replace
from typing import Any

from thecal.decision.assessment import URGENCIES, rank
from thecal.decision.conditions import AnyOf, Condition, ConditionError, parse_condition
from thecal.units import InputError

ITEM_KEYS = ("prompt", "differential", "workup", "must_not_miss")
"""Item tables of a rule (singular in the file; the assessment lists them in the plural)."""
_RULE_KEYS = {"id", "title", "urgency", "source", "cutoff", "when", *ITEM_KEYS}
_TIGHTEN_KEYS = {"id", "urgency", "also_when", "source", *ITEM_KEYS}
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_CODE = re.compile(r"[a-z][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class Output:
    """One item a rule raises; ``when`` (optional) narrows it further (e.g. with a cancer
    history only); ``source`` defaults to the rule's."""

    code: str
    text: str
    when: Condition | None = None
    source: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    urgency: str
    when: Condition
    source: str
    cutoff: str
    items: dict[str, tuple[Output, ...]] = field(default_factory=dict)
    origin: str = ""


def _text(data: dict[str, Any], key: str, where: str, *, limit: int = 2000) -> str:
    v = data.get(key)
    if not isinstance(v, str) or not v.strip():
        raise InputError(f"{where}.{key}", "missing or empty", "text")
    if len(v) > limit:
        raise InputError(f"{where}.{key}", f"longer than {limit} characters")
    return v.strip()


def _urgency(data: dict[str, Any], where: str) -> str:
    u = data.get("urgency")
    if u not in URGENCIES:
        raise InputError(f"{where}.urgency", f"got {u!r}", " | ".join(URGENCIES))
    return str(u)


def _condition(data: Any, where: str, rule_id: str) -> Condition:
    try:
        return parse_condition(data, where)
    except ConditionError as exc:
        raise InputError(exc.path, f"{exc.message} (rule {rule_id})") from None


def _items(data: dict[str, Any], where: str, rule_id: str) -> dict[str, tuple[Output, ...]]:
    items: dict[str, tuple[Output, ...]] = {}
    for key in ITEM_KEYS:
        raw = data.get(key, [])
        if not isinstance(raw, list):
            raise InputError(f"{where}.{key}", f"expected a list of tables ([[rule.{key}]])")
        outs = []
        for i, entry in enumerate(raw):
            at = f"{where}.{key}.{i}"
            if not isinstance(entry, dict):
                raise InputError(at, "expected a table with code and text")
            for k in entry:
                if k not in ("code", "text", "when", "source"):
                    raise InputError(f"{at}.{k}", f"unknown key {k!r} (rule {rule_id})")
            code = _text(entry, "code", at, limit=64)
            if not _CODE.fullmatch(code):
                raise InputError(f"{at}.code", f"got {code!r}", "lower-case words with '-'")
            when = _condition(entry["when"], f"{at}.when", rule_id) if "when" in entry else None
            source = _text(entry, "source", at) if "source" in entry else None
            outs.append(Output(code, _text(entry, "text", at), when, source))
        items[key] = tuple(outs)
    return items


def _rule(data: Any, where: str, origin: str) -> Rule:
    if not isinstance(data, dict):
        raise InputError(where, "expected a table")
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        raise InputError(f"{where}.id", f"got {rule_id!r}", "an id such as 'R1' or 'LOCAL-1'")
    where = f"{where} ({rule_id})"
    for k in data:
        if k not in _RULE_KEYS:
            raise InputError(f"{where}.{k}", f"unknown key {k!r} in rule {rule_id}")
    if "when" not in data:
        raise InputError(f"{where}.when", f"rule {rule_id} has no trigger")
    rule = Rule(
        id=rule_id,
        title=_text(data, "title", where, limit=120),
        urgency=_urgency(data, where),
        when=_condition(data["when"], f"{where}.when", rule_id),
        source=_text(data, "source", where),
        cutoff=_text(data, "cutoff", where),
        items=_items(data, where, rule_id),
        origin=origin,
    )
    if not any(rule.items.values()):
        raise InputError(where, f"rule {rule_id} raises nothing (add a prompt)")
    return rule


def _tighten(rule: Rule, data: dict[str, Any], where: str) -> Rule:
    where = f"{where} ({rule.id})"
    for k in data:
        if k == "when":
            raise InputError(
                f"{where}.when",
                f"loosening a shipped rule is refused: {rule.id}'s trigger cannot be replaced "
                "(use also_when to fire it in more cases)",
            )
        if k.startswith("remove") or k not in _TIGHTEN_KEYS:
            raise InputError(
                f"{where}.{k}",
                f"refused: {k!r} is not a way to tighten {rule.id} "
                f"(allowed: {', '.join(sorted(_TIGHTEN_KEYS - {'id'}))}); "
                "a shipped rule can be tightened, never loosened",
            )
    urgency = rule.urgency
    if "urgency" in data:
        urgency = _urgency(data, where)
        if rank(urgency) < rank(rule.urgency):
            raise InputError(
                f"{where}.urgency",
                f"loosening a shipped rule is refused: {rule.id} is {rule.urgency}; an "
                f"institution may raise it, never lower it to {urgency}",
            )
    when = rule.when
    if "also_when" in data:
        when = AnyOf((rule.when, _condition(data["also_when"], f"{where}.also_when", rule.id)))
    added = _items(data, where, rule.id)
    items = dict(rule.items)
    for key, outs in added.items():
        have = {o.code for o in rule.items.get(key, ())}
        for o in outs:
            if o.code in have:
                raise InputError(
                    f"{where}.{key}",
                    f"refused: {rule.id} already has {key} {o.code!r}; a shipped item cannot "
                    "be replaced or reworded (add one with a new code)",
                )
        items[key] = rule.items.get(key, ()) + outs
    source = rule.source
    if "source" in data:
        source = f"{rule.source}; institution: {_text(data, 'source', where)}"
    return replace(rule, urgency=urgency, when=when, items=items, source=source)


def build_rules(layers: list[tuple[str, dict[str, Any]]]) -> tuple[Rule, ...]:
    """Rules from the shipped file (first layer) and institution files (later layers)."""
    rules: dict[str, Rule] = {}
    for n, (name, doc) in enumerate(layers):
        shipped = n == 0
        allowed = {"rule"} if shipped else {"rule", "tighten"}
        for k in doc:
            if k not in allowed:
                raise InputError(f"{name}: {k}", f"unknown key {k!r}", " or ".join(allowed))
        for i, data in enumerate(_list(doc, "rule", name)):
            rule = _rule(data, f"{name}: rule.{i}", name)
            if rule.id in rules:
                raise InputError(
                    f"{name}: rule.{i}.id",
                    f"rule {rule.id} already exists"
                    + ("" if shipped else " (use [[tighten]] to tighten a shipped rule)"),
                )
            rules[rule.id] = rule
        for i, data in enumerate(_list(doc, "tighten", name)):
            where = f"{name}: tighten.{i}"
            rule_id = data.get("id") if isinstance(data, dict) else None
            if rule_id not in rules:
                raise InputError(f"{where}.id", f"no rule {rule_id!r} to tighten")
            rules[rule_id] = _tighten(rules[rule_id], data, where)
    return tuple(rules.values())


def _list(doc: dict[str, Any], key: str, name: str) -> list[Any]:
    v = doc.get(key, [])
    if not isinstance(v, list):
        raise InputError(f"{name}: {key}", f"expected [[{key}]] tables")
    return v
