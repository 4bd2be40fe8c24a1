"""One vignette per shipped rule: the expected urgency, the rules that fire and the prompts.

The three seed case reports are among them: the cancer patient with new weakness after an
implant (normal interrogation), the calcified pocket at pump replacement (14-year dwell, no
kidney disease) and the calcified IPG pocket of a patient on long-term haemodialysis.
"""

from tests.unit.decision.helpers import fired, run


def test_r1_seed_case_2_new_weakness_after_implant_with_cancer() -> None:
    # Chondrosarcoma, new weakness, urinary retention and paraesthesia days after the implant;
    # the pump's interrogation was unremarkable.
    a = run(
        drugs=["hydromorphone", "bupivacaine"],
        time_since_implant="6 d",
        interrogation="normal",
        comorbidities={"cancer": True},
        symptoms=[
            {"kind": "weakness", "onset": "2 d", "progressive": True},
            {"kind": "bladder", "onset": "2 d"},
            {"kind": "sensory_change", "onset": "3 d"},
        ],
    )
    assert a.urgency == "within_24h"
    assert fired(a) == ["R1"]
    assert "urgent-imaging-24h" in a.codes("prompts")
    assert {"epidural-metastasis", "catheter-tip-mass"} <= set(a.codes("differential"))
    assert "mri-spine" in a.codes("workup")
    texts = [i.text for i in a.must_not_miss]
    assert (
        "A normal interrogation does not exclude disease progression or a catheter-tip mass"
        in texts
    )
    why = a.prompts[0].because
    assert "new weakness, onset 2 d ago, progressive" in why
    assert a.prompts[0].source.startswith("NICE")


def test_r1_without_cancer_names_the_tip_mass_not_metastasis() -> None:
    a = run(drugs=["morphine"], symptoms=[{"kind": "sensory_level"}])
    assert a.urgency == "within_24h"
    assert a.codes("differential") == ["catheter-tip-mass"]


def test_r2_cancer_with_new_back_pain_and_normal_pump() -> None:
    a = run(
        interrogation="normal",
        comorbidities={"cancer": True},
        symptoms=[{"kind": "pain", "place": "back", "onset": "10 d"}],
    )
    assert (a.urgency, fired(a)) == ("within_week", ["R2"])
    assert a.codes("prompts") == ["device-normal-not-cause-excluded"]


def test_r2_with_a_neurological_sign_becomes_24_h() -> None:
    a = run(
        comorbidities={"spinal_metastases": True},
        symptoms=[{"kind": "pain", "place": "radicular"}, {"kind": "bowel"}],
    )
    assert a.urgency == "within_24h"
    assert fired(a) == ["R1", "R2"]


def test_r3_granuloma_risk_after_24_months_with_rising_dose() -> None:
    a = run(drugs=["morphine"], time_on_intrathecal_opioid="30 mo", dose_trend="rising")
    assert (a.urgency, fired(a)) == ("within_week", ["R3"])
    assert a.codes("prompts") == ["granuloma-risk"]
    assert a.codes("workup") == ["mri-catheter-tip"]


def test_r3_edge_at_exactly_24_months_fires_and_just_below_does_not() -> None:
    # at_or_above: 24 mo itself is in; 23.9 mo is not.
    assert fired(
        run(drugs=["morphine"], time_on_intrathecal_opioid="24 mo", dose_trend="rising")
    ) == ["R3"]
    assert (
        fired(run(drugs=["morphine"], time_on_intrathecal_opioid="23.9 mo", dose_trend="rising"))
        == []
    )


def test_r3_needs_an_opioid() -> None:
    assert fired(run(drugs=["baclofen"], loss_of_effect=True)) == []
    assert fired(run(drugs=["hydromorphone"], loss_of_effect=True)) == ["R3"]


def test_r4_baclofen_pruritus_without_rash_is_an_emergency() -> None:
    a = run(drugs=["baclofen"], symptoms=[{"kind": "pruritus", "rash": False}])
    assert (a.urgency, fired(a)) == ("emergency", ["R4"])
    assert a.codes("prompts") == ["baclofen-withdrawal-emergency", "check-delivery-chain"]
    assert "oral-baclofen-not-replacement" in a.codes("must_not_miss")


def test_r4_empty_reservoir_alarm_alone_fires() -> None:
    a = run(drugs=["baclofen"], alarms=["empty_reservoir"])
    assert (a.urgency, fired(a)) == ("emergency", ["R4"])
    assert a.fired[0].because == ["drugs: baclofen", "alarms: empty_reservoir"]


def test_r4_pruritus_with_rash_does_not_fire() -> None:
    assert fired(run(drugs=["baclofen"], symptoms=[{"kind": "pruritus", "rash": True}])) == []


def test_r5_symptoms_within_a_week_of_a_refill() -> None:
    a = run(drugs=["morphine"], time_since_refill="7 d", symptoms=[{"kind": "headache"}])
    assert (a.urgency, fired(a)) == ("today", ["R5"])
    assert a.codes("prompts") == ["refill-error-first"]
    # 7 d is the edge (at_or_below); 8 d is not within it.
    assert fired(run(time_since_refill="8 d", symptoms=[{"kind": "headache"}])) == []


def _residuals(*withdrawn: str) -> list[dict[str, str]]:
    return [{"expected": "10 mL", "withdrawn": w} for w in withdrawn]


def test_r6_low_residual_twice_in_a_row() -> None:
    # band 14.5 %: low means withdrawn < 10 mL x 0.855 = 8.55 mL.
    a = run(
        drugs=["morphine"], accuracy_band="14.5 %", residuals=_residuals("10 mL", "8 mL", "8.5 mL")
    )
    assert (a.urgency, fired(a)) == ("within_week", ["R6"])
    assert "diversion" in a.codes("differential")
    assert "low residual count: 2" in a.fired[0].because[0]


def test_r6_edge_of_the_band_is_inside_and_one_low_residual_is_not_repeated() -> None:
    assert fired(run(accuracy_band="14.5 %", residuals=_residuals("8.55 mL", "8.55 mL"))) == []
    assert fired(run(accuracy_band="14.5 %", residuals=_residuals("8 mL", "10 mL"))) == []


def test_r7_high_residual_suggests_under_delivery() -> None:
    # high means withdrawn > 10 mL x 1.145 = 11.45 mL.
    a = run(drugs=["morphine"], accuracy_band="14.5 %", residuals=_residuals("12 mL"))
    assert (a.urgency, fired(a)) == ("within_week", ["R7"])
    assert "cap-aspiration-dye" in a.codes("workup")
    assert fired(run(accuracy_band="14.5 %", residuals=_residuals("11.45 mL"))) == []


def test_r8_seed_001_dialysis_long_dwell_ipg_before_replacement() -> None:
    a = run(
        device="stimulator",
        occasion="replacement_planning",
        dwell_time="9 a",
        comorbidities={"dialysis": True, "ckd_stage": 5},
    )
    assert (a.urgency, fired(a)) == ("routine", ["R8"])
    assert a.codes("prompts") == ["calcified-pocket-possible"]
    # A stimulator has no catheter to splice.
    assert a.codes("workup") == ["prepare-culture-frozen-section"]


def test_r8_seed_001_at_surgery_with_calcified_pocket() -> None:
    a = run(
        device="stimulator",
        occasion="intraoperative",
        dwell_time="9 a",
        comorbidities={"dialysis": True},
        intraoperative_findings=["calcification", "milky_fluid"],
    )
    assert a.urgency == "today"
    assert fired(a) == ["R11", "R8"]


def test_r8_edges_ca_x_p_and_dwell() -> None:
    base = {"occasion": "replacement_planning"}
    # Ca x P = 10 x 5.5 = 55 mg2/dL2: at_or_above includes the edge.
    assert fired(
        run(
            **base,
            dwell_time="8 a",
            comorbidities={"calcium": "10 mg/dL", "phosphate": "5.5 mg/dL"},
        )
    ) == ["R8"]
    assert (
        fired(
            run(
                **base,
                dwell_time="8 a",
                comorbidities={"calcium_phosphate_product": "54.9 mg2/dL2"},
            )
        )
        == []
    )
    assert fired(run(**base, dwell_time="7.9 a", comorbidities={"dialysis": True})) == []
    # Dwell-only variant at 10 years (the 2024 pump case had no kidney disease).
    assert fired(run(**base, dwell_time="10 a")) == ["R8"]
    # Not at an ordinary visit: it is a note on the replacement plan.
    assert fired(run(dwell_time="14 a", comorbidities={"dialysis": True})) == []


def test_r9_rising_impedance_trend() -> None:
    a = run(device="stimulator", impedance_trend="rising")
    assert (a.urgency, fired(a)) == ("routine", ["R9"])
    assert a.codes("prompts") == ["impedance-trend"]


def test_r10_impedance_below_minimum_or_abrupt_drop() -> None:
    assert fired(run(device="stimulator", impedance_below_minimum=True)) == ["R10"]
    a = run(device="stimulator", impedance_trend="abrupt_drop")
    assert (a.urgency, a.codes("prompts")) == ("within_week", ["possible-short"])


def test_r11_seed_000_milky_fluid_and_calcification_at_replacement() -> None:
    a = run(
        occasion="intraoperative",
        drugs=["morphine"],
        dwell_time="14 a",
        interrogation="normal",
        intraoperative_findings=["milky_fluid", "calcification"],
    )
    assert a.urgency == "today"
    assert fired(a) == ["R11", "R8"]
    texts = [i.text for i in a.prompts]
    assert (
        "Send cultures and frozen section before deciding; calcification can mimic infection"
        in texts
    )
    assert {"culture-frozen-section", "prepare-catheter-splice"} <= set(a.codes("workup"))
    # The splice step is listed once, raised by both rules.
    splice = next(i for i in a.workup if i.code == "prepare-catheter-splice")
    assert splice.rules == ["R8", "R11"]


def test_r12_pocket_erythema_and_meningism() -> None:
    a = run(pocket_findings=["erythema"])
    assert (a.urgency, fired(a)) == ("today", ["R12"])
    assert a.codes("differential") == ["pocket-infection"]
    b = run(symptoms=[{"kind": "headache"}, {"kind": "neck_stiffness"}])
    assert "meningitis" in b.codes("differential")


def test_r13_sedation_is_an_emergency() -> None:
    a = run(drugs=["morphine"], symptoms=[{"kind": "respiratory_depression"}])
    assert (a.urgency, fired(a)) == ("emergency", ["R13"])
    assert a.codes("prompts") == ["overdose-emergency"]


def test_urgency_is_the_maximum_and_the_statement_travels() -> None:
    a = run(drugs=["baclofen"], alarms=["empty_reservoir"], symptoms=[{"kind": "weakness"}])
    assert a.urgency == "emergency"
    assert [f.id for f in a.fired] == ["R4", "R1"]
    assert "never diagnoses" in a.statement
