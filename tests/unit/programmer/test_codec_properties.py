"""Property tests of the command codec: a valid command survives encode → decode unchanged, and
no input — random bytes, random JSON, mutated valid commands and replies — makes the decoders
raise anything but :class:`CommandError`."""

import contextlib
import json
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.programmer.commands import (
    MAX_COMMAND_ID_LEN,
    READ_ONLY_OPS,
    Command,
    CommandError,
    Op,
    Reply,
    ReplyStatus,
    decode_command,
    decode_reply,
)

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
TIMES = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1))
IDS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    min_size=1,
    max_size=MAX_COMMAND_ID_LEN,
)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    op = draw(st.sampled_from(list(Op)))
    # issued_at is required for every operation that acts; read-only ones may leave it out.
    issued = draw(st.none() | TIMES) if op in READ_ONLY_OPS else draw(TIMES)
    args = draw(st.dictionaries(st.text(max_size=10), JSON, max_size=5))
    return Command(op, draw(IDS), issued, args)


@settings(max_examples=300, deadline=None)
@given(commands())
def test_encode_decode_round_trip(cmd: Command) -> None:
    back = decode_command(cmd.encode())
    assert back == cmd
    assert back.encode() == cmd.encode()  # canonical: the bytes are identical too


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
