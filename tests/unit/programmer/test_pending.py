"""Both controllers record a lost acknowledgement as the one :class:`PendingCommand` type."""

from datetime import datetime

import pytest

from tests.unit.programmer.helpers import rig
from thecal.devices.catalog import DeviceCatalog
from thecal.link import Role
from thecal.programmer.clinician import ClinicianProgrammer
from thecal.programmer.commands import Command, Op
from thecal.programmer.link_client import AckLost
from thecal.programmer.patient import PatientController
from thecal.programmer.pending import PendingCommand
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_


def test_pending_of_a_command_and_its_journal_entry() -> None:
    t = datetime(2024, 1, 1, 8)
    p = PendingCommand.of(Command(Op.PATIENT_BOLUS, "lost-1", t), seq_before=7)
    assert p == PendingCommand("lost-1", Op.PATIENT_BOLUS, t, 7)
    mine = {"id": "lost-1", "state_changed": True}
    assert p.journal_entry([{"id": "other"}, "not an entry", mine]) is mine
    assert p.journal_entry([{"id": "other"}]) is None


def test_clinician_lost_bolus_is_a_pending_command(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, faulty = r.connect()
        c = ClinicianProgrammer(client, library, catalog.pump)
        seq = c.interrogate().status.last_seq
        faulty.drop = 1.0
        with pytest.raises(AckLost):
            c.bolus(Q_("0.05 mL"), Q_("1 h"))
        faulty.drop = 0.0
        sent = next(cmd for cmd in client.sent if cmd.op is Op.CLINICIAN_BOLUS)
        assert c.uncertain == PendingCommand(
            sent.command_id, Op.CLINICIAN_BOLUS, sent.issued_at, seq
        )
        assert c.interrogate().reconciled is not None and c.uncertain is None


def test_patient_lost_request_is_a_pending_command(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, faulty = r.connect(Role.PATIENT)
        p = PatientController(client)
        faulty.drop = 1.0
        assert p.request_bolus().reason == "uncertain"
        faulty.drop = 0.0
        sent = next(cmd for cmd in client.sent if cmd.op is Op.PATIENT_BOLUS)
        # The patient controller reads no log: no sequence number to reconcile from.
        assert p.uncertain == PendingCommand(sent.command_id, Op.PATIENT_BOLUS, sent.issued_at)
        assert p.uncertain_id == sent.command_id
        assert p.status().settled is not None and p.uncertain is None
