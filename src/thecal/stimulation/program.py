"""What a stimulation program is: areas, their contacts (polarity and current fraction),
amplitude, pulse width, rate, waveform, cycling and the patient's adjustable range.

The dataclasses hold checked values only: :mod:`thecal.stimulation.program_file` builds them
from a file (every value through ``parse_quantity``, errors naming the field).
"""

from dataclasses import dataclass
from enum import StrEnum

import pint

MAX_AREAS = 4
"""Areas (also called programs or coverage areas) one stimulation program holds: up to 4, as
in the issue's scope; the Vercise DBS interlock limits current per coverage area (stimulation
notes §2)."""

CASE = "case"
"""The lead name that means the IPG's case (it may only be an anode: monopolar stimulation)."""


class Polarity(StrEnum):
    ANODE = "anode"
    CATHODE = "cathode"
    OFF = "off"


class Mode(StrEnum):
    """current: the amplitude is a current (mA); voltage: a voltage (V), and the delivered
    current is V / Z, so a measured impedance is needed (Butson & McIntyre 2005)."""

    CURRENT = "current"
    VOLTAGE = "voltage"


class WaveformKind(StrEnum):
    TONIC = "tonic"
    BURST = "burst"
    HIGH_FREQUENCY = "high_frequency"


@dataclass(frozen=True)
class ContactSetting:
    """One active contact of an area: ``lead`` is a lead's name in the program or ``CASE``;
    ``index`` its contact (0-based; None for the case); ``fraction`` its share (0..1] of the
    area's cathodic or anodic current."""

    lead: str
    index: int | None
    polarity: Polarity
    fraction: float

    @property
    def label(self) -> str:
        return CASE if self.lead == CASE else f"{self.lead}:{self.index}"


@dataclass(frozen=True)
class Waveform:
    """Tonic and high-frequency: pulses at ``rate``. Burst: ``pulses_per_burst`` pulses at
    ``rate`` (the intra-burst rate), bursts repeated at ``burst_rate``."""

    kind: WaveformKind
    rate: pint.Quantity
    pulses_per_burst: int = 1
    burst_rate: pint.Quantity | None = None

    def pulses_per_second(self) -> pint.Quantity:
        """Average pulse rate while stimulation is on (Hz): the rate, or for a burst
        pulses per burst × burst rate."""
        if self.kind is WaveformKind.BURST and self.burst_rate is not None:
            return (self.pulses_per_burst * self.burst_rate).to("Hz")
        return self.rate.to("Hz")


@dataclass(frozen=True)
class Cycling:
    """Stimulation ``on`` for a while, then ``off``, repeated."""

    on: pint.Quantity
    off: pint.Quantity

    def duty(self) -> float:
        """Fraction of time stimulating: on / (on + off)."""
        on = float(self.on.to("s").magnitude)
        return on / (on + float(self.off.to("s").magnitude))


@dataclass(frozen=True)
class Area:
    """One area: its contacts, amplitude (mA or V by ``mode``), pulse width (one phase),
    waveform, optional cycling, measured impedance of the configuration, and the range the
    patient may adjust the amplitude within (``patient_min``..``patient_max``)."""

    name: str
    mode: Mode
    amplitude: pint.Quantity
    pulse_width: pint.Quantity
    waveform: Waveform
    contacts: tuple[ContactSetting, ...]
    impedance: pint.Quantity | None = None
    cycling: Cycling | None = None
    patient_min: pint.Quantity | None = None
    patient_max: pint.Quantity | None = None

    def active(self) -> tuple[ContactSetting, ...]:
        return tuple(c for c in self.contacts if c.polarity is not Polarity.OFF)

    def duty(self) -> float:
        return 1.0 if self.cycling is None else self.cycling.duty()


@dataclass(frozen=True)
class Program:
    title: str
    areas: tuple[Area, ...]
