"""Shared helpers: the shipped rules, and a presentation from keyword arguments."""

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from thecal.decision import Assessment, Rule, assess, build_rules, presentation_from_mapping


@cache
def shipped() -> tuple[Rule, ...]:
    text = resources.files("thecal.data").joinpath("decision_rules.toml").read_text("utf-8")
    return build_rules([("decision_rules.toml", tomllib.loads(text))])


def run(**data: Any) -> Assessment:
    data.setdefault("device", "intrathecal_pump")
    return assess(presentation_from_mapping(data), shipped())


def fired(a: Assessment) -> list[str]:
    return sorted(f.id for f in a.fired)
