"""The input of an assessment: what the registry holds about the patient and what is new.

Every value is untrusted (a TOML file, a form, the clinic filling it from the registry): the
model is strict (no coercion, no unknown key) and every physical quantity is parsed by
:func:`thecal.units.parse_quantity` (one finite number, one unit) or, for laboratory values
Thecal's unit table does not carry (mg/dL, mg²/dL²), by :func:`parse_lab` below, and kept as a
pint quantity.
"""

import re
from typing import Annotated, Any, Literal

import pint
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from thecal.units import Q_, Dimension, InputError, parse_quantity

STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _parser(dimension: Dimension) -> Any:
    def check(value: Any) -> pint.Quantity:
        try:
            return parse_quantity(value, "", dimension)
        except InputError as exc:  # pydantic names the field
            raise ValueError(exc.message) from None

    return check


def _text(q: pint.Quantity) -> str:
    return f"{q.magnitude:g} {q.units:~}"


_AS_TEXT = PlainSerializer(_text, return_type=str)


# Lab units Thecal's dosing table refuses on purpose ("dL" is an ISMP error-prone spelling for a
# pump); here they are the units labs and KDOQI report in, written exactly so.
_LAB = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]+)?)[ ]?(?P<u>mg/dL|mg2/dL2)")
_LAB_UNITS = {"mg/dL": "milligram / deciliter", "mg2/dL2": "milligram ** 2 / deciliter ** 2"}


def parse_lab(value: Any, unit: str) -> pint.Quantity:
    """A laboratory value written as '<number> <unit>' with exactly ``unit`` (mg/dL, mg2/dL2)."""
    if isinstance(value, pint.Quantity):
        return value.to(_LAB_UNITS[unit])
    if not isinstance(value, str) or len(value) > 32:
        raise ValueError(f"write a value such as '5.5 {unit}'")
    m = _LAB.fullmatch(value.strip())
    if m is None or m["u"] != unit:
        raise ValueError(f"write a value such as '5.5 {unit}' (one number, unit {unit})")
    return Q_(float(m["n"]), _LAB_UNITS[unit])


def _lab_parser(unit: str) -> Any:
    return lambda v: parse_lab(v, unit)


def _lab_text(unit: str) -> Any:
    return PlainSerializer(lambda q: f"{q.magnitude:g} {unit}", return_type=str)


def _schema(example: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "description": example})


Duration = Annotated[
    pint.Quantity, PlainValidator(_parser(Dimension.TIME)), _AS_TEXT,
    _schema(Dimension.TIME.example),
]  # fmt: skip
Volume = Annotated[
    pint.Quantity, PlainValidator(_parser(Dimension.VOLUME)), _AS_TEXT,
    _schema(Dimension.VOLUME.example),
]  # fmt: skip
Fraction = Annotated[
    pint.Quantity, PlainValidator(_parser(Dimension.DIMENSIONLESS)), _AS_TEXT,
    _schema("a fraction such as '14.5 %'"),
]  # fmt: skip
MgPerDl = Annotated[
    pint.Quantity, PlainValidator(_lab_parser("mg/dL")), _lab_text("mg/dL"),
    _schema("a lab value such as '9.5 mg/dL'"),
]  # fmt: skip
Mg2PerDl2 = Annotated[
    pint.Quantity, PlainValidator(_lab_parser("mg2/dL2")), _lab_text("mg2/dL2"),
    _schema("a lab value such as '55 mg2/dL2'"),
]  # fmt: skip

Drug = Literal[
    "morphine", "hydromorphone", "fentanyl", "sufentanil", "baclofen", "ziconotide",
    "bupivacaine", "clonidine",
]  # fmt: skip
OPIOIDS = frozenset({"morphine", "hydromorphone", "fentanyl", "sufentanil"})
Trend = Literal["rising", "stable", "falling", "unknown"]
SymptomKind = Literal[
    "pain", "weakness", "sensory_level", "sensory_change", "bladder", "bowel", "fever",
    "pruritus", "spasticity", "rigidity", "tachycardia", "sedation", "respiratory_depression",
    "headache", "neck_stiffness", "confusion", "hypertension",
]  # fmt: skip
PainPlace = Literal["back", "radicular", "catheter_tip_dermatome", "pocket", "other"]
PocketFinding = Literal["swelling", "erythema", "drainage", "tenderness", "dehiscence", "fluid"]
IntraoperativeFinding = Literal["milky_fluid", "calcification", "fibrosis", "pus"]
Alarm = Literal["empty_reservoir", "low_reservoir", "elective_replacement", "motor_stall"]
Interrogation = Literal["normal", "abnormal", "not_done"]
ImpedanceTrend = Literal["rising", "stable", "abrupt_drop", "not_measured"]
Occasion = Literal["visit", "replacement_planning", "intraoperative"]


class Symptom(BaseModel):
    """One new symptom: what, since when, and for pain where and how."""

    model_config = STRICT

    kind: SymptomKind
    onset: Duration | None = Field(None, description="how long ago it began, e.g. '3 d'")
    progressive: bool = False
    place: PainPlace | None = Field(None, description="pain only: where")
    quality: str | None = Field(None, max_length=80, description="pain only: in words")
    rash: bool | None = Field(None, description="pruritus only: with a rash?")


class Residual(BaseModel):
    """One refill: the volume the programmer expected and the volume withdrawn (oldest first)."""

    model_config = STRICT

    expected: Volume
    withdrawn: Volume


class Comorbidities(BaseModel):
    model_config = STRICT

    cancer: bool = False
    spinal_metastases: bool = False
    dialysis: bool = False
    ckd_stage: int | None = Field(None, ge=1, le=5)
    calcium_phosphate_product: Mg2PerDl2 | None = None
    calcium: MgPerDl | None = None
    phosphate: MgPerDl | None = None


class Presentation(BaseModel):
    """What the clinic knows and what is new. Times are durations before the assessment."""

    model_config = STRICT

    occasion: Occasion = "visit"
    device: Literal["intrathecal_pump", "stimulator"]
    dwell_time: Duration | None = Field(None, description="age of the implanted device")
    drugs: list[Drug] = Field(default_factory=list, max_length=8)
    time_on_intrathecal_opioid: Duration | None = None
    dose_trend: Trend = "unknown"
    concentration_trend: Trend = "unknown"
    loss_of_effect: bool = False
    time_since_implant: Duration | None = None
    time_since_trial: Duration | None = None
    time_since_refill: Duration | None = None
    time_since_program_change: Duration | None = None
    comorbidities: Comorbidities = Field(default_factory=Comorbidities)
    interrogation: Interrogation = "not_done"
    alarms: list[Alarm] = Field(default_factory=list, max_length=8)
    accuracy_band: Fraction | None = Field(
        None, description="the pump's labelled accuracy band, e.g. '14.5 %'"
    )
    residuals: list[Residual] = Field(default_factory=list, max_length=50)
    impedance_trend: ImpedanceTrend = "not_measured"
    impedance_below_minimum: bool = False
    symptoms: list[Symptom] = Field(default_factory=list, max_length=30)
    pocket_findings: list[PocketFinding] = Field(default_factory=list, max_length=10)
    intraoperative_findings: list[IntraoperativeFinding] = Field(
        default_factory=list, max_length=10
    )


def presentation_from_mapping(data: Any) -> Presentation:
    """Validate a parsed TOML/JSON document; the first error names its field (dotted path)."""
    from pydantic import ValidationError

    try:
        p = Presentation.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        field = ".".join(str(x) for x in e["loc"]) or "presentation"
        raise InputError(field, str(e["msg"]).removeprefix("Value error, ")) from None
    if p.residuals and p.accuracy_band is None:
        raise InputError("accuracy_band", "needed to judge residuals", "e.g. '14.5 %'")
    return p


def input_schema() -> dict[str, Any]:
    """The JSON Schema of a presentation file (shipped as docs/assess.schema.json)."""
    schema = Presentation.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Thecal assess: presentation"
    return schema
