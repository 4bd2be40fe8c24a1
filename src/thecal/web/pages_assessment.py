"""Decision-support pages: a new assessment on a patient (structured entry of symptoms with
onset, pocket and operative findings over what the registry knows), the recorded result
(urgency as a status with its text, prompts, differential, work-up and must-not-miss, each
with its source and because, and the statement that Thecal proposes and never diagnoses),
the pre-replacement checklist, and the latest assessments for the patient page. The form
assesses one device in place, chosen in a select (``?device=ID`` from the worklist's
ERI / EOS link; else the drug pump, else the stimulator).

Writes: CSRF, the clinic decides the role (a viewer is refused), 303 to the result with a
success message; a bad entry shows the form again (422) with what was typed."""

from collections.abc import Mapping
from typing import Any, get_args

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.adapters.decision_files import assessment_services
from thecal.api.context import AppContext, context
from thecal.clinic.assessment_ports import AssessmentKind, AssessmentRecord
from thecal.clinic.assessment_workflow import MAX_NOTE, stored_result
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import Device, DeviceKind, User
from thecal.decision import CATEGORIES, URGENCY_WORDS
from thecal.decision.presentation import (
    IntraoperativeFinding,
    PainPlace,
    PocketFinding,
    SymptomKind,
)
from thecal.units import Dimension, InputError, parse_quantity
from thecal.web.pages_common import TEMPLATES, page_user, render, saved_url, write_form

router = APIRouter()

SYMPTOMS: tuple[str, ...] = get_args(SymptomKind)
POCKET: tuple[str, ...] = get_args(PocketFinding)
OPERATIVE: tuple[str, ...] = get_args(IntraoperativeFinding)
PLACES: tuple[str, ...] = get_args(PainPlace)
ONSET_UNITS = ("h", "d", "wk", "mo")
OCCASIONS = {"visit": "a visit", "replacement_planning": "planning a replacement",
             "intraoperative": "at surgery"}  # fmt: skip
HEADINGS = {
    "prompts": "Prompts", "differential": "Differential (to consider, not a diagnosis)",
    "workup": "Suggested work-up", "must_not_miss": "Must not be missed",
}  # fmt: skip
_URGENCY_CLASS = {"emergency": "status-hard", "today": "status-hard",
                  "within_24h": "status-hard", "within_week": "status-soft",
                  "routine": "status-info"}  # fmt: skip


def urgency_status(urgency: str) -> tuple[str, str]:
    """The shared status class and the words of an urgency ("within 24 h")."""
    return _URGENCY_CLASS.get(urgency, "status-info"), URGENCY_WORDS.get(urgency, urgency)


def _words(code: str) -> str:
    return code.replace("_", " ")


def _fact(value: object) -> str:
    """A registry fact as a nurse reads it: codes in words, lists joined, yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _words(value)
    if isinstance(value, list | tuple):
        return ", ".join(_fact(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{_words(str(k))} {_fact(v)}" for k, v in value.items())
    return str(value)


def latest_assessments(request: Request, patient_id: str) -> list[AssessmentRecord]:
    """The patient's three newest assessments (for patient.html)."""
    ctx: AppContext = request.app.state.ctx
    try:
        return list(assessment_services(ctx.services).assessments(patient_id=patient_id)[:3])
    except InputError:
        return []


def automatic_prompts(request: Request) -> list[tuple[str, str, Any]]:
    """(patient id, patient name, assessment) for each device in place where a rule fires on
    the record alone (for worklist.html)."""
    ctx: AppContext = request.app.state.ctx
    found = assessment_services(ctx.services).automatic()
    with ctx.uow.reader() as repo:
        names = repo.patient_names({pid for pid, _, _ in found})  # one read, not one a patient
    return [(pid, names.get(pid, pid), a) for pid, _, a in found]


TEMPLATES.env.globals["latest_assessments"] = latest_assessments
TEMPLATES.env.globals["automatic_prompts"] = automatic_prompts
TEMPLATES.env.globals["urgency_status"] = urgency_status


def _onset(form: Mapping[str, str], kind: str) -> str | None:
    text = form.get(f"onset_{kind}", "").strip()
    if not text:
        return None
    unit = form.get(f"onset_unit_{kind}", "d")
    field = f"onset of {_words(kind)}"
    if unit not in ONSET_UNITS:
        raise InputError(field, f"{unit!r} is not a unit offered", "h, d, wk or mo")
    # The project's strict parser: one finite decimal (no nan, inf, "2,5", exponent or
    # expression), then the unit chosen beside it.
    value = parse_quantity(f"{text} {unit}", field, Dimension.TIME).magnitude
    if value < 0:
        raise InputError(field, f"{text} {unit} is not a time ago", "0 or more, in h, d, wk or mo")
    return f"{value:g} {unit}"


def entry_of(form: Mapping[str, str]) -> dict[str, Any]:
    """The clinician's entry from the form's fields (validated by the clinic: InputError)."""
    symptoms: list[dict[str, Any]] = []
    for kind in SYMPTOMS:
        if form.get(f"symptom_{kind}") != "on":
            continue
        s: dict[str, Any] = {"kind": kind, "progressive": form.get(f"progressive_{kind}") == "on"}
        onset = _onset(form, kind)
        if onset is not None:
            s["onset"] = onset
        if kind == "pain":
            if form.get("pain_place"):
                s["place"] = form["pain_place"]
            if form.get("pain_quality", "").strip():
                s["quality"] = form["pain_quality"].strip()
        if kind == "pruritus" and form.get("pruritus_rash") in ("yes", "no"):
            s["rash"] = form["pruritus_rash"] == "yes"
        symptoms.append(s)
    occasion = form.get("occasion", "visit") or "visit"
    if occasion not in OCCASIONS:  # the form's select offers only these (words, not codes)
        raise InputError("occasion", "is not one of the occasions listed",
                         ", ".join(OCCASIONS.values()))  # fmt: skip
    entry: dict[str, Any] = {
        "occasion": occasion,
        "symptoms": symptoms,
        "pocket_findings": [f for f in POCKET if form.get(f"pocket_{f}") == "on"],
        "intraoperative_findings": [f for f in OPERATIVE if form.get(f"operative_{f}") == "on"],
        "loss_of_effect": form.get("loss_of_effect") == "on",
    }
    interrogation = form.get("interrogation", "")
    if interrogation in ("normal", "abnormal", "not_done"):
        entry["interrogation"] = interrogation
    elif interrogation:  # blank: as the registry has it; anything else is not an answer
        raise InputError("interrogation", "is not one of the answers listed",
                         "normal, abnormal or not done")  # fmt: skip
    comorbid: dict[str, Any] = {}
    for key in ("cancer", "dialysis"):
        if form.get(key) == "on":
            comorbid[key] = True
    if form.get("calcium_phosphate_product", "").strip():
        comorbid["calcium_phosphate_product"] = form["calcium_phosphate_product"].strip()
    if comorbid:
        entry["comorbidities"] = comorbid
    return entry


_DEVICE_WORDS = {DeviceKind.PUMP: "Drug pump", DeviceKind.TRIAL_PUMP: "Trial pump (external)",
                 DeviceKind.STIMULATOR: "Pulse generator"}  # fmt: skip


def device_label(d: Device) -> str:
    """A device as the form's select names it: "Drug pump — SynchroMed II, serial NGP123"."""
    serial = f"serial {d.serial}" if d.serial else "no serial recorded"
    return f"{_DEVICE_WORDS.get(d.kind, _words(d.kind.value))} — {d.model}, {serial}"


def _form_page(request: Request, ctx: AppContext, user: User, patient_id: str,
               form: Mapping[str, str], error: str | None = None,
               status: int = 200) -> Response:  # fmt: skip
    svc = assessment_services(ctx.services)
    try:
        patient = ctx.services.patient(patient_id=patient_id)
        devices = svc.devices(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    occasion = form.get("occasion", "visit")
    entry = {"occasion": occasion if occasion in OCCASIONS else "visit"}
    chosen = form.get("device", "")
    if chosen not in {d.id for d in devices}:
        # Not one in place (a link to a removed device, a tampered form): say so, and show
        # the default device's record so the clinician can choose.
        if chosen:
            bad = InputError("assessment.device", f"{chosen!r} is not a pump or stimulator "
                             "in place", "one of the devices listed")  # fmt: skip
            error = error or str(bad)
        chosen = devices[0].id if devices else ""
    registry, automatic, reg_error = None, None, None
    try:
        registry, automatic = svc.preview(patient_id=patient_id, entry=entry,
                                          device_id=chosen or None)  # fmt: skip
    except InputError as exc:
        reg_error = exc.message if exc.field == "assessment.device" else str(exc)
    assessed = next((d for d in devices if d.id == chosen), None)
    return render(request, ctx, "assessment_new.html", status, user=user, p=patient,
                  form=form, error=error or reg_error, registry=registry, automatic=automatic,
                  devices=devices, chosen=chosen, assessed=assessed, device_label=device_label,
                  symptoms=SYMPTOMS, pocket=POCKET, operative=OPERATIVE, places=PLACES,
                  onset_units=ONSET_UNITS, occasions=OCCASIONS, words=_words, fact=_fact,
                  max_note=MAX_NOTE, headings=HEADINGS)  # fmt: skip


@router.get("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def new_assessment(patient_id: str, request: Request, occasion: str = "visit",
                   device: str = Query("", max_length=64), user: User = Depends(page_user),
                   ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """The structured entry, with what the registry already gives the rules about ``device``
    (an id of the patient's devices in place; blank: the drug pump, else the stimulator)."""
    occasion = occasion if occasion in OCCASIONS else "visit"
    return _form_page(request, ctx, user, patient_id, {"occasion": occasion, "device": device})


@router.post("/patients/{patient_id}/assessments", response_class=HTMLResponse)
async def record_assessment(patient_id: str, request: Request,
                            user: User = Depends(page_user),
                            ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """Record: run the rules on the registry and the entry; 303 to the result."""
    form = await write_form(request, ctx, user, "record assessments")
    kind = {"replacement_planning": AssessmentKind.REPLACEMENT,
            "intraoperative": AssessmentKind.OPERATIVE}.get(form.get("occasion", ""),
                                                            AssessmentKind.CLINICIAN)  # fmt: skip
    try:
        version = int(form.get("patient_version", ""))
    except ValueError:
        version = 0
    try:
        record = assessment_services(ctx.services).record(
            actor=user, patient_id=patient_id, entry=entry_of(form),
            device_id=form.get("device", "").strip() or None, kind=kind,
            note=form.get("note", ""), patient_version=version or None,
        )  # fmt: skip
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except InputError as exc:
        ctx.services.patient(patient_id=patient_id)  # 404 first for an unknown patient
        return _form_page(request, ctx, user, patient_id, form, str(exc), 422)
    url = saved_url(f"/patients/{patient_id}/assessments/{record.id}", "assessment")
    return RedirectResponse(url, status_code=303)


@router.get("/patients/{patient_id}/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_page(patient_id: str, assessment_id: str, request: Request,
                    user: User = Depends(page_user),
                    ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """One recorded assessment: urgency, the four lists with source and because, the input."""
    try:
        patient = ctx.services.patient(patient_id=patient_id)
        record = assessment_services(ctx.services).assessment(
            patient_id=patient_id, assessment_id=assessment_id)  # fmt: skip
    except InputError:
        raise HTTPException(404, "no such assessment") from None
    return render(request, ctx, "assessment.html", user=user, p=patient, a=record,
                  result=stored_result(record), categories=CATEGORIES, headings=HEADINGS,
                  occasions=OCCASIONS, words=_words, fact=_fact)  # fmt: skip


@router.post("/patients/{patient_id}/assessments/{assessment_id}/close",
             response_class=HTMLResponse)  # fmt: skip
async def close_assessment(patient_id: str, assessment_id: str, request: Request,
                           user: User = Depends(page_user),
                           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """Close: the assessment leaves the worklist (nurse or physician)."""
    await write_form(request, ctx, user, "close assessments")
    try:
        assessment_services(ctx.services).close(actor=user, patient_id=patient_id,
                                                assessment_id=assessment_id)  # fmt: skip
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except InputError:
        raise HTTPException(404, "no such assessment") from None
    url = saved_url(f"/patients/{patient_id}/assessments/{assessment_id}", "assessment-closed")
    return RedirectResponse(url, status_code=303)
