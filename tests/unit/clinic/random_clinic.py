"""A random clinic written through the repository port, for checks that the calendar's and the
replacement planner's windowed reads agree with reading everything. Synthetic numbers only."""

import random
from datetime import date, datetime, timedelta
from typing import Any

from thecal.clinic.model import Alarm, Device, DeviceKind, Patient, RefillRecord
from thecal.units import Q_

TODAY = date(2025, 6, 1)
MODELS = ("SynchroMed II 8637-20", "Prometra II 20 mL", "Unlisted pump X")
START = datetime(2025, 6, 1)


def _refill(
    patient_id: str, device_id: str, at: datetime, rng: random.Random, rid: str
) -> RefillRecord:
    refill_by = (
        START + timedelta(hours=rng.randint(-24 * 40, 24 * 60)) if rng.random() < 0.9 else None
    )
    planned = (
        START + timedelta(hours=rng.randint(-24 * 10, 24 * 30)) if rng.random() < 0.3 else None
    )
    v = Q_(1.0, "mL")
    return RefillRecord(
        patient_id, device_id, 1, at, v, v, Q_(0.0, "mL"), Q_(20.0, "mL"), "LOT", (), "nina",
        refill_by, "low-reservoir alarm", planned_refill=planned, id=rid,
    )  # fmt: skip


def build(uow: Any, seed: int, patients: int) -> None:
    """``patients`` patients: most with a pump (some trial pumps, some removed, some never
    refilled, 0-3 refills each), a few without a pump; some ERI alarms."""
    rng = random.Random(seed)
    at = datetime(2025, 6, 1, 8, 0)
    with uow.transaction("system", at, "random clinic") as repo:
        for i in range(patients):
            p = Patient(f"R-{i:04d}", f"Random {i}", id=f"p{i:05d}")
            repo.add_patient(p)
            r = rng.random()
            if r < 0.1:
                continue  # no pump: not on the calendar
            kind = DeviceKind.TRIAL_PUMP if r < 0.2 else DeviceKind.PUMP
            implanted = TODAY - timedelta(days=rng.randint(0, 365 * 8))
            pump = Device(p.id, kind, rng.choice(MODELS), implanted, f"S{i}", id=f"d{i:05d}")
            repo.add_device(pump)
            for k in range(rng.randint(0, 3)):
                when = START - timedelta(days=rng.randint(1, 200), minutes=k)
                repo.add_refill(_refill(p.id, pump.id, when, rng, f"r{i:05d}{k}"))
            if rng.random() < 0.1:  # explanted: off the calendar
                repo.update_device(Device(
                    p.id, kind, pump.model, implanted, pump.serial, TODAY, id=pump.id,
                ))  # fmt: skip
            elif kind is DeviceKind.PUMP and rng.random() < 0.05:
                repo.add_alarm(Alarm(p.id, "ELECTIVE_REPLACEMENT", "non-critical", "ERI",
                                     START - timedelta(days=rng.randint(0, 100)), pump.id,
                                     id=f"a{i:05d}"))  # fmt: skip
