"""Atheris fuzz target for the link frame parser and session ``open`` (for long runs).

Run: ``pip install atheris && python fuzz/link_frame_fuzz.py -max_total_time=3600``.
Not collected by pytest (no ``test_`` name, outside ``tests/``) and never imported by tests;
the hypothesis property tests in ``tests/unit/link`` cover the same invariants in CI.

Invariants checked for every input:
* ``parse_frame`` raises nothing but ``FrameError``; what it accepts re-encodes byte for byte;
* an established session refuses the input (LinkError only) and its state is unchanged,
  unless the input is exactly the genuine frame it was built to accept.
"""

import sys

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports():
    from thecal.link import (
        AuthBackoff,
        FrameError,
        Initiator,
        LinkError,
        Responder,
        Role,
        derive_role_key,
        parse_frame,
    )

SERIAL = "FUZZ-0001"
SECRET = bytes(range(32))


def _clock() -> float:
    return 0.0


def _established() -> tuple[Initiator, Responder]:
    key = derive_role_key(SECRET, SERIAL, Role.CLINICIAN)
    client = Initiator(SERIAL, Role.CLINICIAN, key, _clock)
    server = Responder(SERIAL, SECRET, _clock, AuthBackoff(_clock))
    server.receive_response(client.receive_challenge(server.receive_hello(client.hello())))
    return client, server


CLIENT, SERVER = _established()
GENUINE = CLIENT.seal(b"genuine")


def TestOneInput(data: bytes) -> None:  # name required by atheris
    """One fuzz iteration."""
    try:
        frame = parse_frame(data)
    except FrameError:
        pass
    else:
        assert frame.encode() == data, "accepted frame is not canonical"
    if data == GENUINE:
        return  # accepting it would advance the session; not a bug
    before = SERVER.snapshot()
    try:
        SERVER.open(data)
    except LinkError:
        pass
    else:
        raise AssertionError("session accepted a frame it never sent")
    assert SERVER.snapshot() == before, "a refused frame changed the session"


def main() -> None:
    """Entry point: hand the target to libFuzzer."""
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
