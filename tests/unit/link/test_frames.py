"""Frame layout and the strict parser: every malformation refused with its own code."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.link import (
    MAX_FRAME_LEN,
    MAX_PAYLOAD_LEN,
    ErrorCode,
    ErrorInfo,
    Frame,
    FrameDecoder,
    FrameError,
    FrameType,
    decode_error,
    encode_error,
    parse_frame,
)
from thecal.link.frames import HEADER_LEN, MIN_FRAME_LEN, TAG_LEN, frame_length

TAG = bytes(range(16))


def frame_bytes(payload: bytes = b"abc", frame_type: FrameType = FrameType.DATA) -> bytes:
    return Frame(frame_type, 7, payload, TAG).encode()


def test_layout_byte_offsets() -> None:
    wire = frame_bytes(b"xyz")
    # length = 14 - 4 + 3 payload + 16 tag = 29 bytes after the length field
    assert wire[0:4] == struct.pack(">I", 29)
    assert wire[4] == 1  # version
    assert wire[5] == 4 == int(FrameType.DATA)
    assert wire[6:14] == struct.pack(">Q", 7)
    assert wire[14:17] == b"xyz"
    assert wire[17:] == TAG
    assert len(wire) == 4 + 29


def test_round_trip() -> None:
    frame = Frame(FrameType.CLOSE, 2**64 - 1, b"", TAG)
    assert parse_frame(frame.encode()) == frame


def code_of(data: bytes) -> ErrorCode:
    with pytest.raises(FrameError) as info:
        parse_frame(data)
    return info.value.code


def test_truncated() -> None:
    wire = frame_bytes()
    assert code_of(wire[:-1]) is ErrorCode.TRUNCATED
    assert code_of(wire[:3]) is ErrorCode.TRUNCATED
    assert code_of(b"") is ErrorCode.TRUNCATED


def test_trailing_bytes() -> None:
    assert code_of(frame_bytes() + b"\x00") is ErrorCode.TRAILING_BYTES


def test_oversized_declared_and_actual() -> None:
    # Declared total 4 + 65533 = 65537 > 65536: refused from the length field alone.
    assert code_of(struct.pack(">I", MAX_FRAME_LEN - 3) + bytes(26)) is ErrorCode.TOO_LARGE
    assert code_of(bytes(MAX_FRAME_LEN + 1)) is ErrorCode.TOO_LARGE
    # The largest legal frame parses.
    biggest = frame_bytes(bytes(MAX_PAYLOAD_LEN))
    assert len(biggest) == MAX_FRAME_LEN
    assert parse_frame(biggest).payload == bytes(MAX_PAYLOAD_LEN)
    with pytest.raises(FrameError) as info:
        Frame(FrameType.DATA, 0, bytes(MAX_PAYLOAD_LEN + 1), TAG)
    assert info.value.code is ErrorCode.TOO_LARGE


def test_declared_length_below_minimum() -> None:
    # 4 + 25 = 29 < 30 (header 14 + tag 16)
    assert code_of(struct.pack(">I", 25) + bytes(25)) is ErrorCode.BAD_LENGTH


def test_bad_version() -> None:
    wire = bytearray(frame_bytes())
    wire[4] = 2
    assert code_of(bytes(wire)) is ErrorCode.BAD_VERSION


@pytest.mark.parametrize("type_byte", [0, 7, 255])
def test_unknown_type(type_byte: int) -> None:
    wire = bytearray(frame_bytes())
    wire[5] = type_byte
    assert code_of(bytes(wire)) is ErrorCode.UNKNOWN_TYPE


def test_not_bytes() -> None:
    with pytest.raises(FrameError):
        parse_frame("not bytes")  # type: ignore[arg-type]


def test_decoder_splits_stream_across_chunks() -> None:
    a, b = frame_bytes(b"one"), frame_bytes(b"two!", FrameType.ERROR)
    stream = a + b
    decoder = FrameDecoder()
    out: list[bytes] = []
    for i in range(0, len(stream), 5):
        out += decoder.feed(stream[i : i + 5])
    assert out == [a, b]
    assert decoder.pending == 0


def test_decoder_refuses_oversized_length_before_buffering() -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameError) as info:
        decoder.feed(struct.pack(">I", 2**32 - 1))
    assert info.value.code is ErrorCode.TOO_LARGE


def test_frame_length_reports_total() -> None:
    assert frame_length(frame_bytes(b"12345")) == HEADER_LEN + 5 + TAG_LEN


def test_error_payload_round_trip_and_strictness() -> None:
    info = ErrorInfo(ErrorCode.BACKOFF, 2.5, "wait")
    assert decode_error(encode_error(info)) == info
    with pytest.raises(FrameError):
        decode_error(b"\x00\x00" + bytes(4))  # code 0 is not a code
    with pytest.raises(FrameError):
        decode_error(b"\x01")
    with pytest.raises(FrameError):
        decode_error(struct.pack(">HI", ErrorCode.REPLAY, 0) + b"\xff")  # not UTF-8


# -- property-based fuzzing of the parser ---------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_frame_error(data: bytes) -> None:
    try:
        frame = parse_frame(data)
    except FrameError:
        return
    # Anything accepted is canonical: it re-encodes to exactly the same bytes.
    assert frame.encode() == data


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=64),
    st.sampled_from(list(FrameType)),
    st.integers(0, 2**64 - 1),
    st.data(),
)
def test_mutated_valid_frames_only_raise_frame_error(
    payload: bytes, frame_type: FrameType, seq: int, data: st.DataObject
) -> None:
    wire = bytearray(Frame(frame_type, seq, payload, TAG).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        if op == "cut" and wire:
            i = data.draw(st.integers(0, len(wire) - 1))
            del wire[i]
        elif op == "insert":
            wire.insert(data.draw(st.integers(0, len(wire))), data.draw(st.integers(0, 255)))
        elif wire:
            i = data.draw(st.integers(0, len(wire) - 1))
            wire[i] = wire[i] ^ (1 << data.draw(st.integers(0, 7))) if op == "flip" else 0xFF
    try:
        frame = parse_frame(bytes(wire))
    except FrameError as exc:
        assert isinstance(exc.code, ErrorCode)
        return
    assert frame.encode() == bytes(wire)
    assert len(wire) >= MIN_FRAME_LEN
