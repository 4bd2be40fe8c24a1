"""Registration: what the clinic records about a new patient and the devices put in, and the
checks every value passes before anything is written (pure: no I/O, no clock).

The raw values come from a form, a CSV row, the CLI or the API as text; :func:`patient_input`
and :func:`device_input` turn them into typed inputs or raise :class:`InputError` naming the
field. Sources of the code lists:

- sex: HL7 FHIR AdministrativeGender (male | female | other | unknown),
  https://hl7.org/fhir/R4/valueset-administrative-gender.html
- CKD stage: KDIGO 2012 GFR categories G1, G2, G3a, G3b, G4, G5 (Kidney Int Suppl
  2013;3:1-150, https://kdigo.org/guidelines/ckd-evaluation-and-management/); dialysis is its
  own code (complication rules use "dialysis or CKD stage 4 or more")
- spasticity origin: the plan file's ``spinal`` / ``cerebral`` (the drug library's rules)
- vertebral levels: 7 cervical, 12 thoracic, 5 lumbar and 5 sacral vertebrae (Gray's
  Anatomy, 42nd ed., ch. "Vertebral column")
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

import pint

from thecal.clinic.model import DeviceKind, new_id
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import above
from thecal.therapy.pump import PumpKind
from thecal.units import Dimension, InputError, parse_quantity

MRN_MAX = 64  # the patients.mrn column
NAME_MAX = 200  # the patients.display_name column
SERIAL_MAX = 64  # the devices.serial column
TEXT_MAX = 2000  # contact, UDI, notes: storage bound, not a clinical limit

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
E = TypeVar("E", bound=StrEnum)
_LEVEL = re.compile(r"^(C[1-7]|T(?:1[0-2]|[1-9])|L[1-5]|S[1-5])$")


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class DiagnosisCode(StrEnum):
    SPINAL_METASTASES = "cancer-spinal-metastases"
    CKD = "ckd"  # detail: KDIGO stage G1..G5
    DIALYSIS = "dialysis"
    DIABETES = "diabetes"
    SPASTICITY = "spasticity"  # the indication; detail: origin spinal | cerebral
    OTHER = "other"  # detail: free text, required


CKD_STAGES = ("G1", "G2", "G3a", "G3b", "G4", "G5")
SPASTICITY_ORIGINS = ("spinal", "cerebral")


@dataclass(frozen=True)
class Diagnosis:
    """A coded diagnosis or comorbidity; ``detail`` is the CKD stage, the spasticity origin or
    the free text of OTHER (empty for the others)."""

    code: DiagnosisCode
    detail: str = ""

    def label(self) -> str:
        return f"{self.code.value}:{self.detail}" if self.detail else self.code.value


class PocketSide(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    MIDLINE = "midline"


@dataclass(frozen=True)
class PatientDetails:
    """What registration adds to :class:`~thecal.clinic.model.Patient`: date of birth, sex,
    contact (optional) and the coded diagnoses."""

    patient_id: str
    date_of_birth: date
    sex: Sex
    contact: str = ""
    diagnoses: tuple[Diagnosis, ...] = ()


@dataclass(frozen=True)
class DeviceDetails:
    """What registration adds to a :class:`~thecal.clinic.model.Device`: the UDI (optional) and
    the pocket side of a pump or stimulator."""

    device_id: str
    patient_id: str
    udi: str = ""
    pocket_side: PocketSide | None = None


@dataclass(frozen=True)
class PatientInput:
    """A patient as entered, checked (see :func:`patient_input`)."""

    mrn: str
    display_name: str
    date_of_birth: date
    sex: Sex
    contact: str = ""
    diagnoses: tuple[Diagnosis, ...] = ()


@dataclass(frozen=True)
class DeviceInput:
    """A device as entered, checked against the catalog (see :func:`device_input`). For a
    catheter ``implanted_length`` (cm) and ``tip_level``; ``volume`` (mL) when the catalog
    gives the volume per length."""

    kind: DeviceKind
    model: str
    serial: str = ""
    udi: str = ""
    pocket_side: PocketSide | None = None
    implanted_length: pint.Quantity | None = None
    tip_level: str | None = None
    volume: pint.Quantity | None = None
    id: str = field(default_factory=new_id)


def text(value: object, name: str, *, required: bool, limit: int) -> str:
    """``value`` as stripped one-line text: required or may be empty, at most ``limit``
    characters (``limit`` allowed), no control characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(name, f"got {value!r}", "text")
    s = value.strip()
    if required and not s:
        raise InputError(name, "is required", "a value")
    if _CONTROL.search(s):
        raise InputError(name, "contains a control character (tab, line break, …)", "one line")
    if len(s) > limit:
        raise InputError(name, f"is {len(s)} characters long", f"at most {limit}")
    return s


def day(value: object, name: str, today: date, *, required: bool = True) -> date | None:
    """An ISO date (YYYY-MM-DD) not after ``today`` (today itself is allowed)."""
    if isinstance(value, date):
        d = value
    else:
        s = text(value, name, required=required, limit=10)
        if not s:
            return None
        try:
            d = date.fromisoformat(s)
        except ValueError:
            raise InputError(name, f"got {s!r}", "a date YYYY-MM-DD") from None
    if d > today:
        raise InputError(name, f"{d} is in the future", f"on or before {today}")
    return d


def _choice(kind: type[E], value: object, name: str) -> E:
    s = text(value, name, required=True, limit=64).casefold()
    for member in kind:
        if member.value == s:
            return member
    raise InputError(name, f"got {s!r}", "one of: " + ", ".join(m.value for m in kind))


def diagnosis(value: str, name: str) -> Diagnosis:
    """One diagnosis as text: ``code`` or ``code:detail`` (e.g. ``ckd:G4``,
    ``spasticity:spinal``, ``other:chronic pancreatitis``)."""
    code_text, _, detail = value.partition(":")
    code = _choice(DiagnosisCode, code_text, name)
    detail = text(detail, name, required=False, limit=TEXT_MAX)
    if code is DiagnosisCode.CKD:
        stage = next((s for s in CKD_STAGES if s.casefold() == detail.casefold()), None)
        if stage is None:
            raise InputError(name, f"CKD stage {detail!r}", "ckd:G1 … ckd:G5 (G3a, G3b; KDIGO)")
        return Diagnosis(code, stage)
    if code is DiagnosisCode.SPASTICITY:
        if detail.casefold() not in SPASTICITY_ORIGINS:
            raise InputError(name, f"spasticity origin {detail!r}", "spasticity:spinal or "
                             "spasticity:cerebral")  # fmt: skip
        return Diagnosis(code, detail.casefold())
    if code is DiagnosisCode.OTHER:
        if not detail:
            raise InputError(name, "other needs its text", "e.g. 'other:chronic pancreatitis'")
        return Diagnosis(code, detail)
    if detail:
        raise InputError(name, f"{code.value} takes no detail (got {detail!r})", code.value)
    return Diagnosis(code)


def diagnoses(value: object, name: str = "patient.diagnoses") -> tuple[Diagnosis, ...]:
    """Diagnoses as ``;``-separated text or a list of texts; each code at most once."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = [x for x in value.split(";") if x.strip()]
    elif isinstance(value, list | tuple) and all(isinstance(x, str) for x in value):
        items = list(value)
    else:
        raise InputError(name, f"got {value!r}", "a list of diagnoses")
    out = tuple(diagnosis(x.strip(), f"{name}[{i}]") for i, x in enumerate(items))
    codes = [d.code for d in out]
    for i, c in enumerate(codes):
        if c is not DiagnosisCode.OTHER and c in codes[:i]:
            raise InputError(f"{name}[{i}]", f"{c.value} is listed twice", "each code once")
    return out


def patient_input(raw: Mapping[str, object], today: date) -> PatientInput:
    """Check a patient's fields (keys ``mrn``, ``name``, ``date_of_birth``, ``sex``,
    ``contact``, ``diagnoses``); :class:`InputError` names the first bad one."""
    dob = day(raw.get("date_of_birth"), "patient.date_of_birth", today)
    assert dob is not None  # required
    return PatientInput(
        mrn=text(raw.get("mrn"), "patient.mrn", required=True, limit=MRN_MAX),
        display_name=text(raw.get("name"), "patient.name", required=True, limit=NAME_MAX),
        date_of_birth=dob,
        sex=_choice(Sex, raw.get("sex"), "patient.sex"),
        contact=text(raw.get("contact"), "patient.contact", required=False, limit=TEXT_MAX),
        diagnoses=diagnoses(raw.get("diagnoses")),
    )


def tip_level(value: object, name: str = "device.tip_level") -> str:
    """A vertebral level such as ``T10`` (C1–C7, T1–T12, L1–L5, S1–S5; case-insensitive)."""
    s = text(value, name, required=True, limit=3).upper()
    if not _LEVEL.match(s):
        raise InputError(name, f"got {s!r}", "a vertebral level C1–C7, T1–T12, L1–L5 or S1–S5")
    return s


def device_input(
    raw: Mapping[str, object],
    catalog: DeviceCatalog,
    stimulator_models: tuple[str, ...] = (),
    name: str = "device",
) -> DeviceInput:
    """Check one device's fields (``kind``, ``model``, ``serial``, ``udi``, ``pocket_side``;
    a catheter's ``length`` and ``tip_level``) against the device catalog (pumps, catheters)
    or ``stimulator_models`` (IPGs). A catheter's length is above 0 cm and not above the
    catalog's full length (equal is allowed: an untrimmed catheter)."""
    kind = _choice(DeviceKind, raw.get("kind"), f"{name}.kind")
    model_text = text(raw.get("model"), f"{name}.model", required=True, limit=120)
    serial = text(raw.get("serial"), f"{name}.serial", required=False, limit=SERIAL_MAX)
    udi = text(raw.get("udi"), f"{name}.udi", required=False, limit=TEXT_MAX)
    side_raw = raw.get("pocket_side")
    side = None if side_raw in (None, "") else _choice(PocketSide, side_raw, f"{name}.pocket_side")
    if kind in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP):
        spec = catalog.pump(model_text, f"{name}.model")
        external = spec.kind is PumpKind.EXTERNAL
        if external != (kind is DeviceKind.TRIAL_PUMP):
            raise InputError(
                f"{name}.model",
                f"{spec.model} is " + ("an external" if external else "an implanted") + " pump",
                "an external pump for a trial pump, an implanted one for a pump",
            )
        model = spec.model
    elif kind is DeviceKind.CATHETER:
        return _catheter(raw, catalog, model_text, serial, udi, name)
    elif kind is DeviceKind.STIMULATOR:
        model = next((m for m in stimulator_models if m.casefold() == model_text.casefold()), "")
        if not model:
            raise InputError(f"{name}.model", f"unknown stimulator model {model_text!r}",
                             "one of: " + ", ".join(stimulator_models))  # fmt: skip
    else:
        raise InputError(f"{name}.kind", f"{kind.value} is registered with its stimulator",
                         "pump, trial-pump, catheter or stimulator")  # fmt: skip
    if kind is DeviceKind.STIMULATOR or kind is DeviceKind.PUMP:
        if side is None:
            raise InputError(f"{name}.pocket_side", "is required for an implanted pump or "
                             "stimulator", "left, right or midline")  # fmt: skip
    elif side is not None:
        raise InputError(f"{name}.pocket_side", "an external trial pump has no pocket", "empty")
    return DeviceInput(kind, model, serial, udi, side)


def _catheter(
    raw: Mapping[str, object], catalog: DeviceCatalog, model_text: str, serial: str, udi: str,
    name: str,
) -> DeviceInput:  # fmt: skip
    spec = catalog.catheter(model_text, f"{name}.model")
    if raw.get("pocket_side") not in (None, ""):
        raise InputError(f"{name}.pocket_side", "a catheter has no pocket", "empty")
    length_raw = raw.get("length")
    if isinstance(length_raw, pint.Quantity):
        length = length_raw.to("cm")
    else:
        length_text = text(length_raw, f"{name}.length", required=True, limit=64)
        length = parse_quantity(length_text, f"{name}.length", Dimension.LENGTH).to("cm")
    if not above(length, parse_quantity("0 cm", "zero", Dimension.LENGTH)):
        raise InputError(f"{name}.length", f"{length:~P} is not above 0 cm", "e.g. '45 cm'")
    if spec.full_length is not None and above(length, spec.full_length):
        raise InputError(f"{name}.length", f"{length:~P} is longer than the whole catheter "
                         f"({spec.full_length:~P}; {spec.source})",
                         f"at most {spec.full_length:~P}")  # fmt: skip
    volume = None
    if spec.volume_per_length is not None:
        volume = (length * spec.volume_per_length).to("mL")
    level = tip_level(raw.get("tip_level"), f"{name}.tip_level")
    return DeviceInput(DeviceKind.CATHETER, spec.model, serial, udi, None, length, level, volume)
