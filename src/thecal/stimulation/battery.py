"""Battery: energy per pulse, the drain of a program, the projected longevity of a primary
cell and the recharge interval of a rechargeable one.

Energy per pulse ~ I^2 x Z x PW (Abbott Eterna labelling p.19; Axium manual). The energy the
cell gives is the stimulation power over the output stage's efficiency plus the quiescent power
of the electronics; how much energy the cell holds is capacity x cell voltage. Efficiency,
quiescent power, capacity and cell voltage are not public for commercial IPGs (Proclaim
clinician manual, Appendix C, has energy factors but they were not readable): required inputs.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pint

from thecal.units import Q_

ENERGY_SOURCE = "Energy per pulse ~ I^2 x Z x PW (Abbott Eterna labelling p.19; Axium manual)"


def energy_per_pulse(
    current: pint.Quantity, impedance: pint.Quantity, pulse_width: pint.Quantity
) -> pint.Quantity:
    """E = I^2 x Z x PW (uJ) for one phase (the charge-balancing phase is not counted)."""
    return (current**2 * impedance * pulse_width).to("uJ")


@dataclass(frozen=True)
class AreaLoad:
    """What one area asks of the battery: energy per pulse, average pulses per second while
    on, and the fraction of time it is on (cycling)."""

    energy_per_pulse: pint.Quantity
    pulses_per_second: pint.Quantity
    duty: float

    def power(self) -> pint.Quantity:
        return (self.energy_per_pulse * self.pulses_per_second * self.duty).to("uW")


def battery_drain(
    loads: Sequence[AreaLoad], efficiency: float, quiescent_power: pint.Quantity
) -> pint.Quantity:
    """Power drawn from the cell (uW): the areas' stimulation power / efficiency + quiescent."""
    stimulation = sum((a.power() for a in loads), Q_(0.0, "uW"))
    return (stimulation / efficiency + quiescent_power).to("uW")


def stored_energy(capacity: pint.Quantity, cell_voltage: pint.Quantity) -> pint.Quantity:
    """Energy in a full cell (J): capacity x cell voltage."""
    return (capacity * cell_voltage).to("J")


def time_to_empty(energy: pint.Quantity, drain: pint.Quantity) -> pint.Quantity | None:
    """Closed form: energy / drain (years); None for no drain (it never empties)."""
    if float(drain.to("uW").magnitude) <= 0:
        return None
    return (energy / drain).to("year")
