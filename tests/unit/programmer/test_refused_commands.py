"""A refused command has no side effect: validate, then act.

The implant is a SynchroMed II 8637-20 (20 mL reservoir, devices.toml), filled with 20 mL and
then run for a day so that the residual is below the fill."""

from datetime import timedelta
from typing import Any

import pytest

from tests.unit.implant.helpers import morphine, simple_program
from tests.unit.programmer.helpers import Rig, rig
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.refusals import DeviceRefusal
from thecal.link import Role
from thecal.programmer.commands import Command, Op, RefusalCode, ReplyStatus
from thecal.programmer.implant_server import Staging
from thecal.programmer.wire_program import program_to_json
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_

MODEL = "SynchroMed II 8637-20"


def _state(r: Rig) -> tuple[float, float, int]:
    """(true reservoir mL, firmware estimate mL, log length)."""
    truth = float(r.dev.truth().reservoir.to("mL").magnitude)
    estimate = float(r.dev.interrogate().reservoir_estimate.to("mL").magnitude)
    return truth, estimate, len(r.dev.events(0))


def _refill(r: Rig, volume: Any, **extra: Any) -> Any:
    client, _ = r.connect()
    return client.call(Op.REFILL, {"volume": volume, **extra})


@pytest.fixture
def run_a_day(catalog: DeviceCatalog, library: DrugLibrary) -> Any:
    with rig(catalog, library, MODEL) as r:
        r.dev.advance(r.dev.now + timedelta(days=1))
        yield r


@pytest.mark.parametrize(
    ("volume", "code"),
    [
        ({"value": 25.0, "unit": "mL"}, DeviceRefusal.OVER_CAPACITY),  # 25 mL into 20 mL
        ({"value": 20.001, "unit": "mL"}, DeviceRefusal.OVER_CAPACITY),  # just above capacity
        ({"value": 0.0, "unit": "mL"}, DeviceRefusal.NOT_POSITIVE),
        ({"value": -1.0, "unit": "mL"}, DeviceRefusal.NOT_POSITIVE),
    ],
)
def test_refill_refused_by_the_implant_leaves_the_reservoir_unchanged(
    run_a_day: Rig, volume: dict[str, Any], code: DeviceRefusal
) -> None:
    r = run_a_day
    truth, estimate, _ = _state(r)
    assert 0 < truth < 20  # a day of 0.5 mL/d has been delivered
    reply = _refill(r, volume)
    assert reply.status is ReplyStatus.OK and reply.code == code
    assert not reply.state_changed
    assert "withdrawn" not in reply.data  # the needle never moved
    after = _state(r)
    assert after[:2] == (truth, estimate)


@pytest.mark.parametrize(
    ("volume", "extra"),
    [
        ({"value": 5.0, "unit": "mg"}, {}),  # not a volume
        ({"value": 5.0}, {}),  # no unit
        ("5 mL", {}),  # not a quantity object
        ({"value": 5.0, "unit": "mL"}, {"simulate_needle": "yes"}),  # not a boolean
    ],
)
def test_malformed_refill_is_an_error_with_no_effect(
    run_a_day: Rig, volume: Any, extra: dict[str, Any]
) -> None:
    r = run_a_day
    before = _state(r)
    reply = _refill(r, volume, **extra)
    assert reply.status is ReplyStatus.ERROR and reply.code == RefusalCode.BAD_COMMAND
    assert _state(r) == before  # not even a log entry


def test_accepted_refill_withdraws_then_fills(run_a_day: Rig) -> None:
    r = run_a_day
    truth, _, _ = _state(r)
    reply = _refill(r, {"value": 20.0, "unit": "mL"})  # exactly the capacity is allowed
    assert reply.ok and reply.state_changed
    assert reply.data["withdrawn"]["value"] == pytest.approx(truth)
    after_truth, after_estimate, _ = _state(r)
    assert after_truth == pytest.approx(20.0)
    assert after_estimate == pytest.approx(20.0)


def test_stale_refill_is_refused_before_the_device(run_a_day: Rig) -> None:
    r = run_a_day
    before = _state(r)
    old = r.dev.read_clock() - timedelta(hours=1)  # beyond the 60 s staleness bound
    cmd = Command(Op.REFILL, "stale-1", old, {"volume": {"value": 25.0, "unit": "mL"}})
    reply = r.handler.execute(cmd, Role.CLINICIAN, Staging())
    assert reply.code == RefusalCode.STALE
    assert _state(r) == before


def test_program_commit_refused_by_the_implant_keeps_the_staging(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library, MODEL) as r:
        active = program_to_json(r.dev.peek().program)  # type: ignore[arg-type]
        client, _ = r.connect()
        # A 25 mL low-reservoir alarm in a 20 mL reservoir: the firmware refuses the program.
        refused = program_to_json(simple_program(morphine(library), "0.5 mL/d", "25 mL"))
        staged = client.call(Op.PROGRAM_STAGE, {"program": refused})
        assert staged.ok
        commit = client.call(Op.PROGRAM_COMMIT, {"digest": staged.data["digest"]})
        assert commit.code == DeviceRefusal.EXCEEDS_LIMITS and not commit.state_changed
        assert program_to_json(r.dev.peek().program) == active  # type: ignore[arg-type]
        # The session's staging is as it was: still readable, same digest.
        again = client.call(Op.PROGRAM_READ_STAGED)
        assert again.ok and again.data["digest"] == staged.data["digest"]


def test_refused_refill_leaves_quantity_units_alone(run_a_day: Rig) -> None:
    # The same refusal in microlitres: 25 000 uL = 25 mL (1 mL = 1000 uL) is still too much.
    r = run_a_day
    before = _state(r)[:2]
    reply = _refill(r, {"value": float(Q_(25, "mL").to("uL").magnitude), "unit": "uL"})
    assert reply.code == DeviceRefusal.OVER_CAPACITY
    assert _state(r)[:2] == before


def test_clinical_refill_refused_touches_nothing(run_a_day: Rig) -> None:
    r = run_a_day
    before = _state(r)[:2]
    outcome = r.dev.clinical_refill(Q_(25, "mL"))  # 25 mL into 20 mL
    assert not outcome.result.state_changed
    assert outcome.withdrawn.to("mL").magnitude == 0.0
    assert _state(r)[:2] == before
