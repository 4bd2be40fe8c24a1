"""A refill with a concentration change is recorded with its new program in one transaction
(or nothing), and the program is judged against the reservoir AFTER the refill.

The patient (tests/unit/clinic/conftest.py): morphine 10 mg/mL at 3 mg/d = 0.3 mL/d, 20 mL
filled 2024-01-02 09:00. The refill on 2024-03-02 09:00 (60 days: 18 mL delivered, 2 mL
expected) withdraws 1.6 mL and fills 20 mL of 25 mg/mL.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.unit.clinic.conftest import DOCTOR, NURSE, FakeClock, setup_patient
from thecal.clinic.errors import ConcurrentEditError, PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.patient_context import current_prescription
from thecal.clinic.program_workflow import preview_program_change
from thecal.clinic.refill_concentration import ConcentrationChange, concentration_change
from thecal.clinic.refill_program import (
    REASON,
    notes_of,
    preview_refill_program,
    record_refill_program,
)
from thecal.clinic.refill_workflow import RefillInput
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level, OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_

AT = datetime(2024, 3, 2, 9, 0)
PLANNED = AT + timedelta(days=300)


def concentration_to(
    uow: Any, library: DrugLibrary, catalog: DeviceCatalog, pid: str, new: str = "25 mg/mL"
) -> ConcentrationChange:
    with uow.reader() as repo:
        rx = current_prescription(repo, pid)
    assert rx is not None
    change = concentration_change(rx.plan(), {"morphine": Q_(new)}, library, catalog,
                                  catheter_volume=Q_(0.13, "mL"),
                                  internal_volume=Q_(0.2, "mL"))  # fmt: skip
    assert change is not None
    return change


def reasoned(uow: Any, library: DrugLibrary, catalog: DeviceCatalog, pid: str,
             change: ConcentrationChange) -> RefillInput:  # fmt: skip
    """The refill with a reason for every soft finding the combined preview raises. The next
    appointment in 300 days is after the low-reservoir alarm: (20 mL − 2 mL alarm) ÷ 0.12 mL/d
    (the NEW rate) = 150 d after 2024-03-02 = 2024-07-30 09:00 (soft)."""
    entry = RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-C", planned_refill=PLANNED)
    with uow.reader() as repo:
        preview = preview_refill_program(repo, library, catalog, patient_id=pid, entry=entry,
                                         change=change, at=AT, actor=DOCTOR)  # fmt: skip
    reasons = {f.code.value: "checked (test)" for f in preview.findings
               if f.level is Level.SOFT}  # fmt: skip
    return replace(entry, overrides=reasons)


def stored(uow: Any, pid: str) -> tuple[int, int, int]:
    with uow.reader() as repo:
        return (len(repo.refills_for(pid)), len(repo.prescriptions_for(pid)),
                len(repo.program_changes_for(pid)))  # fmt: skip


def test_refill_and_new_program_stored_together(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = AT
    change = concentration_to(uow, library, catalog, patient.id)
    entry = reasoned(uow, library, catalog, patient.id, change)
    out, _ = record_refill_program(uow, clock, library, catalog, actor=DOCTOR,
                                   patient_id=patient.id, entry=entry, change=change,
                                   bridge="not sent (test)")  # fmt: skip
    with uow.reader() as repo:
        (refill,) = repo.refills_for(patient.id)
        _, new = repo.prescriptions_for(patient.id)
        (_, program_change) = repo.program_changes_for(patient.id)
    # The fill's concentrations are the NEW ones; the refill names the version stored with it.
    assert refill.concentrations == (("morphine", "25 mg/mL"),)
    assert refill.prescription_version == 2 == new.version == program_change.new_version
    assert refill.performed_at == AT == program_change.at
    assert [Q_(i.concentration) for i in new.plan().admixture] == [Q_(25, "mg/mL")]
    assert refill.refill_by is not None and refill.refill_by <= datetime(2024, 7, 30, 9, 0)
    assert "2024-07-30 09:00" in " ".join(f.message for f in out.refill.findings)
    assert out.refill.record == refill and out.program.prescription == new
    # Same daily dose: 3 mg/d ÷ 25 mg/mL = 0.12 mL/d (was 3 mg/d ÷ 10 mg/mL = 0.3 mL/d).
    notes = dict(notes_of(program_change.reason))
    assert program_change.reason.startswith(REASON)
    assert notes["old rate"] == "0.3 mL/d" and notes["new rate"] == "0.12 mL/d"
    assert notes["concentrations"] == "morphine 10 mg/mL → 25 mg/mL"
    # dead volume 0.2 + 0.13 = 0.33 mL; bridge rate 3 mg/d ÷ 10 mg/mL = 0.3 mL/d for
    # 0.33 mL ÷ 0.3 mL/d = 1.1 d = 26.4 h.
    assert "0.33 mL" in notes["dead volume"] and "26.4 h" in notes["bridge"]
    assert notes["bridge sent"] == "not sent (test)"
    assert Code.RESERVOIR_ADMIXTURE_MISMATCH.value not in {f.code for f in
                                                           program_change.findings}  # fmt: skip


def test_gate_judges_the_reservoir_after_the_refill(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """The 25 mg/mL program on the OLD reservoir (10 mg/mL) would give 0.12 mL/d × 10 mg/mL
    = 1.2 mg/d instead of 3 mg/d: hard. After the refill the reservoir holds 25 mg/mL: fine."""
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = AT
    change = concentration_to(uow, library, catalog, patient.id)
    with uow.reader() as repo:
        before = preview_program_change(repo, library, catalog, patient_id=patient.id,
                                        plan=change.plan, at=AT, actor=DOCTOR)  # fmt: skip
        after = preview_refill_program(repo, library, catalog, patient_id=patient.id,
                                       entry=RefillInput(Q_(1.6, "mL"), Q_(20, "mL"), "L"),
                                       change=change, at=AT, actor=DOCTOR)  # fmt: skip
    (mismatch,) = [f for f in before.findings if f.code is Code.RESERVOIR_ADMIXTURE_MISMATCH]
    assert (
        mismatch.level is Level.HARD and "morphine 1.2 mg/d instead of 3 mg/d" in mismatch.message
    )
    assert not any(f.level is Level.HARD for f in after.findings)


def test_old_concentration_program_on_the_new_fill_refuses_everything(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    """Vice versa: the unchanged 10 mg/mL program is fine on the old reservoir (no finding)
    but the fill now holds 25 mg/mL: 0.3 mL/d × 25 mg/mL = 7.5 mg/d instead of 3 mg/d, hard.
    Nothing is stored: neither the refill nor a prescription version."""
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = AT
    change = concentration_to(uow, library, catalog, patient.id)
    with uow.reader() as repo:
        rx = current_prescription(repo, patient.id)
        assert rx is not None
        on_old = preview_program_change(repo, library, catalog, patient_id=patient.id,
                                        plan=rx.plan(), at=AT, actor=DOCTOR)  # fmt: skip
    assert Code.RESERVOIR_ADMIXTURE_MISMATCH not in {f.code for f in on_old.findings}
    unchanged = ConcentrationChange(rx.plan(), change.drug, change.concentrations,
                                    change.old_rate, change.old_rate, change.daily_dose,
                                    change.rate_formula, change.bridge)  # fmt: skip
    entry = reasoned(uow, library, catalog, patient.id, change)
    with uow.reader() as repo:
        on_new = preview_refill_program(
            repo,
            library,
            catalog,
            patient_id=patient.id,
            entry=entry,
            change=unchanged,
            at=AT,
            actor=DOCTOR,
        )
    (mismatch,) = [f for f in on_new.findings if f.code is Code.RESERVOIR_ADMIXTURE_MISMATCH]
    assert (
        mismatch.level is Level.HARD and "morphine 7.5 mg/d instead of 3 mg/d" in mismatch.message
    )
    with pytest.raises(OverrideError, match="PROGRAM-RESERVOIR-ADMIXTURE"):
        record_refill_program(uow, clock, library, catalog, actor=DOCTOR, patient_id=patient.id,
                              entry=entry, change=unchanged, bridge="-")  # fmt: skip
    assert stored(uow, patient.id) == (0, 1, 1)


@pytest.mark.parametrize("spoil", ["no reason", "stale patient", "nurse"])
def test_all_or_nothing(
    uow: MemoryUnitOfWork, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog,
    spoil: str,
) -> None:  # fmt: skip
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = AT
    change = concentration_to(uow, library, catalog, patient.id)
    entry = reasoned(uow, library, catalog, patient.id, change)
    assert entry.overrides  # the appointment after the alarm needs a reason
    record: Callable[..., Any] = record_refill_program
    kwargs: dict[str, Any] = {"actor": DOCTOR, "entry": entry}
    expected: type[Exception] = OverrideError
    if spoil == "no reason":
        kwargs["entry"] = replace(entry, overrides={})
    elif spoil == "stale patient":
        kwargs["patient_version"], expected = 0, ConcurrentEditError
    else:
        kwargs["actor"], expected = NURSE, PermissionDenied  # a concentration needs a physician
    with pytest.raises(expected):
        record(uow, clock, library, catalog, patient_id=patient.id, change=change, bridge="-",
               **kwargs)  # fmt: skip
    assert stored(uow, patient.id) == (0, 1, 1)
