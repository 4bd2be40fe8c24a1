"""The command envelope as pydantic models: each operation round-trips byte for byte, and
every malformed command is refused with a :class:`CommandError` naming the field."""

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.programmer.helpers import rig
from tests.unit.programmer.op_strategies import ARGS, JSON, commands
from thecal.devices.catalog import DeviceCatalog
from thecal.programmer.commands import (
    DOSING_OPS,
    MAX_COMMAND_ID_LEN,
    READ_ONLY_OPS,
    Command,
    CommandError,
    Op,
    RefusalCode,
    Reply,
    ReplyStatus,
    decode_command,
    decode_reply,
)
from thecal.programmer.envelope import MAX_COMMAND_BYTES
from thecal.programmer.implant_ops import HANDLERS
from thecal.programmer.implant_stim_ops import STIMULATOR_HANDLERS
from thecal.programmer.operations import (
    OPERATION_MODELS,
    ClinicianBolusOp,
    RefillOp,
    WireQuantity,
)
from thecal.therapy.library import DrugLibrary

T = datetime(2024, 1, 1, 8, 0, 3, 120000)
BOLUS = {"volume": {"value": 0.05, "unit": "mL"}, "duration": {"value": 1.0, "unit": "h"}}


def _body(**changes: Any) -> bytes:
    doc: dict[str, Any] = {
        "v": 1,
        "op": "clinician_bolus",
        "id": "9f2c",
        "issued_at": T.isoformat(),
        "args": BOLUS,
    }
    doc.update(changes)
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def _refused(body: bytes) -> CommandError:
    with pytest.raises(CommandError) as info:
        decode_command(body)
    return info.value


def test_every_op_has_a_model_args_and_a_handler() -> None:
    assert set(OPERATION_MODELS) == set(Op) == set(ARGS)
    # Every operation but reply_page (the session's) is a device's: a pump's or a stimulator's.
    handled = set(HANDLERS) | set(STIMULATOR_HANDLERS)
    assert {m for m in OPERATION_MODELS.values()} - handled == {OPERATION_MODELS[Op.REPLY_PAGE]}


@pytest.mark.parametrize("op", list(Op))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_each_op_round_trips_byte_identically(op: Op, data: st.DataObject) -> None:
    cmd = data.draw(commands([op]))
    back = decode_command(cmd.encode())
    assert isinstance(back, OPERATION_MODELS[op])
    assert back.encode() == cmd.encode()
    assert decode_command(back.encode()) == back


def test_the_documented_bolus_decodes_typed() -> None:
    # The example of docs/programmer.md §1.
    cmd = decode_command(_body())
    assert isinstance(cmd, ClinicianBolusOp)
    assert cmd.args.volume == WireQuantity(value=0.05, unit="mL")
    assert cmd.args.duration.quantity.to("min").magnitude == pytest.approx(60.0)  # 1 h = 60 min
    assert cmd.issued_at == T


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(op="format"), "op"),  # unknown operation
        (_body(op=...), "op"),
        (_body(extra=1), "extra"),  # unknown key at the top
        (_body(args={**BOLUS, "rate": 1}), "args.rate"),  # ... and in args
        (_body(id="x" * (MAX_COMMAND_ID_LEN + 1)), "id"),  # oversize id
        (_body(id=""), "id"),
        (_body(id="é"), "id"),  # not ASCII
        (_body(issued_at=None), "issued_at"),  # a dosing op needs it
        (_body(issued_at="2024-01-01T08:00:00+01:00"), "issued_at"),  # device time is naive
        (_body(v=2), "v"),
        (_body(args={**BOLUS, "volume": {"value": 1.0, "unit": "mg"}}), "args.volume"),
        (_body(args={**BOLUS, "volume": {"value": 1.0, "unit": "gallon"}}), "args.volume.unit"),
        (_body(args={**BOLUS, "volume": {"value": "1", "unit": "mL"}}), "args.volume.value"),
        (_body(args={**BOLUS, "volume": {"value": True, "unit": "mL"}}), "args.volume.value"),
        (_body(args={"volume": BOLUS["volume"]}), "args.duration"),
        (b"[]", "body"),
        (b"\xff", "body"),
        (b"{" * 10_000, "body"),
    ],
)
def test_malformed_commands_are_refused_naming_the_field(body: bytes, field: str) -> None:
    assert _refused(body).field == field


@pytest.mark.parametrize("nan", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" + b"0" * 400])
def test_non_finite_quantities_are_refused(nan: bytes) -> None:
    body = _body().replace(b'"value": 0.05', b'"value": ' + nan)
    assert _refused(body).field == "args.volume.value"


def test_missing_issued_at_names_the_dosing_op() -> None:
    for op in sorted(DOSING_OPS):
        args = json.loads(Command(op, "x", T, {}).encode())["args"]
        err = _refused(_body(op=op.value, issued_at=None, args=args or BOLUS))
        assert err.field == "issued_at" and op.value in str(err)


def test_read_only_ops_may_leave_issued_at_null() -> None:
    for op in READ_ONLY_OPS - {Op.INTERROGATE, Op.REPLY_PAGE}:
        assert decode_command(Command(op, "x", None, {}).encode()).issued_at is None


def test_refusal_names_the_command_when_the_envelope_was_readable() -> None:
    err = _refused(_body(args={**BOLUS, "volume": {"value": 1.0, "unit": "mg"}}))
    assert (err.op, err.command_id) == ("clinician_bolus", "9f2c")


def test_oversize_body_is_refused_before_parsing() -> None:
    body = _body(args={**BOLUS, "pad": "x" * MAX_COMMAND_BYTES})
    err = _refused(body)
    assert err.field == "body" and "longer than" in str(err)


def test_refill_defaults_and_strict_flag() -> None:
    ok = decode_command(_body(op="refill", args={"volume": BOLUS["volume"]}))
    assert isinstance(ok, RefillOp) and ok.args.simulate_needle is True
    bad = _body(op="refill", args={"volume": BOLUS["volume"], "simulate_needle": 1})
    assert _refused(bad).field == "args.simulate_needle"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Op)), st.dictionaries(st.text(max_size=10), JSON, max_size=5))
def test_arbitrary_args_raise_only_command_error(op: Op, args: dict[str, Any]) -> None:
    body = Command(op, "x", T, args).encode()
    try:
        decode_command(body)
    except CommandError as exc:
        assert exc.field.startswith("args") and exc.op == op.value


def test_reply_round_trips_and_refuses_extra_keys() -> None:
    good = Reply("status", "abc", ReplyStatus.OK, T, processed=True, data={"x": 1})
    assert decode_reply(good.encode()) == good
    doc = json.loads(good.encode())
    with pytest.raises(CommandError) as info:
        decode_reply(json.dumps({**doc, "more": 1}).encode())
    assert info.value.field == "reply.more"
    with pytest.raises(CommandError) as info:
        decode_reply(json.dumps({**doc, "status": "maybe"}).encode())
    assert info.value.field == "reply.status"


def test_building_a_command_with_a_bad_id_is_a_command_error() -> None:
    with pytest.raises(CommandError) as info:
        Command(Op.STATUS, "x" * 65, None)
    assert info.value.field == "id"


def test_implant_answers_a_malformed_bolus_naming_it_without_effect(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect()
        client.call(Op.STATUS)  # learn the device clock (issued_at)
        events = len(r.dev.events(0))
        args = {**BOLUS, "volume": {"value": 0.05, "unit": "mg"}}  # a mass, not a volume
        reply = client.call(Op.CLINICIAN_BOLUS, args)
        sent = client.sent[-1]
        assert reply.status is ReplyStatus.ERROR and reply.code == RefusalCode.BAD_COMMAND
        assert (reply.op, reply.command_id) == ("clinician_bolus", sent.command_id)
        assert reply.message.startswith("args.volume:")
        assert len(r.dev.events(0)) == events  # nothing reached the device
        assert sent.command_id not in r.handler.executions
        assert all(e["id"] != sent.command_id for e in r.handler.journal())
