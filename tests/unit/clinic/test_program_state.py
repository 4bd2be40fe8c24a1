"""The clinic's program change is checked against the pump in place, what the reservoir holds
and whether it ran dry; the first program is a start, a refill is not (issue 10)."""

from datetime import datetime

import pytest

from thecal.clinic.workflows import (
    RefillInput,
    preview_program_change,
    preview_refill,
    record_refill,
)
from thecal.therapy.findings import Code, Level
from thecal.therapy.plan_file import FillEntry, PlanFile
from thecal.units import Q_

from .conftest import NURSE, morphine_plan, setup_patient


def _with(plan: PlanFile, **changes: object) -> PlanFile:
    return plan.model_copy(update=changes)


def _preview(uow, library, catalog, patient_id, plan, at):  # type: ignore[no-untyped-def]
    with uow.reader() as repo:
        return {
            f.code: f
            for f in preview_program_change(
                repo, library, catalog, patient_id=patient_id, plan=plan, at=at
            ).findings
        }


def test_first_program_is_a_start_and_a_refill_is_not(uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    with uow.reader() as repo:
        assert repo.prescriptions_for(patient.id)[-1].plan().start is True
        refill = RefillInput(
            withdrawn=Q_(11.0, "mL"), filled=Q_(20.0, "mL"), drug_lot="L1",
            planned_refill=datetime(2024, 2, 20, 9, 0),
        )  # fmt: skip
        out = preview_refill(
            repo,
            library,
            catalog,
            patient_id=patient.id,
            entry=refill,
            at=datetime(2024, 2, 1, 9, 0),
            by="n",
        )
    codes = {f.code for f in out.findings}
    assert Code.START_DOSE_ABOVE_LIMIT not in codes and Code.PREVIOUS_PROGRAM_UNKNOWN in codes


def test_program_for_another_pump_than_the_implanted_one_is_hard(
    uow, clock, library, catalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)  # a SynchroMed II 8637-20 in place
    plan = morphine_plan()
    other = _with(plan, pump=plan.pump.model_copy(update={"model": "SynchroMed II 8637-40"}))
    found = _preview(uow, library, catalog, patient.id, other, datetime(2024, 1, 12, 9, 0))
    assert found[Code.PUMP_MODEL_MISMATCH].level is Level.HARD


def test_new_concentration_without_a_fill_is_hard(uow, clock, library, catalog) -> None:
    # The prescription's fill (2024-01-02) put morphine 10 mg/mL in the reservoir. A program for
    # 25 mg/mL at 3 mg/d = 0.12 mL/d would deliver 0.12 × 10 = 1.2 mg/d.
    patient, _ = setup_patient(uow, clock, library, catalog)
    at = datetime(2024, 1, 12, 9, 0)
    data = morphine_plan().model_dump(exclude_none=True)
    data["admixture"] = [{"drug": "morphine", "concentration": "25 mg/mL"}]
    plan = PlanFile.model_validate(data)
    found = _preview(uow, library, catalog, patient.id, plan, at)
    f = found[Code.RESERVOIR_ADMIXTURE_MISMATCH]
    assert f.level is Level.HARD and "morphine 1.2 mg/d instead of 3 mg/d" in f.message
    # The same change together with a fill now: the reservoir will hold the new drug.
    filled = _with(plan, fill=FillEntry(volume="20 mL", at=at))
    assert Code.RESERVOIR_ADMIXTURE_MISMATCH not in _preview(
        uow, library, catalog, patient.id, filled, at
    )


def test_program_change_on_an_empty_reservoir_flags_tolerance(uow, clock, library, catalog) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)  # morphine 3 mg/d = 0.3 mL/d
    clock.now = datetime(2024, 3, 2, 9, 0)
    record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id,
        entry=RefillInput(withdrawn=Q_(1.6, "mL"), filled=Q_(20.0, "mL"), drug_lot="L2",
                    confirmed_after_fill=Q_(19.8, "mL"), planned_refill=datetime(2024, 4, 26, 9)),
    )  # fmt: skip
    # 20 mL ÷ 0.3 mL/d = 66 d 16 h: 03-02 09:00 + 66 d = 05-07 09:00, + 16 h = 05-08 01:00.
    # At 05-17 09:00 delivery has been stopped 9 d 8 h = 224 h ≥ 3 d: restarting at 3 mg/d →
    # soft, proposed 1 mg/d.
    found = _preview(
        uow, library, catalog, patient.id, morphine_plan(), datetime(2024, 5, 17, 9, 0)
    )  # fmt: skip
    f = found[Code.RESTART_AFTER_INTERRUPTION]
    assert f.level is Level.SOFT and f.limit == Q_("1 mg/d") and "224 h" in f.message
    # Before it runs dry (04-20): nothing.
    early = _preview(
        uow, library, catalog, patient.id, morphine_plan(), datetime(2024, 4, 20, 9, 0)
    )  # fmt: skip
    assert Code.RESTART_AFTER_INTERRUPTION not in early


@pytest.mark.parametrize("start", [True, False])
def test_the_preview_decides_start_from_the_record(uow, clock, library, catalog, start) -> None:
    # Whatever the form says, the clinic decides: a stored prescription exists → not a start.
    patient, _ = setup_patient(uow, clock, library, catalog)
    with uow.reader() as repo:
        out = preview_program_change(
            repo, library, catalog, patient_id=patient.id, plan=_with(morphine_plan(), start=start),
            at=datetime(2024, 1, 12, 9, 0),
        )  # fmt: skip
    assert out.plan.start is False
