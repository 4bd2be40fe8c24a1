"""The program form's editors: a flex schedule as rows (start time, weekdays, a dose rate or a
flow rate with its time base) and a patient bolus (dose or volume, duration, lockout, most per
day), turned into the plan's ``schedule`` and ``patient_bolus`` tables. Each field is checked
on its own and named in the error (``schedule.steps[2].amount``); the plan's own validation
then checks the whole (a flex day starts at 00:00, the step count, one of dose or rate)."""

from collections.abc import Mapping
from typing import Any

from thecal.therapy.plan_file import PlanFile
from thecal.units import Dimension, InputError, parse_quantity

EXTRA_ROWS = 3
"""Empty rows offered under the current steps (a row left empty is ignored)."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PB_FIELDS = ("pb_amount", "pb_duration", "pb_lockout", "pb_max_per_day")


def editor_values(plan: PlanFile | None) -> dict[str, str]:
    """The editor's fields for ``plan``: mode, one row per flex step plus empty ones, and the
    patient bolus (empty: none)."""
    if plan is None:
        return {"mode": ""}
    s = plan.schedule
    out: dict[str, object] = {"mode": s.mode}
    for i, step in enumerate([*s.steps, *[None] * EXTRA_ROWS]):
        out[f"step_start_{i}"] = f"{step.start:%H:%M}" if step else ""
        out[f"step_days_{i}"] = " ".join(step.days or []) if step else ""
        out[f"step_amount_{i}"] = (step.dose or step.rate or "") if step else ""
    pb = plan.patient_bolus
    out.update({
        "pb_amount": (pb.dose or pb.volume or "") if pb else "",
        "pb_duration": pb.duration if pb else "",
        "pb_lockout": pb.lockout if pb else "",
        "pb_max_per_day": str(pb.max_per_day) if pb else "",
    })  # fmt: skip
    return {k: str(v) for k, v in out.items()}


def blank_editor() -> dict[str, str]:
    """The editors' fields with nothing in them: continuous, empty flex rows, no bolus."""
    out = {"mode": "continuous"}
    for i in range(EXTRA_ROWS):
        out.update({f"step_start_{i}": "", f"step_days_{i}": "", f"step_amount_{i}": ""})
    return out | dict.fromkeys(PB_FIELDS, "")


def step_rows(values: Mapping[str, str]) -> list[int]:
    """The row numbers present in ``values`` (the form posts every row, empty ones too)."""
    rows = sorted({int(k.rsplit("_", 1)[1]) for k in values if k.startswith("step_start_")
                   and k.rsplit("_", 1)[1].isdigit()})  # fmt: skip
    return rows


def _amount(text: str, field: str) -> tuple[str, str]:
    """("dose" | "rate", the text): a dose rate ('2 mg/d') or a flow rate ('0.5 mL/d')."""
    for key, dim in (("dose", Dimension.DOSE_RATE), ("rate", Dimension.FLOW_RATE)):
        try:
            parse_quantity(text, field, dim)
        except InputError:
            continue
        return key, text.strip()
    raise InputError(field, f"{text!r} is not a dose rate or a flow rate",
                     "a dose per day such as '2 mg/d' or a rate such as '0.5 mL/d'")  # fmt: skip


def apply_schedule(data: dict[str, Any], values: Mapping[str, str]) -> None:
    """Set ``data['schedule']`` (a plan as JSON) from the editor: continuous keeps its dose or
    rate (edited by the dose/rate fields); flex takes the filled rows as its steps."""
    mode = values.get("mode", "")
    if mode not in ("continuous", "flex"):
        raise InputError("schedule.mode", f"{mode!r}", "continuous or flex")
    sched = data["schedule"]
    if mode == "continuous":
        if sched.get("mode") == "flex":
            raise InputError("schedule.mode", "a flex schedule cannot be turned into a "
                             "continuous one here", "the dose or rate field of a continuous "
                             "schedule, or the advanced plan box")  # fmt: skip
        return
    steps: list[dict[str, Any]] = []
    for i in step_rows(values):
        start = values.get(f"step_start_{i}", "").strip()
        amount = values.get(f"step_amount_{i}", "").strip()
        days = values.get(f"step_days_{i}", "").replace(",", " ").lower().split()
        if not (start or amount or days):
            continue
        where = f"schedule.steps[{len(steps)}]"
        if not start:
            raise InputError(f"{where}.start", "is required", "a time of day HH:MM")
        if not amount:
            raise InputError(f"{where}.amount", "is required", "a dose rate or a flow rate")
        bad = [d for d in days if d not in WEEKDAYS]
        if bad:
            raise InputError(f"{where}.days", f"{' '.join(bad)!r}", " ".join(WEEKDAYS))
        key, text = _amount(amount, f"{where}.amount")
        step: dict[str, Any] = {"start": start, key: text}
        if days:
            step["days"] = days
        steps.append(step)
    if not steps:
        raise InputError("schedule.steps", "a flex schedule needs at least one step",
                         "a row starting at 00:00")  # fmt: skip
    for key in ("dose", "rate"):
        sched.pop(key, None)
    sched.update(mode="flex", steps=steps)


def apply_patient_bolus(data: dict[str, Any], values: Mapping[str, str]) -> None:
    """Set or clear ``data['patient_bolus']`` from the editor: every field empty is none."""
    given = {k: values.get(k, "").strip() for k in PB_FIELDS}
    if not any(given.values()):
        data.pop("patient_bolus", None)
        return
    for k, v in given.items():
        if not v:
            name = k.removeprefix("pb_")
            raise InputError(f"patient_bolus.{name}", "is required (or leave every patient "
                             "bolus field empty for none)", "a value with its unit")  # fmt: skip
    amount = given["pb_amount"]
    try:
        parse_quantity(amount, "patient_bolus.amount", Dimension.MASS)
        kind = "dose"
    except InputError:
        parse_quantity(amount, "patient_bolus.amount", Dimension.VOLUME)
        kind = "volume"
    count = given["pb_max_per_day"]
    if not count.isdigit() or int(count) < 1:
        raise InputError("patient_bolus.max_per_day", f"{count!r}", "a whole number, 1 or more")
    bolus: dict[str, Any] = {kind: amount, "duration": given["pb_duration"],
                             "lockout": given["pb_lockout"], "max_per_day": int(count)}  # fmt: skip
    old = data.get("patient_bolus") or {}
    if kind == "dose" and old.get("drug"):
        bolus["drug"] = old["drug"]
    data["patient_bolus"] = bolus
