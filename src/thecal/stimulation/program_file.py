"""The stimulation program file (TOML): its shape (pydantic; the JSON Schema documents it) and
:func:`resolve`, which turns it into a checked :class:`Program`, the contact area of each lead
and the IPG with any value the catalog lacks. Every quantity goes through ``parse_quantity``;
every error names its field (``areas[0].contacts[1].fraction``).
"""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from thecal.stimulation.program import MAX_AREAS
from thecal.units import Dimension, InputError, parse_quantity

D = Dimension


def _checked(*dimensions: Dimension) -> AfterValidator:
    """Keep the text; refuse one that is none of ``dimensions`` (the first names the form)."""

    def check(value: Any) -> Any:
        for dim in dimensions[1:]:
            try:
                parse_quantity(value, "", dim)
                return value
            except InputError:
                pass
        try:
            parse_quantity(value, "", dimensions[0])
        except InputError as exc:
            raise ValueError(f"{exc.message} (expected {exc.expected})") from exc
        return value

    return AfterValidator(check)


def _not_bool(value: Any) -> Any:
    """``true`` is not a share (pydantic would read it as 1.0)."""
    if isinstance(value, bool):
        raise ValueError(f"got {value!r} (expected a share such as '60 %' or 0.6)")
    return value


def _doc(*dimensions: Dimension) -> Any:
    return Field(
        description=" or ".join(d.example for d in dimensions),
        examples=[dimensions[0].example.split("'")[1]],
    )


Length = Annotated[str, _checked(D.LENGTH), _doc(D.LENGTH)]
ContactArea = Annotated[str, _checked(D.AREA), _doc(D.AREA)]
Amplitude = Annotated[str, _checked(D.CURRENT, D.VOLTAGE), _doc(D.CURRENT, D.VOLTAGE)]
Current = Annotated[str, _checked(D.CURRENT), _doc(D.CURRENT)]
Voltage = Annotated[str, _checked(D.VOLTAGE), _doc(D.VOLTAGE)]
Duration = Annotated[str, _checked(D.TIME), _doc(D.TIME)]
Rate = Annotated[str, _checked(D.FREQUENCY), _doc(D.FREQUENCY)]
Impedance = Annotated[str, _checked(D.IMPEDANCE), _doc(D.IMPEDANCE)]
Charge = Annotated[str, _checked(D.CHARGE), _doc(D.CHARGE)]
Power = Annotated[str, _checked(D.POWER), _doc(D.POWER)]
# A share may be written '60 %' or 0.6 (a plain number is a fraction of 1).
Fraction = Annotated[
    str | float, BeforeValidator(_not_bool), _checked(D.DIMENSIONLESS), _doc(D.DIMENSIONLESS)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IpgEntry(_Model):
    model: str = Field(description="an IPG model from the stimulator catalog")
    battery: Literal["primary", "rechargeable"] | None = Field(
        None, description="only when the catalog does not say"
    )
    available_voltage: Voltage | None = Field(
        None, description="highest voltage the output can drive (not public: from the vendor)"
    )
    amplitude_min: Current | None = None
    amplitude_max: Current | None = None
    voltage_max: Voltage | None = None
    pulse_width_min: Duration | None = None
    pulse_width_max: Duration | None = None
    rate_min: Rate | None = None
    rate_max: Rate | None = None
    capacity: Charge | None = Field(None, description="cell capacity, e.g. '300 mAh'")
    cell_voltage: Voltage | None = None
    efficiency: Fraction | None = Field(
        None, description="output-stage efficiency, e.g. '50 %' (not public)"
    )
    quiescent_power: Power | None = Field(
        None, description="power the electronics draw when not stimulating (not public)"
    )


class LeadEntry(_Model):
    name: str = Field(description="what the areas' contacts call this lead, e.g. 'L1'")
    model: str | None = Field(None, description="a lead model from the stimulator catalog")
    kind: Literal["percutaneous", "paddle"] | None = None
    contacts: int | None = Field(None, ge=1, description="number of contacts")
    diameter: Length | None = Field(None, description="ring contacts: lead diameter")
    contact_length: Length | None = None
    contact_area: ContactArea | None = Field(None, description="area of one contact")


class ContactEntry(_Model):
    lead: str = Field(description="a lead's name, or 'case' for the IPG's case (anode only)")
    index: int | None = Field(None, ge=0, description="contact number on the lead, from 0")
    polarity: Literal["anode", "cathode", "off"]
    fraction: Fraction | None = Field(
        None, description="share of the area's cathodic (or anodic) current; default 100 %"
    )


class BurstEntry(_Model):
    pulses: int = Field(ge=1, description="pulses per burst")
    burst_rate: Rate


class CyclingEntry(_Model):
    on: Duration
    off: Duration


class AreaEntry(_Model):
    name: str
    mode: Literal["current", "voltage"] = "current"
    amplitude: Amplitude = Field(description="mA in current mode, V in voltage mode")
    pulse_width: Duration
    rate: Rate = Field(description="pulse rate; for a burst, the rate within the burst")
    waveform: Literal["tonic", "burst", "high_frequency"] = "tonic"
    burst: BurstEntry | None = None
    cycling: CyclingEntry | None = None
    impedance: Impedance | None = Field(
        None, description="measured impedance of this configuration (required in voltage mode)"
    )
    patient_min: Amplitude | None = None
    patient_max: Amplitude | None = None
    contacts: list[ContactEntry] = Field(min_length=2)


class StimulationFile(_Model):
    """A stimulation program to check: the IPG, the leads, and up to 4 areas."""

    title: str = ""
    ipg: IpgEntry
    leads: list[LeadEntry] = Field(min_length=1)
    areas: list[AreaEntry] = Field(min_length=1, max_length=MAX_AREAS)


def stimulation_json_schema() -> dict[str, Any]:
    """JSON Schema of the stimulation program file."""
    return StimulationFile.model_json_schema()
