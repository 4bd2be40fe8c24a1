"""The stimulator over the authenticated link: the clinician programmer and the patient remote
as services, roles (the remote is bounded by the clinician; it cannot write a program), a lost
acknowledgement, a dropped link mid write, and attacks on the link (replayed frame, forged
frame, wrong role, wrong key) for the stimulator's operations.

Test inputs: the rechargeable test IPG (groups A and B, area 'back' at 3 mA, patient range
2 to 4 mA)."""

import time

import pytest

from tests.unit.implant.stimulator.helpers import program
from tests.unit.programmer.stim_helpers import stim_rig
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.refusals import DeviceRefusal
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.link import ReplayError, Role
from thecal.programmer.clinician import ClinicianProgrammer
from thecal.programmer.clinician_session import CommandRefused, UncertainDelivery
from thecal.programmer.commands import CommandError, Op, RefusalCode, ReplyStatus
from thecal.programmer.link_client import AckLost, LinkRefused
from thecal.programmer.wire_stim_program import stim_program_to_json
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_


def _amp(dev: SimulatedStimulator, area: str = "back") -> float:
    return float(dict(dev.interrogate().amplitudes)[area].to("mA").magnitude)


def _groups(dev: SimulatedStimulator) -> dict[str, object]:
    return dict(dev.firmware.groups)


def test_clinician_interrogates_tests_impedance_writes_and_selects_a_group() -> None:
    with stim_rig() as r:
        c = r.clinician()
        first = c.interrogate()
        assert first.status.group == "A" and first.status.groups == ("A", "B")
        assert first.events  # the groups written at build time
        imp = c.impedance_test()
        assert imp.report is not None and imp.result.state_changed
        assert [a for a, _ in imp.safe_max] == ["back"]
        new = program(2.5, patient_max=3.0)
        assert c.write_group("C", new).state_changed
        assert r.dev.firmware.groups["C"] == new
        assert c.select_group("C").state_changed
        assert c.set_amplitude("back", Q_(2.8, "mA")).state_changed
        again = c.interrogate()
        assert again.status.group == "C" and _amp(r.dev) == pytest.approx(2.8)
        assert again.status.last_impedance is not None
        assert all(e.seq > first.events[-1].seq for e in again.events)  # only the new ones


def test_the_firmware_refusal_reaches_the_clinician_as_a_code() -> None:
    with stim_rig() as r:
        c = r.clinician()
        # 10 mA x 500 us on a 0.1225 cm2 contact: k = 2.31 > 1.5 (see test_stimulator_ops).
        result = c.write_group("C", program(10.0, pulse_width=500))
        assert result.refused and result.refusal is DeviceRefusal.EXCEEDS_LIMITS
        assert "C" not in r.dev.firmware.groups


def test_the_remote_steps_within_the_clinicians_range_only() -> None:
    with stim_rig() as r:
        p = r.remote()
        s = p.status()
        assert s.area().patient_max == Q_(4.0, "mA") and s.area().amplitude == Q_(3.0, "mA")
        assert p.step(Q_(0.5, "mA")).done  # 3.0 + 0.5 = 3.5 mA
        assert p.step(Q_(0.5, "mA")).done  # 3.5 + 0.5 = 4.0 mA: the top itself is allowed
        over = p.step(Q_(0.5, "mA"))  # 4.5 mA: above the clinician's 4 mA
        assert not over.done and over.reason == DeviceRefusal.OUTSIDE_PATIENT_RANGE.value
        assert "range your clinician set" in over.message
        assert _amp(r.dev) == pytest.approx(4.0)  # unchanged by the refusal
        assert p.step(Q_(1.0, "mA"), up=False).done  # 3.0 mA
        assert p.select_group("B").done and r.dev.interrogate().group == "B"
        assert not p.select_group("Z").done
        assert p.stimulation(False).done and not r.dev.interrogate().stimulating
        assert p.stimulation(True).done and r.dev.interrogate().stimulating


@pytest.mark.parametrize(
    ("op", "args"),
    [
        (Op.GROUP_STAGE, {"group": "C", "program": stim_program_to_json(program(9.0))}),
        (Op.GROUP_COMMIT, {"digest": "0" * 64}),
        (Op.IMPEDANCE_TEST, {}),
        (Op.MRI_MODE, {"on": True}),
        (Op.INTERROGATE, {}),
        (Op.CLOCK_SET, {"device_time": "2030-01-01T00:00:00"}),
        (Op.ACKNOWLEDGE_ALARM, {}),
        (Op.PATIENT_BOLUS, {}),
    ],
)
def test_the_remote_may_not_program_or_test_and_nothing_changes(
    op: Op, args: dict[str, object]
) -> None:
    with stim_rig() as r:
        client = r.connect(Role.REMOTE)
        before, seq = _groups(r.dev), r.dev.interrogate().last_seq
        reply = client.call(op, args)
        assert reply.status is ReplyStatus.REFUSED and reply.code == RefusalCode.FORBIDDEN.value
        assert _groups(r.dev) == before and r.dev.interrogate().last_seq == seq
        assert r.handler.executions == {}


def test_a_pump_patient_controller_may_not_change_a_current() -> None:
    with stim_rig() as r:
        client = r.connect(Role.PATIENT)
        reply = client.call(
            Op.SET_AMPLITUDE, {"area": "back", "amplitude": {"value": 3.5, "unit": "mA"}}
        )
        assert reply.code == RefusalCode.FORBIDDEN.value and _amp(r.dev) == 3.0


def test_the_remote_key_cannot_claim_the_clinician_role() -> None:
    with stim_rig() as r, pytest.raises(LinkRefused):
        r.connect(Role.CLINICIAN, key_role=Role.REMOTE)


def test_a_lost_acknowledgement_is_uncertain_until_the_journal_settles_it() -> None:
    with stim_rig() as r:
        p = r.remote()
        assert r.faulty is not None
        r.faulty.drop = 1.0
        out = p.set_amplitude("back", Q_(3.5, "mA"))
        r.faulty.drop = 0.0
        assert not out.done and out.reason == "uncertain"
        assert _amp(r.dev) == pytest.approx(3.5)  # it did run on the implant (once)
        assert p.set_amplitude("back", Q_(3.6, "mA")).reason == "uncertain"  # not sent
        assert _amp(r.dev) == pytest.approx(3.5)
        s = p.status()
        assert s.settled is not None and s.settled["state_changed"] and not s.uncertain
        assert p.set_amplitude("back", Q_(3.6, "mA")).done


def test_the_clinician_refuses_new_changes_while_one_is_uncertain() -> None:
    with stim_rig() as r:
        c = r.clinician()
        c.interrogate()
        assert r.faulty is not None
        r.faulty.drop = 1.0
        with pytest.raises(AckLost):
            c.stimulation(False)
        r.faulty.drop = 0.0
        with pytest.raises(UncertainDelivery):
            c.set_amplitude("back", Q_(2.5, "mA"))
        report = c.interrogate()
        assert report.settled is not None and report.settled_entry is not None
        assert report.settled_entry["state_changed"] and not report.status.stimulating
        assert c.stimulation(True).state_changed


def test_link_loss_mid_group_write_keeps_the_groups() -> None:
    with stim_rig() as r:
        before = _groups(r.dev)
        client = r.connect()
        staged = client.call(
            Op.GROUP_STAGE, {"group": "A", "program": stim_program_to_json(program(2.0))}
        )
        assert staged.ok
        client.transport.close()  # the link drops before the commit
        deadline = time.monotonic() + 60  # a hang guard, not a speed check
        while r.server.connections[-1].staging.stim_program is not None:
            if time.monotonic() > deadline:
                pytest.fail("the staged group outlived its link by 60 s")
            time.sleep(0.01)
        other = r.connect()
        commit = other.call(Op.GROUP_COMMIT, {"digest": staged.data["digest"]})
        assert commit.code == RefusalCode.STAGED_MISMATCH.value
        assert _groups(r.dev) == before


def test_a_replayed_amplitude_frame_is_refused_with_no_effect() -> None:
    with stim_rig() as r:
        client = r.connect()
        captured: list[bytes] = []
        real_send = client.transport.send

        def tap(frame: bytes) -> None:
            captured.append(frame)
            real_send(frame)

        client.transport.send = tap  # type: ignore[method-assign]
        reply = client.call(
            Op.SET_AMPLITUDE, {"area": "back", "amplitude": {"value": 3.5, "unit": "mA"}}
        )
        assert reply.state_changed
        client.call(  # then back down: a replay of the first would raise it again
            Op.SET_AMPLITUDE, {"area": "back", "amplitude": {"value": 2.5, "unit": "mA"}}
        )
        conn = r.server.connections[-1]
        with r.server.lock:
            out = conn.receive(captured[-2])  # the 3.5 mA frame, again
        assert len(out) == 1  # an ERROR frame, no reply
        assert _amp(r.dev) == pytest.approx(2.5)
        assert conn.responder.rejected_frames == 1
        with pytest.raises(ReplayError):
            conn.responder.open(captured[-2])


def test_a_forged_frame_is_refused_with_no_effect() -> None:
    with stim_rig() as r:
        client = r.connect()
        captured: list[bytes] = []
        real_send = client.transport.send

        def tap(frame: bytes) -> None:
            captured.append(frame)

        client.transport.send = tap  # type: ignore[method-assign]
        with pytest.raises(AckLost):  # captured, never delivered
            client.call(Op.STIMULATION, {"on": False})
        client.transport.send = real_send  # type: ignore[method-assign]
        frame = bytearray(captured[-1])
        frame[-5] ^= 0x01  # one bit of the sealed body or its tag
        conn = r.server.connections[-1]
        with r.server.lock:
            out = conn.receive(bytes(frame))
        assert len(out) == 1 and conn.responder.rejected_frames == 1
        assert r.dev.interrogate().stimulating and r.handler.executions == {}


def test_a_refused_command_raises_for_the_clinician() -> None:
    with stim_rig() as r:
        c = r.clinician()
        with pytest.raises(CommandRefused) as info:
            c._send(Op.REFILL, {"volume": {"value": 1.0, "unit": "mL"}})
        assert info.value.reply.code == RefusalCode.WRONG_FAMILY.value


def test_the_pump_programmer_says_it_is_talking_to_a_stimulator(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    with stim_rig() as r:
        c = ClinicianProgrammer(r.connect(), library, catalog.pump)
        with pytest.raises(CommandError) as info:
            c.interrogate()
        assert (
            info.value.field == "status.family" and "spinal cord stimulator" in info.value.message
        )
