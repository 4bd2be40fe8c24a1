"""Clinician and patient services over the in-process link: alarm test, clock, MRI checklist,
priming bolus, refill with a new concentration (bridge), the patient's uncertain state and
logging on both sides. Unsourced numbers are test inputs (see helpers)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.unit.implant.helpers import morphine
from tests.unit.programmer.helpers import SERIAL, rig
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.implant import SimulatedPump
from thecal.link import Role
from thecal.programmer.clinician import (
    ClinicianProgrammer,
    admixture_changed,
    mri_ready,
)
from thecal.programmer.commands import READ_ONLY_OPS, Op, Reply, ReplyStatus
from thecal.programmer.link_client import AckLost
from thecal.programmer.patient import PatientController
from thecal.programmer.wire_device import result_from_json
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_, InputError

PROMETRA = "Prometra II 20 mL"


def _kinds(dev: SimulatedPump, kind: EventKind) -> int:
    return sum(1 for e in dev.events(0) if e.kind is kind)


def _clinician(r: Any, library: DrugLibrary, catalog: DeviceCatalog) -> ClinicianProgrammer:
    return r.clinician(library, catalog)  # type: ignore[no-any-return]


# -- alarm test and clock ----------------------------------------------------------------------


def test_alarm_test_sounds_the_tones_and_is_logged(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        before = _kinds(r.dev, EventKind.ALARM_TEST)
        reply = c.alarm_test()
        result = result_from_json(reply.data["result"])
        assert reply.processed and not reply.state_changed
        # SynchroMed: a critical and a non-critical tone (Medtronic: two-tone 3 s, one-tone).
        assert len(result.tones) == 2
        assert _kinds(r.dev, EventKind.ALARM_TEST) == before + 1


def test_clock_drift_detected_and_corrected(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        device = r.dev.read_clock()  # the rig's clock moves only with dev.advance
        reference = device + timedelta(minutes=5)
        check = c.read_clock(reference, Q_(1, "min"))
        # drift = device − reference = −5 min = −300 s, beyond ±60 s
        assert check.drift.to("s").magnitude == pytest.approx(-300.0)
        assert not check.within
        assert c.read_clock(reference, Q_(10, "min")).within
        reply = c.set_clock(reference)
        assert reply.state_changed
        assert r.dev.read_clock() == reference
        after = c.read_clock(reference, Q_(1, "s"))
        assert after.drift.to("s").magnitude == pytest.approx(0.0) and after.within


def test_clock_tolerance_must_be_a_time(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        with pytest.raises(InputError):
            c.read_clock(datetime(2024, 1, 1), Q_(1, "mL"))


# -- MRI -----------------------------------------------------------------------------------------


def test_mri_before_peristaltic_is_read_only_and_ready(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect()
        c = ClinicianProgrammer(client, library, catalog.pump)
        program = r.dev.peek().program
        items = c.mri_before(emptied=False)  # a peristaltic pump need not be emptied
        assert mri_ready(items)
        # Nothing but reads went to the implant: never "stop the pump" as MRI preparation.
        assert {cmd.op for cmd in client.sent} <= READ_ONLY_OPS
        assert r.dev.peek().program == program and r.dev.peek().delivering


def test_mri_before_flags_a_pump_stopped_by_the_clinician(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        with r.server.lock:
            assert r.dev.stop().state_changed
        c = _clinician(r, library, catalog)
        items = c.mri_before(emptied=True)
        assert not mri_ready(items)
        assert any("stopped" in i.text and not i.done for i in items)


def test_mri_before_valve_gated_pump_must_be_emptied(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library, PROMETRA) as r:
        c = _clinician(r, library, catalog)
        not_emptied = c.mri_before(emptied=False)
        assert not mri_ready(not_emptied)
        assert any("valve-gated" in i.text and not i.done for i in not_emptied)
        assert mri_ready(c.mri_before(emptied=True))


def test_mri_after_resumes_only_once_the_rotor_is_back(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        with r.server.lock:
            # 1 h scan, 2 h recovery (within the catalog's sourced 2-24 h).
            r.dev.mri_scan(Q_(1, "h"), Q_(2, "h"))
            r.dev.advance(r.dev.now + timedelta(minutes=30))
        c.channel.call(Op.CLOCK_READ)  # re-sync the clock estimate (the reply carries it)
        during = c.mri_after()
        assert not mri_ready(during)  # the rotor is still stopped: not "resumed"
        with r.server.lock:
            r.dev.advance(r.dev.now + timedelta(hours=3))
        c.channel.call(Op.CLOCK_READ)
        after = c.mri_after()
        assert mri_ready(after) and c.status.delivering


def test_post_mri_resume_resets_the_flow_activated_valve(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library, PROMETRA) as r:
        c = _clinician(r, library, catalog)
        with r.server.lock:
            r.dev.mri_scan(Q_(1, "h"))
        assert r.dev.plant.flow_valve_closed
        items = c.mri_after()
        assert items[0].done and mri_ready(items)
        assert not r.dev.plant.flow_valve_closed
        assert _kinds(r.dev, EventKind.POST_MRI_RESUME) == 1


# -- priming bolus -------------------------------------------------------------------------------


def test_priming_bolus_goes_out_as_a_priming_command(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect()
        c = ClinicianProgrammer(client, library, catalog.pump)
        before = _kinds(r.dev, EventKind.BOLUS_START)
        outcome = c.bolus(Q_("0.05 mL"), Q_("1 h"), kind="priming")
        assert outcome.delivered
        assert _kinds(r.dev, EventKind.BOLUS_START) == before + 1
        assert [e["op"] for e in r.handler.journal()][-1] == Op.PRIMING_BOLUS.value
        assert c.basal_rate_now().to("mL/d").magnitude == pytest.approx(0.5)  # helpers' rate


# -- refill ----------------------------------------------------------------------------------------

# The refill goes through the gate: the rig's patient has no recorded opioid status and the
# program has morphine patient boluses, a soft finding that needs a reason (as a program does).
_OPIOID_STATUS_REASON = {"PTB-OPIOID-STATUS-UNKNOWN": "opioid-tolerant, per the referral letter"}


def test_refill_with_new_concentration_requires_bridge_inputs_before_recording(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        refills = _kinds(r.dev, EventKind.REFILL)
        with pytest.raises(InputError) as exc:
            c.refill(Q_("19 mL"), Q_("20 mL"), new_admixture=morphine(library, "20 mg/mL"))
        assert exc.value.field == "catheter_volume"
        with pytest.raises(InputError) as exc:
            # SynchroMed's internal volume is not public (catalog has none): required too.
            c.refill(
                Q_("19 mL"),
                Q_("20 mL"),
                new_admixture=morphine(library, "20 mg/mL"),
                catheter_volume=Q_("0.2 mL"),
            )
        assert exc.value.field == "internal_volume"
        assert _kinds(r.dev, EventKind.REFILL) == refills  # nothing recorded


def test_refill_with_new_concentration_computes_the_bridge_and_next_date(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        # Same volume rate at twice the concentration: the dose doubles until the program is
        # rewritten (5 → 10 mg/d, +100 %), a titration step that needs a reason too.
        report = c.refill(
            Q_("19 mL"),
            Q_("20 mL"),
            {**_OPIOID_STATUS_REASON, "TITR-PERCENT-MAX": "program rewritten at half the rate"},
            new_admixture=morphine(library, "20 mg/mL"),
            catheter_volume=Q_("0.2 mL"),  # test input
            internal_volume=Q_("0.25 mL"),  # test input: not public
        )
        assert report.admixture_changed and report.bridge is not None
        b = report.bridge
        assert b.needed and b.program is not None
        # dead volume = 0.25 + 0.2 = 0.45 mL; new rate 0.5 mL/d (helpers)
        assert b.dead_volume is not None
        assert b.dead_volume.to("mL").magnitude == pytest.approx(0.45)
        # intended 0.5 mL/d × 20 mg/mL = 10 mg/d; bridge rate 10 mg/d ÷ 10 mg/mL = 1 mL/d;
        # duration 0.45 mL ÷ 1 mL/d = 0.45 d = 10.8 h
        assert b.program.rate.to("mL/d").magnitude == pytest.approx(1.0)
        assert b.program.duration.to("h").magnitude == pytest.approx(10.8)
        assert report.notes and "old admixture" in report.notes[-1]
        assert report.forecast is not None and report.forecast.refill_by is not None
        assert report.forecast.refill_by > r.dev.read_clock()


def test_refill_same_admixture_needs_no_bridge_inputs(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        same = morphine(library, "10 mg/mL")
        assert not admixture_changed(c.status.program.admixture, same)  # type: ignore[union-attr]
        # The same concentration in another unit is not a change: 10 mg/mL = 10000 mcg/mL.
        assert not admixture_changed(same, morphine(library, "10000 mcg/mL"))
        report = c.refill(Q_("19 mL"), Q_("20 mL"), _OPIOID_STATUS_REASON, new_admixture=same)
        assert not report.admixture_changed and report.bridge is None and not report.notes
        assert report.forecast is not None and report.forecast.refill_by is not None


# -- patient controller: uncertain state -----------------------------------------------------


class _StubChannel:
    """Answers STATUS with a fixed journal; PATIENT_BOLUS loses its acknowledgement."""

    def __init__(self, journal: list[dict[str, Any]]) -> None:
        self.journal = journal
        self.calls: list[Op] = []

    def call(
        self, op: Op, args: Mapping[str, Any] | None = None, *, command_id: str | None = None
    ) -> Reply:
        from thecal.programmer.commands import Command

        self.calls.append(op)
        if op is Op.PATIENT_BOLUS:
            raise AckLost(Command(op, "lost-1", datetime(2024, 1, 1)), "timed out")
        data = {
            "delivering": True,
            "delivery": "delivering",
            "device_time": "2024-01-01T00:00:00",
            "reservoir_estimate": {"value": 10.0, "unit": "mL"},
            "alarms": [],
            "patient_boluses_last_24h": 0,
            "patient_bolus": None,
            "journal": self.journal,
        }
        return Reply(op.value, "s", ReplyStatus.OK, datetime(2024, 1, 1), processed=True, data=data)


def test_patient_uncertain_is_settled_only_by_its_own_command_id() -> None:
    other = {"id": "someone-else", "op": "patient_bolus", "state_changed": True, "code": ""}
    channel = _StubChannel([other])
    p = PatientController(channel)
    assert p.request_bolus().reason == "uncertain"
    status = p.status()
    # Another controller's entry says nothing about ours: still uncertain, still refusing.
    assert status.uncertain and status.settled is None and p.uncertain_id == "lost-1"
    assert p.request_bolus().reason == "uncertain"
    assert channel.calls.count(Op.PATIENT_BOLUS) == 1  # never re-sent blindly
    channel.journal = [other, {"id": "lost-1", "state_changed": False, "code": "device-refused"}]
    settled = p.status()
    assert not settled.uncertain and p.uncertain_id is None
    assert settled.settled is not None and not settled.settled.granted


def test_patient_dropped_ack_settled_from_the_implant_journal(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, faulty = r.connect(Role.PATIENT)
        p = PatientController(client)
        faulty.drop = 1.0
        outcome = p.request_bolus()
        faulty.drop = 0.0
        assert outcome.reason == "uncertain" and p.uncertain_id is not None
        assert p.request_bolus().reason == "uncertain"  # refused locally
        status = p.status()
        assert status.settled is not None and status.settled.granted  # it did run, once
        assert status.boluses_last_24h == 1
        assert _kinds(r.dev, EventKind.PTB_GRANTED) == 1


# -- logging on both sides -------------------------------------------------------------------


def test_every_command_is_logged_on_both_sides_with_the_serial(
    catalog: DeviceCatalog, library: DrugLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    with rig(catalog, library) as r, caplog.at_level("DEBUG"):
        client, faulty = r.connect()
        reply = client.call(Op.ALARM_TEST)
        cid = reply.command_id
        faulty.drop = 1.0
        with pytest.raises(AckLost) as lost:
            client.call(Op.ALARM_TEST)
        faulty.drop = 0.0

    def lines(logger: str) -> list[str]:
        return [rec.getMessage() for rec in caplog.records if rec.name == logger]

    prog, impl = lines("thecal.programmer"), lines("thecal.implant")
    serial = f"serial={SERIAL}"
    for side in (prog, impl):
        assert side and all(serial in m for m in side)
    # Programmer: sent, received; the lost acknowledgement is an error with the serial.
    assert any(" send op=alarm_test id=" + cid in m for m in prog)
    assert any(" receive op=alarm_test id=" + cid in m for m in prog)
    lost_id = lost.value.command.command_id
    assert any(f"ack-lost op=alarm_test id={lost_id}" in m for m in prog)
    # Implant: the same commands arrived and were answered (the lost one too).
    assert any(f"command op=alarm_test id={cid}" in m for m in impl)
    assert any(f"reply op=alarm_test id={lost_id}" in m for m in impl)
    # Link frames on the programmer side as well.
    assert any("link send" in m for m in prog) and any("link receive" in m for m in prog)


def test_refusals_are_logged_on_both_sides(
    catalog: DeviceCatalog, library: DrugLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    with rig(catalog, library) as r, caplog.at_level("INFO"):
        client, _ = r.connect(Role.PATIENT)
        reply = client.call(Op.ALARM_TEST)
        assert reply.code == "forbidden"
    warn = [(rec.name, rec.getMessage()) for rec in caplog.records if rec.levelname == "WARNING"]
    for logger in ("thecal.programmer", "thecal.implant"):
        assert any(
            n == logger and f"serial={SERIAL}" in m and reply.command_id in m for n, m in warn
        ), logger
