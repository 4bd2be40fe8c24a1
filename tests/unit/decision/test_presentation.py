"""The presentation is untrusted input: strict types, units required, errors name the field."""

import math

import pytest

from thecal.decision import presentation_from_mapping
from thecal.decision.facts import facts_of
from thecal.units import Q_, InputError


def err(**data: object) -> InputError:
    data.setdefault("device", "intrathecal_pump")
    with pytest.raises(InputError) as exc:
        presentation_from_mapping(data)
    return exc.value


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"dwell_time": "14"}, "dwell_time"),  # a bare number: units are never assumed
        ({"dwell_time": 14}, "dwell_time"),
        ({"dwell_time": "nan a"}, "dwell_time"),
        ({"dwell_time": "14 mL"}, "dwell_time"),
        ({"dwell_time": "-1 a"}, "dwell_time"),
        ({"dwel_time": "14 a"}, "dwel_time"),
        ({"symptoms": [{"kind": "itch"}]}, "symptoms.0.kind"),
        ({"symptoms": [{"kind": "pain", "onset": "2"}]}, "symptoms.0.onset"),
        ({"comorbidities": {"dialysis": "yes"}}, "comorbidities.dialysis"),
        ({"comorbidities": {"ckd_stage": 6}}, "comorbidities.ckd_stage"),
        ({"comorbidities": {"calcium": "9.5 mg/mL"}}, "comorbidities.calcium"),
        (
            {"comorbidities": {"calcium_phosphate_product": "55"}},
            "comorbidities.calcium_phosphate_product",
        ),
        ({"residuals": [{"expected": "10 mL", "withdrawn": "9 mL"}]}, "accuracy_band"),
        (
            {"residuals": [{"expected": "10", "withdrawn": "9 mL"}], "accuracy_band": "14.5 %"},
            "residuals.0.expected",
        ),
        ({"drugs": ["aspirin"]}, "drugs.0"),
        ({"interrogation": "fine"}, "interrogation"),
    ],
)
def test_bad_values_name_their_field(data: dict[str, object], field: str) -> None:
    assert err(**data).field == field


def test_device_is_required() -> None:
    with pytest.raises(InputError) as exc:
        presentation_from_mapping({})
    assert exc.value.field == "device"


def test_quantities_travel_with_their_units() -> None:
    p = presentation_from_mapping(
        {
            "device": "stimulator",
            "dwell_time": "14 a",
            "comorbidities": {"calcium": "9.5 mg/dL", "phosphate": "6 mg/dL"},
        }
    )
    assert p.dwell_time == Q_(14, "year")
    f = facts_of(p)
    # Ca x P = 9.5 x 6 = 57 mg2/dL2
    assert math.isclose(f["calcium_phosphate_product"].to("mg**2/dL**2").magnitude, 57)


def test_a_pint_quantity_from_the_registry_is_accepted() -> None:
    p = presentation_from_mapping({"device": "intrathecal_pump", "time_since_refill": Q_(3, "day")})
    assert p.time_since_refill == Q_(3, "day")


def test_the_model_dump_reads_back() -> None:
    data = {"device": "intrathecal_pump", "dwell_time": "14 a", "accuracy_band": "14.5 %",
            "residuals": [{"expected": "10 mL", "withdrawn": "9 mL"}],
            "comorbidities": {"calcium_phosphate_product": "60 mg2/dL2"}}  # fmt: skip
    p = presentation_from_mapping(data)
    assert presentation_from_mapping(p.model_dump()) == p
