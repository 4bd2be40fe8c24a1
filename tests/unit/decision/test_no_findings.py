"""A routine visit without anything new raises nothing: routine urgency, no item, no rule.

Property: whatever the background (drugs, dwell time, comorbidities, labs, timings, a normal or
missing interrogation), a presentation at a visit with no new symptom, no pocket or operative
finding, no alarm, no residual outside the band and no impedance anomaly gives routine and no
prompts.
"""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.decision.helpers import run
from thecal.decision import CATEGORIES

_DRUGS = ["morphine", "hydromorphone", "fentanyl", "sufentanil", "baclofen", "ziconotide",
          "bupivacaine", "clonidine"]  # fmt: skip


def _duration(unit: str, top: int) -> st.SearchStrategy[str | None]:
    return st.none() | st.integers(0, top).map(lambda n: f"{n} {unit}")


@st.composite
def quiet_visit(draw: Any) -> dict[str, Any]:
    return {
        "device": draw(st.sampled_from(["intrathecal_pump", "stimulator"])),
        "dwell_time": draw(_duration("a", 30)),
        "drugs": draw(st.lists(st.sampled_from(_DRUGS), max_size=3, unique=True)),
        "time_on_intrathecal_opioid": draw(_duration("mo", 300)),
        # A rising dose alone (no loss of effect, no new pain) is not a presentation.
        "dose_trend": draw(st.sampled_from(["stable", "falling", "unknown"])),
        "concentration_trend": draw(st.sampled_from(["stable", "falling", "unknown"])),
        "time_since_implant": draw(_duration("d", 5000)),
        "time_since_refill": draw(_duration("d", 200)),
        "time_since_program_change": draw(_duration("d", 200)),
        "comorbidities": {
            "cancer": draw(st.booleans()),
            "spinal_metastases": draw(st.booleans()),
            "dialysis": draw(st.booleans()),
            "ckd_stage": draw(st.none() | st.integers(1, 5)),
            "calcium_phosphate_product": draw(
                st.none() | st.integers(20, 120).map(lambda n: f"{n} mg2/dL2")
            ),
        },
        "interrogation": draw(st.sampled_from(["normal", "not_done"])),
        "accuracy_band": "14.5 %",
        "residuals": [
            {"expected": "10 mL", "withdrawn": f"{w} mL"}
            for w in draw(st.lists(st.sampled_from(["8.55", "9", "10", "11", "11.45"]), max_size=4))
        ],
        "impedance_trend": draw(st.sampled_from(["stable", "not_measured"])),
    }


@settings(max_examples=150, deadline=None)
@given(quiet_visit())
def test_nothing_new_gives_routine_and_no_prompt(data: dict[str, Any]) -> None:
    a = run(**data)
    assert a.urgency == "routine"
    assert a.fired == []
    for category in CATEGORIES:
        assert a.items(category) == []


def test_an_empty_visit() -> None:
    a = run()
    assert (a.urgency, a.fired, a.prompts) == ("routine", [], [])
