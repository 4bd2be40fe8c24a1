"""Command layer over the link: faults, replays, roles, staleness, program writes."""

import time
from datetime import timedelta

import pytest

from tests.unit.programmer.helpers import program, rig
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.link import ReplayError, Role
from thecal.programmer.clinician import UncertainDelivery
from thecal.programmer.commands import Command, Op, RefusalCode, ReplyStatus, decode_command
from thecal.programmer.link_client import AckLost
from thecal.programmer.wire_program import program_from_json, program_to_json
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_


def _bolus_starts(dev: object) -> int:
    return sum(1 for e in dev.events(0) if e.kind is EventKind.BOLUS_START)  # type: ignore[attr-defined]


def test_program_json_round_trip(library: DrugLibrary) -> None:
    doc = program_to_json(program(library))
    assert program_to_json(program_from_json(doc, library.get)) == doc


def test_dropped_ack_during_bolus_is_uncertain_then_reconciled_without_double_dose(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, faulty = r.connect()
        from thecal.programmer.clinician import ClinicianProgrammer

        c = ClinicianProgrammer(client, library, catalog.pump)
        c.interrogate()
        before = _bolus_starts(r.dev)
        faulty.drop = 1.0  # the implant's acknowledgement is lost
        with pytest.raises(AckLost):
            c.bolus(Q_("0.05 mL"), Q_("1 h"))
        faulty.drop = 0.0
        assert c.uncertain is not None
        # The bolus did run on the implant (once).
        assert _bolus_starts(r.dev) == before + 1
        with pytest.raises(UncertainDelivery):
            c.bolus(Q_("0.05 mL"), Q_("1 h"))
        assert _bolus_starts(r.dev) == before + 1  # refused locally: never sent
        report = c.interrogate()
        assert report.reconciled is not None and report.reconciled.executed
        assert report.reconciled.state_changed
        assert c.uncertain is None
        # A retry of the same command id is answered from the journal, not executed again.
        lost = next(cmd for cmd in client.sent if cmd.op is Op.CLINICIAN_BOLUS)
        again = client.call(Op.CLINICIAN_BOLUS, lost.args, command_id=lost.command_id)
        assert again.replayed and again.state_changed
        assert _bolus_starts(r.dev) == before + 1
        assert r.handler.executions[lost.command_id] == 1


def test_link_loss_mid_program_write_keeps_old_program(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        old = program_to_json(r.dev.peek().program)  # type: ignore[arg-type]
        client, _ = r.connect()
        new = program(library, "0.7 mL/d")
        staged = client.call(Op.PROGRAM_STAGE, {"program": program_to_json(new)})
        assert staged.ok
        client.transport.close()  # the link drops before the commit
        # A hang guard while the server notices the closed link, not a speed check.
        deadline = time.monotonic() + 60
        while r.server.connections[-1].staging.program is not None:
            if time.monotonic() > deadline:
                pytest.fail("the server kept the staged program 60 s after the link dropped")
            time.sleep(0.01)
        assert program_to_json(r.dev.peek().program) == old  # type: ignore[arg-type]
        # A new session cannot commit the old session's staged program.
        client2, _ = r.connect()
        commit = client2.call(Op.PROGRAM_COMMIT, {"digest": staged.data["digest"]})
        assert commit.code == RefusalCode.STAGED_MISMATCH
        assert program_to_json(r.dev.peek().program) == old  # type: ignore[arg-type]


def test_complete_program_write_is_verified(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with rig(catalog, library) as r:
        c = r.clinician(library, catalog)
        change = c.prepare_program(program(library, "0.6 mL/d"))
        assert any(row.changed for row in change.rows)
        out = c.write_program(
            change, {f.code.value: "test" for f in change.needs_reason}, confirmed=True
        )
        assert out.committed and out.verified
        assert r.dev.peek().program == program(library, "0.6 mL/d")


def test_replayed_command_frame_is_refused_with_no_effect(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect()
        captured: list[bytes] = []
        real_send = client.transport.send

        def tap(frame: bytes) -> None:
            captured.append(frame)
            real_send(frame)

        client.transport.send = tap  # type: ignore[method-assign]
        reply = client.call(
            Op.CLINICIAN_BOLUS,
            {"volume": {"value": 0.05, "unit": "mL"}, "duration": {"value": 1.0, "unit": "h"}},
        )
        assert reply.state_changed
        starts = _bolus_starts(r.dev)
        conn = r.server.connections[-1]
        with r.server.lock:
            out = conn.receive(captured[-1])  # the whole frame, again
        assert len(out) == 1  # an ERROR frame, no reply
        assert _bolus_starts(r.dev) == starts
        assert conn.responder.rejected_frames == 1
        with pytest.raises(ReplayError):
            conn.responder.open(captured[-1])


def test_patient_may_not_program_and_refusal_is_logged(
    catalog: DeviceCatalog, library: DrugLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect(Role.PATIENT)
        before = r.dev.peek().program
        with caplog.at_level("WARNING", logger="thecal.implant"):
            reply = client.call(
                Op.PROGRAM_STAGE, {"program": program_to_json(program(library, "5 mL/d"))}
            )
        assert reply.status is ReplyStatus.REFUSED and reply.code == RefusalCode.FORBIDDEN
        assert r.dev.peek().program == before
        assert any("FORBIDDEN" in m and "SN-TEST" in m for m in caplog.messages)


def test_stale_command_refused(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect()
        starts = _bolus_starts(r.dev)
        with r.server.lock:
            r.dev.advance(r.dev.now + timedelta(minutes=5))  # implant time moves on; 60 s bound
        reply = client.call(
            Op.CLINICIAN_BOLUS,
            {"volume": {"value": 0.05, "unit": "mL"}, "duration": {"value": 1.0, "unit": "h"}},
        )
        assert reply.code == RefusalCode.STALE
        assert _bolus_starts(r.dev) == starts


def test_patient_boluses_until_refused(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with rig(catalog, library) as r:
        p = r.patient()
        first = p.request_bolus()
        assert first.granted
        second = p.request_bolus()
        assert not second.granted and second.reason == "lockout"
        for _ in range(2):  # max 3 a day, lockout 1 h (helpers): 2 more after 1 h each
            with r.server.lock:
                r.dev.advance(r.dev.now + timedelta(hours=1, minutes=1))
            p.channel.call(Op.STATUS)  # re-sync the device clock estimate
            assert p.request_bolus().granted
        with r.server.lock:
            r.dev.advance(r.dev.now + timedelta(hours=1, minutes=1))
        p.channel.call(Op.STATUS)
        last = p.request_bolus()
        assert not last.granted and last.reason == "max-per-day"
        assert p.status().boluses_last_24h == 3


def test_decode_command_is_strict() -> None:
    good = Command(Op.STATUS, "abc", None, {}).encode()
    assert decode_command(good).op is Op.STATUS
    with pytest.raises(ValueError):
        decode_command(good.replace(b'"status"', b'"format"'))
    with pytest.raises(ValueError):
        decode_command(Command(Op.CLINICIAN_BOLUS, "x", None, {}).encode())  # needs issued_at
