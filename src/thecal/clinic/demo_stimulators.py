"""The demo clinic's spinal cord stimulators: leads, a program version each, impedance and
battery histories. SYNTHETIC and ILLUSTRATIVE: every number here is made up to show the shape
the case reports describe (a slowly rising impedance around calcifying tissue, a generator at
end of service), never a measured or published value. The lead geometry (1.3 mm x 3 mm ring
contacts) is the worked example of the issue, entered because SCS lead geometry is not public.

Pure: time comes in (``clock`` is set to each reading's time), randomness is the demo's seeded
:class:`random.Random`. Every write goes through the clinic's stimulator workflows.
"""

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from thecal.clinic.model import Device, User
from thecal.clinic.ports import UnitOfWork
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ContactImpedance,
    MeasurementSource,
    StimLead,
)
from thecal.clinic.stimulator_workflow import (
    StimulatorContext,
    change_stim_program,
    preview_stim_program,
    record_battery,
    record_impedances,
)
from thecal.stimulation.program_file import StimulationFile
from thecal.therapy.findings import needs_reason
from thecal.units import Q_

DEMO_STIM_REASON = "demo data: synthetic stimulator (illustrative values)"
CONTACTS = ("L1:0", "L1:1", "L1:2", "L1:3")


class SettableClock:
    """The demo's clock: what ``now`` says (the loader moves it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def demo_program(model: str, amplitude: str, title: str) -> StimulationFile:
    """A tonic bipolar program on contacts 1 (cathode) and 2 (anode) of an 8-contact
    percutaneous lead, 300 us at 50 Hz; illustrative settings."""
    return StimulationFile.model_validate({
        "title": f"{title} (synthetic, illustrative)",
        "ipg": {"model": model},
        "leads": [{"name": "L1", "model": "Vectris 977A2", "kind": "percutaneous", "contacts": 8,
                   "diameter": "1.3 mm", "contact_length": "3 mm"}],
        "areas": [{
            "name": "low back and legs", "amplitude": amplitude, "pulse_width": "300 us",
            "rate": "50 Hz", "patient_min": "1 mA", "patient_max": amplitude,
            "contacts": [{"lead": "L1", "index": 1, "polarity": "cathode"},
                         {"lead": "L1", "index": 2, "polarity": "anode"}],
        }],
    })  # fmt: skip


def _at(d: date) -> datetime:
    return datetime.combine(d, time(10, 0))


def add_leads(uow: UnitOfWork, clock: SettableClock, doctor: User, ipg: Device,
              implanted_on: date, position: str) -> None:  # fmt: skip
    clock.now = _at(max(implanted_on, ipg.implanted_on))
    with uow.transaction(doctor.username, clock(), DEMO_STIM_REASON) as repo:
        repo.add_stim_lead(StimLead(ipg.patient_id, ipg.id, "L1", "Vectris 977A2",
                                    implanted_on, position))  # fmt: skip


def program(uow: UnitOfWork, clock: SettableClock, doctor: User, ctx: StimulatorContext,
            ipg: Device, amplitude: str, title: str) -> None:  # fmt: skip
    """One program version (soft findings get the demo reason, as the pump demo does)."""
    clock.now = _at(ipg.implanted_on)
    file = demo_program(ipg.model, amplitude, title)
    with uow.reader() as repo:
        found = preview_stim_program(repo, ctx, ipg.patient_id, ipg.id, file, None).findings
    reasons = {f.code.value: DEMO_STIM_REASON for f in needs_reason(found)}
    change_stim_program(uow, clock, ctx, doctor, ipg.patient_id, ipg.id, file,
                        DEMO_STIM_REASON, reasons)  # fmt: skip


def history(
    uow: UnitOfWork, clock: SettableClock, nurse: User, ipg: Device, until: date,
    impedance: Callable[[float], float], volts: Callable[[float], float] | None,
    rng: random.Random, every: int = 91,
) -> None:  # fmt: skip
    """Interrogations every ``every`` days from implant to removal (or ``until``): each
    contact's impedance ``impedance(years since implant)`` (ohm) +- 3 % and, with ``volts``,
    the battery voltage (V)."""
    end = min(ipg.removed_on or until, until)
    day = ipg.implanted_on + timedelta(days=14)
    while day < end:
        years = (day - ipg.implanted_on).days / 365.25
        clock.now = _at(day)
        values = [ContactImpedance(c, Q_(round(impedance(years) * rng.uniform(0.97, 1.03)
                                                + 40 * i), "ohm"))
                  for i, c in enumerate(CONTACTS)]  # fmt: skip
        record_impedances(uow, clock, nurse, ipg.patient_id, ipg.id, values,
                          MeasurementSource.INTERROGATION)  # fmt: skip
        if volts is not None:
            volt = Q_(round(volts(years), 3), "V")
            reading = BatteryReading(
                ipg.patient_id,
                ipg.id,
                clock(),
                MeasurementSource.INTERROGATION,
                volt,
                by=nurse.username,
            )
            record_battery(uow, clock, nurse, ipg.patient_id, ipg.id, reading)
        day += timedelta(days=every)
