"""Device data on the wire: refusal codes round-trip, the delivery state travels with its
holds, and nothing of the simulation's true time reaches a programmer."""

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.programmer.helpers import rig
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import DeviceStatus
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.states import DeliveryState
from thecal.programmer.commands import CommandError, Op, ReplyStatus
from thecal.programmer.wire_device import (
    event_from_json,
    event_to_json,
    result_from_json,
    result_to_json,
    status_from_json,
    status_to_json,
)
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_


def _over_json(value: Any) -> Any:
    return json.loads(json.dumps(value, allow_nan=False))


@given(
    code=st.sampled_from(list(DeviceRefusal)),
    reason=st.text(min_size=1, max_size=80),
    changed=st.booleans(),
)
def test_refusal_codes_round_trip(code: DeviceRefusal, reason: str, changed: bool) -> None:
    result = CommandResult("refill", True, changed, reason, refusal=code)
    back = result_from_json(_over_json(result_to_json(result)))
    assert back == result and back.refusal is code


def test_an_accepted_result_round_trips_without_a_code() -> None:
    result = CommandResult("refill", True, True, values=(("expected_before", Q_(1.5, "mL")),))
    doc = result_to_json(result)
    assert doc["refusal"] is None
    assert result_from_json(_over_json(doc)) == result


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"refusal": "ran-out-of-coffee"}, "result.refusal"),  # unknown code
        ({"refusal": 3}, "result.refusal"),  # not a string
        ({"refusal": "lockout", "reason": ""}, "result.refusal"),  # code without a sentence
        ({"refusal": None, "reason": "lockout"}, "result.refusal"),  # sentence without a code
    ],
)
def test_a_malformed_refusal_is_refused(change: dict[str, Any], field: str) -> None:
    doc = result_to_json(CommandResult("x", True, False, "lockout", refusal=DeviceRefusal.LOCKOUT))
    with pytest.raises(CommandError) as err:
        result_from_json({**doc, **change})
    assert err.value.field == field


def test_the_reply_code_is_the_devices_refusal_code(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        patient = r.patient()
        assert patient.request_bolus().granted
        denied = patient.request_bolus()  # within the 1 h lockout
        assert denied.reason == DeviceRefusal.LOCKOUT and denied.reply is not None
        assert denied.reply.status is ReplyStatus.OK and not denied.reply.state_changed
        assert result_from_json(denied.reply.data["result"]).refusal is DeviceRefusal.LOCKOUT
        client, _ = r.connect()
        reply = client.call(Op.REFILL, {"volume": {"value": 45.0, "unit": "mL"}})  # 40 mL pump
        assert reply.code == DeviceRefusal.OVER_CAPACITY
        assert reply.message == "volume out of range"  # the sentence stays beside the code


def _status(catalog: DeviceCatalog, library: DrugLibrary) -> tuple[DeviceStatus, Any, datetime]:
    """The stopped pump's status, the interrogation reply and the simulation's time."""
    with rig(catalog, library) as r:
        # The device clock 3 h ahead of the simulation's: a leak would show the difference.
        assert r.dev.set_clock(r.dev.read_clock() + timedelta(hours=3)).state_changed
        r.dev.advance(r.dev.now + timedelta(hours=2))
        assert r.dev.stop().state_changed
        client, _ = r.connect()
        reply = client.call(Op.INTERROGATE, {"since_seq": 0})
        assert reply.ok
        return r.dev.peek(), reply, r.dev.now


def test_no_simulation_time_reaches_the_programmer(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    status, reply, sim_now = _status(catalog, library)
    assert not hasattr(status, "sim_time")
    assert status.device_time == sim_now + timedelta(hours=3)  # device clock, not the truth
    doc = reply.data["status"]
    assert "sim_time" not in doc and "sim_time" not in json.dumps(reply.data)
    rows = reply.data["events"]
    assert rows and all(len(row) == 6 for row in rows)  # [seq, kind, device_hours, ...]
    events = [event_from_json(row, status.serial) for row in rows]
    assert not any(hasattr(e, "sim_hours") for e in events)
    assert events[-1].at == status.device_time  # the stop, stamped by the device clock


def test_status_carries_the_delivery_state_and_round_trips(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    status, reply, _ = _status(catalog, library)
    doc = reply.data["status"]
    assert doc["delivery"] == DeliveryState.STOPPED_BY_CLINICIAN.value
    assert doc["delivering"] is False and doc["holds"] == ["stopped by clinician"]
    assert doc["bolus"] == "none"
    assert status_from_json(_over_json(status_to_json(status)), library.get) == status


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"delivery": "delivering"}, "status.delivery"),  # contradicts the clinician stop
        ({"delivering": True}, "status.delivering"),
        ({"delivery": "dozing"}, "status.delivery"),
        ({"holds": ["coffee break"]}, "status.holds[0]"),
        ({"bolus": "maybe"}, "status.bolus"),
    ],
)
def test_a_status_that_contradicts_its_holds_is_refused(
    catalog: DeviceCatalog, library: DrugLibrary, change: dict[str, Any], field: str
) -> None:
    status, _, _ = _status(catalog, library)
    with pytest.raises(CommandError) as err:
        status_from_json({**status_to_json(status), **change}, library.get)
    assert err.value.field == field


def test_an_event_row_from_before_this_format_is_refused() -> None:
    old = [1, "provisioned", 0.0, 0.0, "", [], None]  # had sim_hours third
    with pytest.raises(CommandError, match="6 fields"):
        event_from_json(old, "SN-TEST")
    row = [1, "provisioned", 0.0, "", [], None]
    assert event_to_json(event_from_json(row, "SN-TEST")) == row
