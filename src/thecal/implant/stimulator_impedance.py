"""The impedance test: every contact monopolar (to the case) and every adjacent pair bipolar,
plus each running area's configuration; what the firmware concludes from the readings.

* A reading is clipped to the window the IPG measures (OpenNerve: 100 Ohm - 5 kOhm). Above it:
  open circuit (lead fracture, loose connector); below the short threshold (OpenNerve default
  450 Ohm): short (insulation breach). Either disables the contact (the DRG system and
  OpenNerve turn such a contact off) and raises its alarm; a contact back in range is enabled
  again and the alarm resolved.
* Contact impedances are estimated from the readings (monopolar M = Z_contact + Z_case,
  bipolar B = Z_a + Z_b, so Z_case = (M_a + M_b - B_ab) / 2), and the safe maximum amplitude
  of each area recomputed from them; a running amplitude above it is clamped and logged
  (OpenNerve app_mode_impedance_test.c, the LSA event).
"""

import statistics
from collections.abc import Callable, Sequence

from thecal.devices.alarms import AlarmCondition
from thecal.devices.clock import at_hours
from thecal.devices.log import EventKind
from thecal.devices.stimulator import ImpedanceReading, ImpedanceReport, ReadingFlag
from thecal.implant.stimulator_firmware import StimulatorFirmware
from thecal.implant.stimulator_plant import OHM
from thecal.implant.stimulator_programs import clamp
from thecal.stimulation.program import CASE, Polarity
from thecal.therapy.compare import above_count
from thecal.units import Q_

Measure = Callable[[Sequence[str], Sequence[str]], float]
"""The plant's true impedance (ohm) of a path: cathode labels, anode labels."""


def _flag(fw: StimulatorFirmware, ohm: float) -> tuple[float, ReadingFlag]:
    caps = fw.caps
    low = float(caps.impedance_min.to(OHM).magnitude)
    high = float(caps.impedance_max.to(OHM).magnitude)
    short = float(caps.short_threshold.to(OHM).magnitude)
    # Edges: the window's ends and the short threshold itself read in range.
    if above_count(ohm, high):
        return high, ReadingFlag.ABOVE_WINDOW
    if above_count(low, ohm):
        return low, ReadingFlag.SHORT if not above_count(low, short) else ReadingFlag.BELOW_WINDOW
    if above_count(short, ohm):
        return ohm, ReadingFlag.SHORT
    return ohm, ReadingFlag.IN_RANGE


def _reading(fw: StimulatorFirmware, label: str, kind: str, ohm: float) -> ImpedanceReading:
    shown, flag = _flag(fw, ohm)
    return ImpedanceReading(label, kind, Q_(shown, OHM), flag)


def impedance_test(fw: StimulatorFirmware, measure: Measure) -> ImpedanceReport:
    """Measure, log, and act on the readings (disable / enable contacts, clamp)."""
    leads = fw.setup.lead_contacts
    mono: dict[str, ImpedanceReading] = {}
    bi: dict[tuple[str, str], ImpedanceReading] = {}
    for lead, count in leads.items():
        for i in range(count):
            label = f"{lead}:{i}"
            mono[label] = _reading(fw, label, "monopolar", measure([label], [CASE]))
            if i > 0:
                prev = f"{lead}:{i - 1}"
                bi[(prev, label)] = _reading(
                    fw, f"{prev}-{label}", "bipolar", measure([label], [prev])
                )
    areas: list[ImpedanceReading] = []
    program = fw.program
    for area in program.areas if program is not None else ():
        cath = [c.label for c in area.active() if c.polarity is Polarity.CATHODE]
        anod = [c.label for c in area.active() if c.polarity is Polarity.ANODE]
        areas.append(_reading(fw, area.name, "area", measure(cath, anod)))
    report = ImpedanceReport(at_hours(fw.now + fw.offset), (*mono.values(), *bi.values(), *areas))
    fw.last_report = report
    fw.write_log(
        EventKind.IMPEDANCE_MEASURED,
        f"{len(mono)} contacts monopolar, {len(bi)} pairs bipolar, {len(areas)} area(s)",
        tuple((r.label, float(r.impedance.to(OHM).magnitude), "ohm") for r in report.readings),
    )
    _estimate(fw, mono, bi)
    _faults(fw, mono)
    if not clamp(fw):
        fw.alarms.resolve(AlarmCondition.AMPLITUDE_LIMITED)
    fw.changed()
    return report


def _estimate(
    fw: StimulatorFirmware,
    mono: dict[str, ImpedanceReading],
    bi: dict[tuple[str, str], ImpedanceReading],
) -> None:
    """Contact and case impedances from in-range readings; the case from every usable pair
    (the median: one bad pair does not move it)."""

    def ok(r: ImpedanceReading) -> bool:
        return r.flag is ReadingFlag.IN_RANGE

    def ohm(r: ImpedanceReading) -> float:
        return float(r.impedance.to(OHM).magnitude)

    cases = [
        (ohm(mono[a]) + ohm(mono[b]) - ohm(r)) / 2.0
        for (a, b), r in bi.items()
        if ok(r) and ok(mono[a]) and ok(mono[b])
    ]
    fw.estimates = {}
    if not cases:
        return
    case = max(statistics.median(cases), 1.0)
    fw.estimates[CASE] = case
    for label, r in mono.items():
        if ok(r):
            fw.estimates[label] = max(ohm(r) - case, 1.0)


def _faults(fw: StimulatorFirmware, mono: dict[str, ImpedanceReading]) -> None:
    alarms = {
        ReadingFlag.ABOVE_WINDOW: AlarmCondition.OPEN_CIRCUIT,
        ReadingFlag.SHORT: AlarmCondition.SHORT_CIRCUIT,
        ReadingFlag.BELOW_WINDOW: AlarmCondition.SHORT_CIRCUIT,
    }
    seen: set[AlarmCondition] = set()
    for label, r in mono.items():
        condition = alarms.get(r.flag)
        if condition is not None:
            seen.add(condition)
            if label not in fw.disabled:
                fw.disabled.add(label)
                fw.write_log(
                    EventKind.CONTACT_DISABLED,
                    f"contact {label}: {r.flag.value} ({r.impedance:~P}): turned off",
                    (("impedance", float(r.impedance.to(OHM).magnitude), "ohm"),),
                    alarm=condition,
                )
                fw.alarms.raise_(condition, f"Contact {label}: {r.flag.value}; turned off.")
        elif label in fw.disabled:
            fw.disabled.discard(label)
            fw.write_log(EventKind.CONTACT_ENABLED, f"contact {label}: in range again: on")
    for condition in (AlarmCondition.OPEN_CIRCUIT, AlarmCondition.SHORT_CIRCUIT):
        if condition not in seen:
            fw.alarms.resolve(condition)
