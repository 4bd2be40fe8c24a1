"""Stimulator operations at the implant's command handler: the group program is staged, read
back and committed by digest; the firmware's gate decides; device refusals travel as codes; an
operation of the other family is refused (``wrong-family``) without reaching the device; the
remote role acts as the patient, within the clinician's bounds. Codecs are strict both ways.

Test inputs: the rechargeable test IPG (groups A and B, area 'back' at 3 mA, patient range
2 to 4 mA; a 1.3 mm x 3 mm ring contact of 0.1225 cm2)."""

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.implant.stimulator.helpers import program
from tests.unit.programmer.helpers import implant
from tests.unit.programmer.op_strategies import JSON
from tests.unit.programmer.stim_helpers import SETTINGS, handler, run, stim
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.refusals import DeviceRefusal
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.link.roles import Role, permits
from thecal.programmer.commands import CommandError, Op, RefusalCode, ReplyStatus, decode_command
from thecal.programmer.implant_server import ImplantCommandHandler, Staging
from thecal.programmer.wire_device import result_from_json
from thecal.programmer.wire_stim_program import stim_program_from_json, stim_program_to_json
from thecal.programmer.wire_stimulator import (
    impedance_from_json,
    stim_status_from_json,
    stim_status_to_json,
)
from thecal.therapy.findings import Level
from thecal.therapy.library import DrugLibrary


def _dev(h: ImplantCommandHandler) -> SimulatedStimulator:
    assert isinstance(h.device, SimulatedStimulator)
    return h.device


def _ma(q: Any) -> float:
    return float(q.to("mA").magnitude)


# -- program write: stage -> read back -> verify -> commit ---------------------------------------


def test_a_group_is_staged_read_back_and_committed_by_digest() -> None:
    h, st = handler(), Staging()
    prog = program(2.5, patient_max=3.0)
    staged = run(
        h, Op.GROUP_STAGE, {"group": "C", "program": stim_program_to_json(prog)}, staging=st
    )
    assert staged.ok and staged.data["digest"]
    assert "C" not in _dev(h).firmware.groups  # staged only: nothing written yet
    back = run(h, Op.GROUP_READ_STAGED, staging=st)
    assert back.data["digest"] == staged.data["digest"] and back.data["group"] == "C"
    assert stim_program_from_json(back.data["program"]) == prog
    done = run(h, Op.GROUP_COMMIT, {"digest": staged.data["digest"]}, staging=st)
    assert done.ok and done.state_changed and done.data["group"] == "C"
    assert _dev(h).firmware.groups["C"] == prog
    assert st.stim_program is None  # a written staging is cleared
    # A is still running: writing another group does not switch to it.
    assert _dev(h).interrogate().group == "A"


def test_a_commit_naming_another_digest_changes_nothing() -> None:
    h, st = handler(), Staging()
    run(
        h, Op.GROUP_STAGE, {"group": "C", "program": stim_program_to_json(program(2.5))}, staging=st
    )
    before = dict(_dev(h).firmware.groups)
    reply = run(h, Op.GROUP_COMMIT, {"digest": "0" * 64}, staging=st)
    assert reply.status is ReplyStatus.REFUSED and reply.code == RefusalCode.STAGED_MISMATCH.value
    assert _dev(h).firmware.groups == before
    nothing = run(h, Op.GROUP_COMMIT, {"digest": "0" * 64})  # another session: nothing staged
    assert nothing.code == RefusalCode.STAGED_MISMATCH.value


def test_the_firmware_gate_refuses_a_program_above_the_charge_density_limit() -> None:
    # 10 mA x 500 us = 5 uC per phase on one 0.1225 cm2 contact: 5 / 0.1225 = 40.8 uC/cm2,
    # k = log10(40.8) + log10(5) = 1.61 + 0.70 = 2.31 > 1.5 (the shipped Shannon k).
    h, st = handler(), Staging()
    hot = program(10.0, pulse_width=500)
    staged = run(
        h, Op.GROUP_STAGE, {"group": "C", "program": stim_program_to_json(hot)}, staging=st
    )
    reply = run(h, Op.GROUP_COMMIT, {"digest": staged.data["digest"]}, staging=st)
    assert reply.status is ReplyStatus.OK and not reply.state_changed
    assert reply.code == DeviceRefusal.EXCEEDS_LIMITS.value
    result = result_from_json(reply.data["result"])
    assert result.refusal is DeviceRefusal.EXCEEDS_LIMITS
    assert result.findings and all(f.level is Level.HARD for f in result.findings)
    assert "C" not in _dev(h).firmware.groups
    assert st.stim_program is not None  # a refused commit keeps the staging (nothing changed)


# -- the other operations ------------------------------------------------------------------------


def test_impedance_test_returns_every_reading_and_the_safe_maxima() -> None:
    h = handler()
    reply = run(h, Op.IMPEDANCE_TEST)
    assert reply.ok and reply.state_changed
    report = impedance_from_json(reply.data["impedance"])
    # 8 contacts monopolar + 7 adjacent bipolar pairs at least.
    assert len([r for r in report.readings if r.kind == "monopolar"]) == 8
    assert len([r for r in report.readings if r.kind == "bipolar"]) == 7
    assert [a for a, _ in reply.data["safe_max"]] == ["back"]


def test_clinician_amplitude_group_and_stimulation() -> None:
    h = handler()
    amp = run(h, Op.SET_AMPLITUDE, {"area": "back", "amplitude": {"value": 3.5, "unit": "mA"}})
    assert amp.ok and _ma(dict(_dev(h).interrogate().amplitudes)["back"]) == pytest.approx(3.5)
    assert run(h, Op.SELECT_GROUP, {"group": "B"}).ok
    assert _dev(h).interrogate().group == "B"
    unknown = run(h, Op.SELECT_GROUP, {"group": "Z"})
    assert unknown.code == DeviceRefusal.UNKNOWN_GROUP.value and not unknown.state_changed
    assert run(h, Op.STIMULATION, {"on": False}).state_changed
    assert not _dev(h).interrogate().stimulating
    assert run(h, Op.STIMULATION, {"on": True}).state_changed


def test_mri_mode_without_labelling_is_refused_with_a_code() -> None:
    # The test IPG has no MRI labelling ("none"): no MRI mode.
    reply = run(handler(), Op.MRI_MODE, {"on": True})
    assert reply.code == DeviceRefusal.UNSUPPORTED.value and not reply.state_changed


# -- the remote (patient) role --------------------------------------------------------------------


def test_the_remote_moves_the_amplitude_only_within_the_clinicians_range() -> None:
    h = handler()
    ok = run(
        h,
        Op.SET_AMPLITUDE,
        {"area": "back", "amplitude": {"value": 4.0, "unit": "mA"}},
        Role.REMOTE,
    )
    assert ok.ok  # the top of the range itself is allowed
    over = run(
        h,
        Op.SET_AMPLITUDE,
        {"area": "back", "amplitude": {"value": 4.01, "unit": "mA"}},
        Role.REMOTE,
    )
    assert over.code == DeviceRefusal.OUTSIDE_PATIENT_RANGE.value and not over.state_changed
    under = run(
        h,
        Op.SET_AMPLITUDE,
        {"area": "back", "amplitude": {"value": 1.99, "unit": "mA"}},
        Role.REMOTE,
    )
    assert under.code == DeviceRefusal.OUTSIDE_PATIENT_RANGE.value
    s = _dev(h).interrogate()
    assert _ma(dict(s.amplitudes)["back"]) == pytest.approx(4.0)  # unchanged by the refusals
    assert _ma(s.program.areas[0].patient_max) == pytest.approx(4.0)  # type: ignore[union-attr]


def test_the_remote_cannot_undo_the_clinicians_off() -> None:
    h = handler()
    assert run(h, Op.STIMULATION, {"on": False}).state_changed
    reply = run(h, Op.STIMULATION, {"on": True}, Role.REMOTE)
    assert reply.code == DeviceRefusal.NOT_DELIVERING.value
    assert not _dev(h).interrogate().stimulating


def test_the_remote_status_shows_no_program_details() -> None:
    h = handler()
    run(
        h,
        Op.SET_AMPLITUDE,
        {"area": "back", "amplitude": {"value": 3.2, "unit": "mA"}},
        Role.REMOTE,
    )
    d = run(h, Op.STATUS, role=Role.REMOTE).data
    assert "program" not in d and "status" not in d
    assert d["areas"] == [
        {
            "name": "back",
            "amplitude": {"value": pytest.approx(3.2), "unit": "mA"},
            "patient_min": {"value": 2.0, "unit": "mA"},
            "patient_max": {"value": 4.0, "unit": "mA"},
        }
    ]
    assert [j["op"] for j in d["journal"]] == ["set_amplitude"]


# -- families ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "args"),
    [
        (Op.REFILL, {"volume": {"value": 20.0, "unit": "mL"}}),
        (Op.PATIENT_BOLUS, {}),
        (Op.PROGRAM_STAGE, {"program": {}}),
        (Op.POST_MRI_RESUME, {}),
    ],
)
def test_a_pump_operation_sent_to_a_stimulator_is_refused_by_code(
    op: Op, args: dict[str, Any]
) -> None:
    h = handler()
    seq = _dev(h).interrogate().last_seq
    reply = run(h, op, args)
    assert reply.status is ReplyStatus.REFUSED and reply.code == RefusalCode.WRONG_FAMILY.value
    assert h.executions == {} and _dev(h).interrogate().last_seq == seq


@pytest.mark.parametrize("op", [Op.IMPEDANCE_TEST, Op.STIMULATION, Op.GROUP_READ_STAGED])
def test_a_stimulator_operation_sent_to_a_pump_is_refused_by_code(
    op: Op, catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    h = ImplantCommandHandler(implant(catalog, library), library.get, SETTINGS)
    args = {"on": True} if op is Op.STIMULATION else {}
    reply = run(h, op, args)
    assert reply.code == RefusalCode.WRONG_FAMILY.value and h.executions == {}


def test_a_pump_handler_needs_its_drug_library(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with pytest.raises(ValueError, match="drug library"):
        ImplantCommandHandler(implant(catalog, library), None, SETTINGS)


# -- codecs -------------------------------------------------------------------------------------


def test_the_status_round_trips_after_an_impedance_test() -> None:
    dev = stim()
    dev.impedance_test()
    s = dev.interrogate()
    assert s.last_impedance is not None
    doc = json.loads(json.dumps(stim_status_to_json(s)))
    assert stim_status_from_json(doc) == s


def test_a_status_that_contradicts_itself_is_refused() -> None:
    doc = stim_status_to_json(stim().interrogate())
    with pytest.raises(CommandError) as info:
        stim_status_from_json({**doc, "delivery": "stopped by clinician"})
    assert info.value.field == "status.delivery"
    with pytest.raises(CommandError) as info:
        stim_status_from_json({**doc, "family": "drug pump"})
    assert info.value.field == "status.family"


def _doc(**area: Any) -> dict[str, Any]:
    doc = stim_program_to_json(program(3.0, patient_max=4.0))
    doc["areas"][0].update(area)
    return doc


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (_doc(pulse_width={"value": 0.0, "unit": "us"}), "program.areas[0].pulse_width"),
        (_doc(pulse_width={"value": -300.0, "unit": "us"}), "program.areas[0].pulse_width"),
        (_doc(amplitude={"value": -1.0, "unit": "mA"}), "program.areas[0].amplitude"),
        (_doc(amplitude={"value": 3.0, "unit": "V"}), "program.areas[0].amplitude"),  # current mode
        (_doc(amplitude={"value": 3.0, "unit": "mL"}), "program.areas[0].amplitude"),
        (_doc(amplitude={"value": True, "unit": "mA"}), "program.areas[0].amplitude"),
        (_doc(rate={"value": 50.0, "unit": "Hz"}), "program.areas[0].rate"),  # not a key here
        (_doc(mode="pulsed"), "program.areas[0].mode"),
        (_doc(contacts=[]), "program.areas[0].contacts"),
        (
            _doc(contacts=[{"lead": "L1", "index": 3, "polarity": "cathode", "fraction": 0.0}]),
            "program.areas[0].contacts[0].fraction",
        ),
        (
            _doc(contacts=[{"lead": "L1", "index": 3, "polarity": "cathode", "fraction": 1.5}]),
            "program.areas[0].contacts[0].fraction",
        ),
        (
            _doc(contacts=[{"lead": "L1", "index": -1, "polarity": "cathode", "fraction": 1.0}]),
            "program.areas[0].contacts[0].index",
        ),
        (
            _doc(contacts=[{"lead": "case", "index": 0, "polarity": "anode", "fraction": 1.0}]),
            "program.areas[0].contacts[0].index",
        ),
        ({"title": "", "areas": []}, "program.areas"),
        ({"title": "", "areas": [_doc()["areas"][0]] * 5}, "program.areas"),
        ({"title": "", "areas": [_doc()["areas"][0]] * 2}, "program.areas"),  # same names
    ],
)
def test_a_malformed_program_is_refused_naming_the_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(CommandError) as info:
        stim_program_from_json(doc)
    assert info.value.field == field


def test_the_edges_of_a_share_and_an_amplitude_are_accepted() -> None:
    # A share of exactly 1 and an amplitude of exactly 0 mA (off) are programs; 0 and above 1
    # are not (above).
    doc = _doc(amplitude={"value": 0.0, "unit": "mA"})
    doc["areas"][0]["contacts"][0]["fraction"] = 1.0
    assert _ma(stim_program_from_json(doc).areas[0].amplitude) == 0.0


@settings(max_examples=200, deadline=None)
@given(doc=JSON)
def test_any_json_is_a_program_or_a_command_error(doc: Any) -> None:
    with contextlib.suppress(CommandError):  # anything else fails the test
        stim_program_from_json(doc)


@settings(max_examples=100, deadline=None)
@given(amp=st.floats(0, 20), pw=st.floats(10, 1000), rate=st.floats(1, 1200), top=st.floats(0, 20))
def test_a_program_round_trips_exactly(amp: float, pw: float, rate: float, top: float) -> None:
    p = program(amp, pulse_width=pw, rate=rate, cathodes=(3, 4), anodes=(2,), patient_max=top)
    doc = json.loads(json.dumps(stim_program_to_json(p)))
    assert stim_program_from_json(doc) == p
    assert stim_program_to_json(stim_program_from_json(doc)) == stim_program_to_json(p)


# -- the stimulator's op envelopes are as strict as the pump's -----------------------------------


def _op(op: str, args: Any, issued_at: Any = "2025-01-06T09:00:00") -> bytes:
    return json.dumps({"v": 1, "op": op, "id": "c1", "issued_at": issued_at, "args": args}).encode()


AMP = {"area": "back", "amplitude": {"value": 3.0, "unit": "mA"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            _op("set_amplitude", {**AMP, "amplitude": {"value": 3.0, "unit": "mL"}}),
            "args.amplitude",
        ),
        (_op("set_amplitude", {**AMP, "amplitude": {"value": 3.0, "unit": "V"}}), "args.amplitude"),
        (
            _op("set_amplitude", {**AMP, "amplitude": {"value": "3", "unit": "mA"}}),
            "args.amplitude.value",
        ),
        (_op("set_amplitude", {**AMP, "area": ""}), "args.area"),
        (_op("set_amplitude", {**AMP, "area": "x" * 65}), "args.area"),
        (_op("set_amplitude", {**AMP, "patient": True}), "args.patient"),  # no self-declared role
        (_op("set_amplitude", AMP, None), "issued_at"),  # it acts
        (_op("stimulation", {"on": 1}), "args.on"),  # no coercion
        (_op("stimulation", {}), "args.on"),
        (_op("mri_mode", {"on": "true"}), "args.on"),
        (_op("select_group", {"group": 3}), "args.group"),
        (_op("group_stage", {"group": "C"}), "args.program"),
        (_op("group_commit", {"digest": "x" * 129}), "args.digest"),
        (_op("impedance_test", {"contacts": "all"}), "args.contacts"),
    ],
)
def test_a_malformed_stimulator_command_is_refused_naming_the_field(
    body: bytes, field: str
) -> None:
    with pytest.raises(CommandError) as info:
        decode_command(body)
    assert info.value.field == field


# -- properties ------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(asks=st.lists(st.floats(0.0, 10.0, allow_nan=False), min_size=1, max_size=12))
def test_no_sequence_of_remote_requests_leaves_the_clinicians_range(asks: list[float]) -> None:
    h = handler()
    for mA in asks:
        before = _ma(dict(_dev(h).interrogate().amplitudes)["back"])
        args = {"area": "back", "amplitude": {"value": mA, "unit": "mA"}}
        reply = run(h, Op.SET_AMPLITUDE, args, Role.REMOTE)
        running = _ma(dict(_dev(h).interrogate().amplitudes)["back"])
        inside = 2.0 <= mA <= 4.0  # the clinician's range (both ends allowed)
        assert reply.state_changed is inside
        assert running == (pytest.approx(mA) if inside else before)
        assert 2.0 <= running <= 4.0


@pytest.mark.parametrize("op", list(Op))
def test_the_remote_role_may_ask_only_its_four_operations(op: Op) -> None:
    remote_ops = {Op.STATUS, Op.SET_AMPLITUDE, Op.SELECT_GROUP, Op.STIMULATION}
    assert permits(Role.REMOTE, op.value) is (op in remote_ops)
    assert permits(Role.CLINICIAN, op.value)
    # The pump's patient controller gains nothing from the stimulator's operations.
    assert permits(Role.PATIENT, op.value) is (op in {Op.STATUS, Op.PATIENT_BOLUS})
