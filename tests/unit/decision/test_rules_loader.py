"""The rule loader: every shipped rule is sourced and valid; institution files may add and
tighten rules, never loosen them; every error names the file, the rule and the key."""

import tomllib
from importlib import resources
from typing import Any

import pytest

from tests.unit.decision.helpers import fired, shipped
from thecal.decision import assess, build_rules, presentation_from_mapping
from thecal.units import InputError

SHIPPED = tomllib.loads(
    resources.files("thecal.data").joinpath("decision_rules.toml").read_text("utf-8")
)


def load(extra: str) -> Any:
    return build_rules([("shipped", SHIPPED), ("ours.toml", tomllib.loads(extra))])


def error(extra: str) -> InputError:
    with pytest.raises(InputError) as exc:
        load(extra)
    return exc.value


def test_every_shipped_rule_has_a_source_a_cutoff_and_an_output() -> None:
    rules = shipped()
    assert [r.id for r in rules] == [f"R{n}" for n in range(1, 14)]
    for r in rules:
        assert r.source and r.cutoff and any(r.items.values())


def test_unknown_fact_in_a_trigger_names_the_rule_and_the_field() -> None:
    e = error(
        """
[[rule]]
id = "LOCAL-1"
title = "t"
urgency = "routine"
source = "s"
cutoff = "c"
when = { any = [ { fact = "dwel_time", above = "1 a" } ] }
  [[rule.prompt]]
  code = "x"
  text = "x"
"""
    )
    assert e.field == "ours.toml: rule.0 (LOCAL-1).when.any.0.fact"
    assert "unknown fact 'dwel_time'" in e.message and "LOCAL-1" in e.message


@pytest.mark.parametrize(
    ("when", "where", "words"),
    [
        ('{ fact = "dwell_time", above = "8" }', ".when.above", "unit"),
        ('{ fact = "dwell_time", above = "8 mL" }', ".when.above", "not time"),
        ('{ fact = "dialysis", above = 1 }', ".when.above", "does not apply"),
        ('{ fact = "drugs", has = "aspirin" }', ".when.has", "unknown value"),
        ('{ symptom = "itch" }', ".when.symptom", "unknown value"),
        ('{ fact = "dwell_time", above = "1e999 a" }', ".when.above", ""),
        ("{ all = [] }", ".when.all", "non-empty"),
        ('{ eval = "1" }', ".when.eval", "unknown key"),
        ('{ fact = "ckd_stage", at_or_above = "4" }', ".when.at_or_above", "whole number"),
    ],
)
def test_malformed_triggers_are_refused(when: str, where: str, words: str) -> None:
    e = error(
        f"""
[[rule]]
id = "L"
title = "t"
urgency = "routine"
source = "s"
cutoff = "c"
when = {when}
  [[rule.prompt]]
  code = "x"
  text = "x"
"""
    )
    assert e.field.endswith(where), e.field
    assert words in str(e)


_RULE = """
[[rule]]
id = "ID"
title = "t"
urgency = "routine"
source = "s"
cutoff = "c"
when = { fact = "dialysis" }
  [[rule.prompt]]
  code = "x"
  text = "x"
"""


def test_a_rule_without_a_source_is_refused() -> None:
    e = error(_RULE.replace('source = "s"\n', "").replace("ID", "L"))
    assert e.field.endswith(".source")


def test_an_institution_rule_is_added_and_fires() -> None:
    rules = load(
        """
[[rule]]
id = "LOCAL-1"
title = "Clonidine and hypertension"
urgency = "today"
source = "Clonidine withdrawal: rebound hypertension (doi 10.1007/s13181-015-0505-9)"
cutoff = "no numeric cut-off"
when = { all = [ { fact = "drugs", has = "clonidine" }, { symptom = "hypertension" } ] }
  [[rule.prompt]]
  code = "clonidine-withdrawal"
  text = "Consider clonidine withdrawal"
"""
    )
    p = presentation_from_mapping(
        {
            "device": "intrathecal_pump",
            "drugs": ["clonidine"],
            "symptoms": [{"kind": "hypertension"}],
        }
    )
    a = assess(p, rules)
    assert (a.urgency, fired(a)) == ("today", ["LOCAL-1"])


def test_a_shipped_id_cannot_be_redefined() -> None:
    e = error(_RULE.replace("ID", "R1"))
    assert "already exists" in e.message and "tighten" in e.message


def test_tightening_raises_urgency_adds_a_trigger_and_an_item() -> None:
    rules = load(
        """
[[tighten]]
id = "R8"
urgency = "within_week"
also_when = { all = [
  { fact = "occasion", equals = "replacement_planning" },
  { fact = "dwell_time", at_or_above = "7 a" },
] }
source = "Our surgical committee"
  [[tighten.workup]]
  code = "book-pathology"
  text = "Book frozen section with pathology"
"""
    )
    p = presentation_from_mapping(
        {"device": "intrathecal_pump", "occasion": "replacement_planning", "dwell_time": "7 a"}
    )
    a = assess(p, rules)
    assert (a.urgency, fired(a)) == ("within_week", ["R8"])
    assert a.codes("workup")[-1] == "book-pathology"
    assert a.fired[0].source.endswith("institution: Our surgical committee")


@pytest.mark.parametrize(
    ("body", "field_end", "words"),
    [
        ('urgency = "routine"', ".urgency", "never lower it"),
        ('when = { fact = "dialysis" }', ".when", "loosening a shipped rule is refused"),
        (
            'remove_must_not_miss = ["normal-interrogation-not-exclusion"]',
            ".remove_must_not_miss",
            "never loosened",
        ),
        (
            "[[tighten.must_not_miss]]\n"
            'code = "normal-interrogation-not-exclusion"\ntext = "softer"',
            ".must_not_miss",
            "cannot be replaced",
        ),
    ],
)
def test_loosening_a_shipped_rule_is_refused(body: str, field_end: str, words: str) -> None:
    e = error(f'[[tighten]]\nid = "R1"\n{body}\n')
    assert e.field.startswith("ours.toml: tighten.0 (R1)")
    assert e.field.endswith(field_end)
    assert words in e.message


def test_tightening_an_unknown_rule_is_refused() -> None:
    assert "no rule 'R99'" in error('[[tighten]]\nid = "R99"\n').message


def test_unknown_top_level_key_is_refused() -> None:
    assert error('[[rules]]\nid = "R1"\n').field == "ours.toml: rules"
