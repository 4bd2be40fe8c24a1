"""The stimulator's plant: physics the firmware cannot see. The true impedance of every contact
and of the case (the pocket), slow drift, lead fracture, insulation breach, migration, MRI
exposure, the output stage's voltage limit and the energy the cell has given.

Impedances drift slowly in a straight line (encapsulation, fibrosis, calcification: a rising
trend over years, as in the calcification case reports: Pain Med Case Rep 2024;8(6) and
Bamps et al., J Clin Case Rep 2017;7 -- no study gives an SCS rate, so the rise is an input)
and are updated in steps (``step``), constant in between, so energy integrates in closed form
between events. A path's impedance: its contacts' impedances in series through tissue; several
cathodes (or anodes) share the current in parallel -- a simplification of independent current
sources, stated in docs/implant.md. The output stage delivers at most available voltage /
impedance (Butson & McIntyre 2005, https://pmc.ncbi.nlm.nih.gov/articles/PMC3653320).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from thecal.stimulation.program import CASE, Area, Polarity
from thecal.units import InputError, ureg

# Parsed once: pint re-parses a unit string such as "mA" on every call (tens of us), which
# dominated a simulated IPG-decade with daily patient adjustments.
MA, V, OHM, S, HZ = (ureg.Unit(u) for u in ("mA", "V", "ohm", "s", "Hz"))


@dataclass
class ContactTruth:
    """One contact's tissue impedance (ohm): ``base`` at ``since`` (hours), rising ``rise_h``
    ohm per hour; ``fault`` (ohm) replaces it while a fracture or short holds."""

    base: float
    rise_h: float
    since: float
    fault: float | None = None
    value: float = 0.0  # the current step's value

    def at(self, t: float) -> float:
        return self.fault if self.fault is not None else self.base + self.rise_h * (t - self.since)


@dataclass(frozen=True)
class AreaLoad:
    """What one area asks of the output stage (floats): commanded current (mA), pulse width
    (s), average pulses per second while on, duty, and its cathodes and anodes with shares."""

    name: str
    commanded_ma: float
    pw_s: float
    pps: float
    duty: float
    cathodes: tuple[tuple[str, float], ...]
    anodes: tuple[tuple[str, float], ...]


def area_load(area: Area, commanded_ma: float) -> AreaLoad:
    """The float load of ``area`` at ``commanded_ma``."""
    return AreaLoad(
        area.name,
        commanded_ma,
        float(area.pulse_width.to(S).magnitude),
        float(area.waveform.pulses_per_second().to(HZ).magnitude),
        area.duty(),
        tuple((c.label, c.fraction) for c in area.active() if c.polarity is Polarity.CATHODE),
        tuple((c.label, c.fraction) for c in area.active() if c.polarity is Polarity.ANODE),
    )


@dataclass
class StimulatorPlant:
    """Mutable physical state; floats inside (ohm, J, V), quantities outside."""

    contacts: dict[str, ContactTruth]
    available_v: float
    used_j: float = 0.0
    uncovered: set[str] = field(default_factory=set)  # leads that migrated off target
    mri_exposures: int = 0

    @classmethod
    def build(
        cls,
        leads: Sequence[tuple[str, int]],
        base_ohm: float,
        case_ohm: float,
        rise_per_year: float,
        case_rise_per_year: float,
        available_v: float,
        start_h: float,
    ) -> "StimulatorPlant":
        per_h = 1.0 / (365.25 * 24.0)
        contacts = {
            f"{name}:{i}": ContactTruth(base_ohm, rise_per_year * per_h, start_h)
            for name, count in leads
            for i in range(count)
        }
        contacts[CASE] = ContactTruth(case_ohm, case_rise_per_year * per_h, start_h)
        plant = cls(contacts, available_v)
        plant.step(start_h)
        return plant

    # -- impedance ------------------------------------------------------------------------

    def step(self, t: float) -> None:
        """Move every impedance to its value at ``t`` (held until the next step)."""
        for c in self.contacts.values():
            c.value = c.at(t)

    def contact(self, label: str) -> ContactTruth:
        if label not in self.contacts:
            raise InputError("fault.contact", f"no contact {label!r}", ", ".join(self.contacts))
        return self.contacts[label]

    def ohm(self, label: str) -> float:
        return self.contacts[label].value

    def parallel(self, labels: Iterable[str]) -> float:
        """Impedance of ``labels`` in parallel (ohm)."""
        return 1.0 / sum(1.0 / self.ohm(x) for x in labels)

    def path(self, cathodes: Iterable[str], anodes: Iterable[str]) -> float:
        """Cathodes in parallel, in series with the anodes in parallel (ohm)."""
        return self.parallel(cathodes) + self.parallel(anodes)

    def load_ohm(self, load: AreaLoad) -> float:
        return self.path((c for c, _ in load.cathodes), (a for a, _ in load.anodes))

    # -- output stage and energy ------------------------------------------------------------

    def delivered_ma(self, load: AreaLoad) -> float:
        """The current the output stage really delivers: the commanded current, or less when
        driving it through the true impedance needs more than the available voltage."""
        limit = self.available_v / self.load_ohm(load) * 1000.0
        return load.commanded_ma if load.commanded_ma <= limit else limit

    def stimulation_w(self, loads: Iterable[AreaLoad]) -> float:
        """Average stimulation power (W): sum of I^2 x Z x PW x pulses per second x duty with
        the delivered current and the true impedance (Abbott Eterna labelling p.19)."""
        total = 0.0
        for load in loads:
            i = self.delivered_ma(load) / 1000.0
            total += i * i * self.load_ohm(load) * load.pw_s * load.pps * load.duty
        return total

    def drain(self, joules: float, capacity_j: float) -> None:
        self.used_j = min(capacity_j, self.used_j + joules)

    def charge(self, joules: float) -> None:
        self.used_j = max(0.0, self.used_j - joules)

    # -- faults -----------------------------------------------------------------------------

    def fault(self, label: str, ohm: float | None, t: float) -> None:
        """Fracture (very high ``ohm``), breach (very low) or repair (None) of a contact."""
        self.contact(label).fault = ohm
        self.step(t)

    def relocate_case(self, ohm: float, rise_per_year: float, t: float) -> None:
        """The IPG moved to a fresh pocket: the case impedance starts again at ``ohm``."""
        case = self.contacts[CASE]
        case.base, case.rise_h, case.since = ohm, rise_per_year / (365.25 * 24.0), t
        self.step(t)
