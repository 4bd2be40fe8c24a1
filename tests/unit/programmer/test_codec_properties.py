"""Property tests of the command codec: a valid command survives encode → decode unchanged (as
its operation's model, re-encoded byte for byte), and
no input — random bytes, random JSON, mutated valid commands and replies — makes the decoders
raise anything but :class:`CommandError`."""

import contextlib
import json
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.programmer.op_strategies import JSON, TIMES, commands
from thecal.programmer.commands import (
    Command,
    CommandError,
    Reply,
    ReplyStatus,
    decode_command,
    decode_reply,
)
from thecal.programmer.operations import OPERATION_MODELS


@settings(max_examples=300, deadline=None)
@given(commands())
def test_encode_decode_round_trip(cmd: Command) -> None:
    # Decoded into its operation's model (typed args), and canonical: the bytes are identical.
    back = decode_command(cmd.encode())
    assert type(back) is OPERATION_MODELS[cmd.op]
    assert (back.op, back.command_id, back.issued_at) == (cmd.op, cmd.command_id, cmd.issued_at)
    assert back.encode() == cmd.encode()


def _decode_only_raises_command_error(body: bytes) -> None:
    for decode in (decode_command, decode_reply):
        with contextlib.suppress(CommandError):
            decode(body)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_command_error(body: bytes) -> None:
    _decode_only_raises_command_error(body)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_random_json_raises_only_command_error(value: Any) -> None:
    _decode_only_raises_command_error(json.dumps(value).encode())


def _with(doc: dict[str, Any], key: str, value: Any) -> bytes:
    out = dict(doc)
    out[key] = value
    return json.dumps(out).encode()


@settings(max_examples=400, deadline=None)
@given(commands(), st.sampled_from(["v", "op", "id", "issued_at", "args", "extra"]), JSON)
def test_mutated_command_field_raises_only_command_error(
    cmd: Command, key: str, value: Any
) -> None:
    doc = json.loads(cmd.encode())
    _decode_only_raises_command_error(_with(doc, key, value))
    del doc["op"]
    _decode_only_raises_command_error(json.dumps(doc).encode())


@settings(max_examples=400, deadline=None)
@given(commands(), st.data())
def test_mutated_command_bytes_raise_only_command_error(cmd: Command, data: st.DataObject) -> None:
    body = bytearray(cmd.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(body)))
    _decode_only_raises_command_error(bytes(body))
    _decode_only_raises_command_error(bytes(body[:cut]))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["op", "id", "status", "device_time", "code", "processed", "data"]),
    JSON,
    TIMES,
)
def test_mutated_reply_raises_only_command_error(key: str, value: Any, t: datetime) -> None:
    good = Reply("status", "abc", ReplyStatus.OK, t, processed=True, data={"x": 1})
    assert decode_reply(good.encode()) == good
    _decode_only_raises_command_error(_with(json.loads(good.encode()), key, value))


def test_deep_nesting_is_a_command_error_not_a_crash() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    _decode_only_raises_command_error(body)
