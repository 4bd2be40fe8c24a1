"""A demo clinic whose patient SEED-003-2 (pump, catheter, one prescription version) also holds
every kind of pump history with every field filled: a refill with its confirmed volume, planned
date, candidates and an overridden soft finding; a program change without findings; an
interrogation with its snapshot, log and a finding; an alarm acknowledged and resolved and one
acknowledged and still open; an uncertain refill delivery and a confirmed program delivery."""

import json
from datetime import date, datetime
from typing import Any

from tests.interop.conftest import LOG, Clinic
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.model import (
    Alarm,
    Device,
    DeviceKind,
    Interrogation,
    ProgramChange,
    RefillCandidateRecord,
    RefillRecord,
    StoredFinding,
)
from thecal.interop.fhir_history import EXT_RECORD
from thecal.therapy.findings import Level
from thecal.units import Q_

MRN = "SEED-003-2"
SOFT = StoredFinding(
    Level.SOFT, "DOSE-START-MAX", "Above the starting dose (synthetic).", "synthetic source",
    "ziconotide", "2.4 mcg/d", "2.5 mcg/d", "clinician",
)  # fmt: skip


class HistoryClinic(Clinic):
    def __init__(self) -> None:
        super().__init__()
        pid = self.ids[MRN]
        with self.uow.reader() as repo:
            devices = list(repo.devices_for(pid))
        self.pump = next(d for d in devices if d.kind is DeviceKind.PUMP and d.in_place)
        # A device that is not a pump, for the wrong-kind refusals (removed: any model).
        self.catheter = Device(pid, DeviceKind.CATHETER, "Synthetic catheter", date(2024, 4, 1),
                               "CATH-1", date(2024, 4, 2))  # fmt: skip
        pump = self.pump.id
        self.refill = RefillRecord(
            pid, pump, 1, datetime(2026, 11, 2, 9, 30, 15, 250000), Q_(3.25, "mL"),
            Q_(3.0, "mL"), Q_(-0.25, "mL"), Q_(20, "mL"), "LOT-77", (("ziconotide", "10 mcg/mL"),),
            "nurse", datetime(2026, 12, 12, 9, 30), "drug stability: ziconotide diluted, 40 d",
            Q_(20.5, "mL"), datetime(2026, 12, 1, 8, 0),
            (RefillCandidateRecord(datetime(2026, 12, 12, 9, 30), "stability", "stability 40 d",
                                   "synthetic label"),),
            (SOFT,), (("DOSE-START-MAX", "agreed with the pain team\nsee the note"),),
        )  # fmt: skip
        self.change = ProgramChange(pid, datetime(2026, 11, 2, 10, 0), 1, 1, "physician",
                                    "same program, pump replaced")  # fmt: skip
        status = {"serial": self.pump.serial, "delivering": True,
                  "reservoir_estimate": {"value": 18.5, "unit": "mL"}, "alarms": []}  # fmt: skip
        self.interrogation = Interrogation(
            pid, pump, datetime(2026, 11, 20, 8, 0), status, tuple(LOG), "nurse",
            findings=(StoredFinding(Level.INFO, "RECON-CLOCK-DRIFT", "Drift.", "synthetic"),),
        )  # fmt: skip
        self.resolved = Alarm(
            pid, "LOW_RESERVOIR", "non-critical", "low reservoir (synthetic)",
            datetime(2026, 10, 30, 2, 0), pump, datetime(2026, 11, 2, 9, 31), "nurse",
            acknowledged_at=datetime(2026, 10, 30, 8, 5), acknowledged_by="nina",
            resolution="refilled <20 mL> & checked",
        )  # fmt: skip
        self.open = Alarm(pid, "PUMP_STALL", "critical", "motor stall", datetime(2026, 11, 21, 3),
                          None, acknowledged_at=datetime(2026, 11, 21, 7),
                          acknowledged_by="nina")  # fmt: skip
        self.uncertain = LinkDelivery(
            pid, pump, datetime(2026, 11, 2, 9, 32), "nurse", "refill", DeliveryOutcome.UNCERTAIN,
            "no acknowledgement after the write", (("volume", "20 mL"), ("lot", "LOT-77")),
        )  # fmt: skip
        self.confirmed = LinkDelivery(
            pid, pump, datetime(2026, 11, 2, 10, 1), "physician", "program",
            DeliveryOutcome.CONFIRMED, "", (("program", "version 1"),), 1,
        )  # fmt: skip
        with self.uow.transaction("setup", datetime(2026, 11, 21, 8), "history") as repo:
            repo.add_device(self.catheter)
            repo.add_refill(self.refill)
            repo.add_program_change(self.change)
            repo.add_interrogation(self.interrogation)
            repo.add_alarm(self.resolved)
            repo.add_alarm(self.open)
            repo.add_link_delivery(self.uncertain)
            repo.add_link_delivery(self.confirmed)


def anchor(bundle: dict[str, Any], record_id: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == record_id)


def payload(resource: dict[str, Any]) -> dict[str, Any]:
    ext = next(x for x in resource["extension"] if x["url"] == EXT_RECORD)
    data: dict[str, Any] = json.loads(ext["valueString"])
    return data


def set_payload(resource: dict[str, Any], data: dict[str, Any]) -> None:
    ext = next(x for x in resource["extension"] if x["url"] == EXT_RECORD)
    ext["valueString"] = json.dumps(data, sort_keys=True, separators=(",", ":"))
