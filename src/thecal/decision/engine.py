"""Evaluate the rules for one presentation: a pure function, no I/O, no clock."""

from collections.abc import Sequence

from thecal.decision.assessment import URGENCIES, Assessment, FiredRule, Item, rank
from thecal.decision.conditions import evaluate
from thecal.decision.facts import facts_of
from thecal.decision.presentation import Presentation
from thecal.decision.rules import ITEM_KEYS, Rule

_PLURAL = {"prompt": "prompts", "differential": "differential", "workup": "workup",
           "must_not_miss": "must_not_miss"}  # fmt: skip


def _unique(xs: list[str]) -> list[str]:
    return list(dict.fromkeys(xs))


def assess(presentation: Presentation, rules: Sequence[Rule]) -> Assessment:
    """What ``rules`` propose for ``presentation``.

    The urgency is the highest over the rules that fired (routine when none did). Items with
    the same code from several rules are listed once, with every rule's reasons and sources.
    """
    facts = facts_of(presentation)
    fired: list[FiredRule] = []
    items: dict[str, dict[str, Item]] = {k: {} for k in ITEM_KEYS}
    for rule in rules:
        because = evaluate(rule.when, facts, presentation)
        if because is None:
            continue
        because = _unique(because)
        fired.append(
            FiredRule(
                id=rule.id,
                title=rule.title,
                urgency=rule.urgency,
                because=because,
                source=rule.source,
                cutoff=rule.cutoff,
            )
        )
        for key in ITEM_KEYS:
            for out in rule.items.get(key, ()):
                extra = [] if out.when is None else evaluate(out.when, facts, presentation)
                if extra is None:
                    continue
                source = out.source or rule.source
                why = _unique(because + extra)
                old = items[key].get(out.code)
                if old is None:
                    items[key][out.code] = Item(
                        code=out.code, text=out.text, source=source, because=why,
                        rules=[rule.id], cutoff=rule.cutoff,
                    )  # fmt: skip
                else:
                    items[key][out.code] = old.model_copy(
                        update={
                            "because": _unique(old.because + why),
                            "rules": [*old.rules, rule.id],
                            "source": "; ".join(_unique([old.source, source])),
                        }
                    )
    urgency = max((f.urgency for f in fired), key=rank, default=URGENCIES[0])
    return Assessment(
        urgency=urgency,
        fired=sorted(fired, key=lambda f: -rank(f.urgency)),
        **{_PLURAL[k]: list(v.values()) for k, v in items.items()},
    )
