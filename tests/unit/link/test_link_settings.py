"""The implant side's link limits come from data (``thecal/data/link.toml``), each with its
source; a bad value is refused naming its field."""

import copy
import tomllib
from importlib import resources
from typing import Any

import pytest

from thecal.adapters.link_settings import build_link_settings, load_link_settings
from thecal.units import Q_, InputError

ORIGIN = "link.toml"


def shipped() -> dict[str, Any]:
    text = resources.files("thecal.data").joinpath("link.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_shipped_values_are_the_documented_product_choices() -> None:
    s = load_link_settings()
    c = s.connection
    assert (c.handshake_s, c.idle_s, c.frame_s, c.max_per_peer, c.max_total) == (
        10.0, 120.0, 10.0, 4, 32,
    )  # fmt: skip
    assert (s.backoff.base_s, s.backoff.max_s, s.backoff.max_peers) == (1.0, 300.0, 1024)
    assert s.max_command_age == Q_(60, "s")
    assert (s.journal_size, s.page_bytes) == (256, 48_000)
    # Every value carries its reason, and each is labelled a product choice.
    assert len(s.sources) == 11
    assert all(text.startswith("product choice") for text in s.sources.values())


NAMES = [
    ("connection", "handshake"),
    ("connection", "idle"),
    ("connection", "frame"),
    ("connection", "max_per_peer"),
    ("connection", "max_total"),
    ("auth_backoff", "base"),
    ("auth_backoff", "max"),
    ("auth_backoff", "max_peers"),
    ("commands", "max_command_age"),
    ("commands", "journal_size"),
    ("commands", "page_bytes"),
]


@pytest.mark.parametrize(("table", "name"), NAMES)
def test_every_value_needs_a_source(table: str, name: str) -> None:
    data = shipped()
    del data[table][f"{name}_source"]
    with pytest.raises(InputError) as err:
        build_link_settings(ORIGIN, data)
    assert err.value.field == f"{ORIGIN}: {table}.{name}_source"


@pytest.mark.parametrize(("table", "name"), NAMES)
@pytest.mark.parametrize("bad", [None, 0, -1, "0 s", "-5 s", "nan s", "10 mL", "ten", True])
def test_a_bad_value_is_refused_naming_its_field(table: str, name: str, bad: object) -> None:
    data = shipped()
    if bad is None:
        del data[table][name]
    else:
        data[table][name] = bad
    with pytest.raises(InputError) as err:
        build_link_settings(ORIGIN, data)
    assert err.value.field == f"{ORIGIN}: {table}.{name}"


@pytest.mark.parametrize("table", ["connection", "auth_backoff", "commands"])
def test_a_missing_table_is_refused(table: str) -> None:
    data = shipped()
    del data[table]
    with pytest.raises(InputError) as err:
        build_link_settings(ORIGIN, data)
    assert err.value.field == f"{ORIGIN}: {table}"


def test_backoff_ceiling_may_equal_the_base_but_not_be_below_it() -> None:
    data = shipped()
    data["auth_backoff"]["base"] = data["auth_backoff"]["max"] = "5 s"
    assert build_link_settings(ORIGIN, data).backoff.max_s == 5.0  # the edge: equal is allowed
    below = copy.deepcopy(data)
    below["auth_backoff"]["max"] = "4.999 s"
    with pytest.raises(InputError) as err:
        build_link_settings(ORIGIN, below)
    assert err.value.field == f"{ORIGIN}: auth_backoff.max"


def test_times_may_be_written_in_any_time_unit() -> None:
    data = shipped()
    data["connection"]["idle"] = "2 min"
    assert build_link_settings(ORIGIN, data).connection.idle_s == 120.0  # 2 x 60 s
