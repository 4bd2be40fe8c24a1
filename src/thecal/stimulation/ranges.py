"""Whether an area's settings are within what the IPG can do: amplitude, pulse width and rate
ranges from the catalog (hard when outside), and pulses that cannot fit in their period
(physically impossible: hard). A range the vendor does not publish is reported by name."""

from collections.abc import Iterator

import pint

from thecal.stimulation.catalog import IpgSpec
from thecal.stimulation.program import Area, Mode, WaveformKind
from thecal.therapy.compare import above, below
from thecal.therapy.findings import Code, Finding, Level
from thecal.units import fmt

PERIOD_SOURCE = "Physics: a pulse (or a burst) cannot last longer than its period, 1 / rate"


def _range(
    ipg: IpgSpec,
    value: pint.Quantity,
    low: str,
    high: str,
    code: Code,
    what: str,
    missing: list[str],
) -> Iterator[Finding]:
    for key, compare, word in (
        (low, below, "below the lowest"),
        (high, above, "above the highest"),
    ):
        limit = ipg.get(key)
        if limit is None:
            missing.append(f"ipg.{key}")
        elif compare(value, limit):
            yield Finding(
                Level.HARD,
                code,
                f"{what} {fmt(value)} is {word} value {ipg.model} can deliver ({fmt(limit)}).",
                ipg.source(key),
                limit=limit,
                value=value,
            )


def range_findings(area: Area, ipg: IpgSpec, missing: list[str]) -> list[Finding]:
    """Hard findings for settings outside the IPG's ranges (the top and bottom of the
    patient's range included); the names of ranges not known are appended to ``missing``."""
    out: list[Finding] = []
    name = f"Area {area.name!r}:"
    amplitudes = [("amplitude", area.amplitude)]
    if area.patient_min is not None:
        amplitudes.append(("the bottom of the patient's range", area.patient_min))
    if area.patient_max is not None:
        amplitudes.append(("the top of the patient's range", area.patient_max))
    low, high = (
        ("amplitude_min", "amplitude_max") if area.mode is Mode.CURRENT else ("", "voltage_max")
    )
    for what, amp in amplitudes:
        if low:
            out += _range(ipg, amp, low, high, Code.STIM_AMPLITUDE_OUT_OF_RANGE, f"{name} {what}",
                          missing)  # fmt: skip
        else:
            limit = ipg.get(high)
            if limit is None:
                missing.append(f"ipg.{high}")
            elif above(amp, limit):
                out.append(Finding(
                    Level.HARD, Code.STIM_AMPLITUDE_OUT_OF_RANGE,
                    f"{name} {what} {fmt(amp)} is above the highest voltage {ipg.model} can "
                    f"deliver ({fmt(limit)}).", ipg.source(high), limit=limit, value=amp,
                ))  # fmt: skip
    out += _range(ipg, area.pulse_width, "pulse_width_min", "pulse_width_max",
                  Code.STIM_PULSE_WIDTH_OUT_OF_RANGE, f"{name} pulse width", missing)  # fmt: skip
    wave = area.waveform
    rates = [("rate", wave.rate)]
    if wave.kind is WaveformKind.BURST and wave.burst_rate is not None:
        rates = [("intra-burst rate", wave.rate), ("burst rate", wave.burst_rate)]
    for what, rate in rates:
        out += _range(ipg, rate, "rate_min", "rate_max", Code.STIM_RATE_OUT_OF_RANGE,
                      f"{name} {what}", missing)  # fmt: skip
    return out


def period_findings(area: Area) -> list[Finding]:
    """Hard: a pulse longer than the period of its rate, or a burst longer than the period of
    the burst rate (pulses per burst / intra-burst rate > 1 / burst rate). At the edge (the
    pulse fills its period exactly) it is not flagged."""
    out: list[Finding] = []
    wave = area.waveform
    period = (1 / wave.rate).to("us")
    if above(area.pulse_width, period):
        out.append(Finding(
            Level.HARD, Code.STIM_PULSE_LONGER_THAN_PERIOD,
            f"Area {area.name!r}: a pulse of {fmt(area.pulse_width.to('us'))} does not fit in "
            f"the {fmt(period)} between pulses at {fmt(wave.rate)}. Shorten the pulse or lower "
            "the rate.", PERIOD_SOURCE, limit=period, value=area.pulse_width,
        ))  # fmt: skip
    if wave.kind is WaveformKind.BURST and wave.burst_rate is not None:
        burst = (wave.pulses_per_burst / wave.rate).to("ms")
        burst_period = (1 / wave.burst_rate).to("ms")
        if above(burst, burst_period):
            out.append(Finding(
                Level.HARD, Code.STIM_BURST_LONGER_THAN_PERIOD,
                f"Area {area.name!r}: {wave.pulses_per_burst} pulses at {fmt(wave.rate)} last "
                f"{fmt(burst)}, longer than the {fmt(burst_period)} between bursts at "
                f"{fmt(wave.burst_rate)}. Use fewer pulses per burst or a lower burst rate.",
                PERIOD_SOURCE, limit=burst_period, value=burst,
            ))  # fmt: skip
    return out
