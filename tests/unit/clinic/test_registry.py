from dataclasses import replace
from datetime import date, datetime

import pytest

from thecal.clinic.errors import LifecycleError
from thecal.clinic.lifecycle import record_procedure
from thecal.clinic.model import Alarm, Device, DeviceKind, Procedure, ProcedureKind
from thecal.clinic.replacement import ReplacementStatus, plan_replacement, replacement_plans
from thecal.clinic.settings import build_clinic_settings
from thecal.clinic.worklist import worklist
from thecal.units import Q_

from .conftest import DOCTOR, setup_patient

SETTINGS = build_clinic_settings(
    "test", {"replacement_lead": "6 mo", "replacement_lead_source": "Medtronic",
             "session_idle_timeout": "30 min", "session_idle_timeout_source": "800-63B",
             "session_max_age": "12 h", "session_max_age_source": "800-63B",
             "due_soon_window": "7 d", "due_soon_window_source": "product choice"},
)  # fmt: skip


def test_explant_twice_is_refused(uow, clock, library, catalog) -> None:
    patient, pump = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2025, 1, 10, 9, 0)
    explant = Procedure(patient.id, ProcedureKind.EXPLANT, date(2025, 1, 10), removed=(pump.id,))
    record_procedure(uow, clock, DOCTOR, explant)
    with uow.reader() as repo:
        stored = repo.get_device(pump.id)
    assert stored.removed_on == date(2025, 1, 10)
    # 2024-01-02 to 2025-01-10: 365 (leap year 2024) + 8 = 374 days.
    assert stored.dwell_time(date(2030, 1, 1)).magnitude == 374
    before = len(uow.state.audit)
    with pytest.raises(LifecycleError, match="already removed"):
        record_procedure(uow, clock, DOCTOR, replace(explant, id="again"))
    assert len(uow.state.audit) == before and len(uow.state.procedures) == 2


def test_lifecycle_rules(uow, clock, library, catalog) -> None:
    patient, pump = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2025, 1, 10, 9, 0)
    second = Device(patient.id, DeviceKind.PUMP, "Prometra II 20 mL", date(2025, 1, 10), "P2")
    with pytest.raises(LifecycleError, match="one drug pump"):
        record_procedure(uow, clock, DOCTOR, Procedure(patient.id, ProcedureKind.IMPLANT,
                                                       date(2025, 1, 10)), [second])  # fmt: skip
    with pytest.raises(LifecycleError, match="future"):
        record_procedure(uow, clock, DOCTOR, Procedure(
            patient.id, ProcedureKind.EXPLANT, date(2025, 2, 1), removed=(pump.id,)))  # fmt: skip
    with pytest.raises(LifecycleError, match="before"):
        record_procedure(uow, clock, DOCTOR, Procedure(
            patient.id, ProcedureKind.EXPLANT, date(2023, 12, 1), removed=(pump.id,)))  # fmt: skip
    # A replacement removes the old pump and places the new one in one transaction.
    swap = Procedure(patient.id, ProcedureKind.REPLACEMENT, date(2025, 1, 10), removed=(pump.id,))
    record_procedure(uow, clock, DOCTOR, swap, [second])
    with uow.reader() as repo:
        in_place = [d.serial for d in repo.devices_for(patient.id) if d.in_place]
    assert in_place == ["P2"]


def test_replacement_dates_from_catalog(catalog) -> None:
    pump = Device("p", DeviceKind.PUMP, "SynchroMed II 8637-20", date(2020, 3, 1), "S")
    spec = catalog.pump(pump.model)
    plan = plan_replacement(pump, spec, date(2024, 1, 1), SETTINGS)
    # 5 year = 5 x 365.25 d = 1826.25 d -> 1826 whole days after 2020-03-01 = 2025-03-01.
    assert plan.replace_by == date(2025, 3, 1)
    # 6 mo = 6 x 30.436875 d = 182.6 d -> 182 d before 2025-03-01 = 2024-08-31.
    assert plan.plan_from == date(2024, 8, 31)
    assert plan.status is ReplacementStatus.UPCOMING
    assert (
        plan_replacement(pump, spec, date(2024, 8, 31), SETTINGS).status
        is ReplacementStatus.PLAN_NOW
    )
    assert (
        plan_replacement(pump, spec, date(2025, 3, 2), SETTINGS).status is ReplacementStatus.OVERDUE
    )
    # ERI reported 2024-02-01: the pump stops within 90 d -> 2024-05-01.
    eri = plan_replacement(pump, spec, date(2024, 2, 1), SETTINGS, eri_on=date(2024, 2, 1))
    assert eri.replace_by == date(2024, 5, 1) and eri.status is ReplacementStatus.PLAN_NOW
    assert any("medtronic.com" in s for s in plan.sources)


def test_replacement_unknown_without_battery_life(catalog) -> None:
    pump = Device("p", DeviceKind.PUMP, "Prometra II 20 mL", date(2020, 3, 1), "S")
    plan = plan_replacement(pump, catalog.pump(pump.model), date(2024, 1, 1), SETTINGS)
    assert plan.status is ReplacementStatus.UNKNOWN and plan.replace_by is None


def test_replacement_plans_and_worklist(uow, clock, library, catalog) -> None:
    patient, pump = setup_patient(uow, clock, library, catalog)
    with uow.transaction("system", clock(), "alarm from interrogation") as repo:
        repo.add_alarm(Alarm(patient.id, "ELECTIVE_REPLACEMENT", "non-critical", "ERI",
                             datetime(2024, 1, 3, 8, 0), pump.id))  # fmt: skip
    with uow.reader() as repo:
        (plan,) = replacement_plans(repo, {s.model: s for s in catalog.pumps}, date(2024, 1, 3),
                                   SETTINGS)  # fmt: skip
        items = worklist(repo, date(2024, 1, 3), Q_(7, "d"))
    assert plan.status is ReplacementStatus.PLAN_NOW and plan.replace_by == date(2024, 4, 2)
    assert [i.kind for i in items] == ["alarm"]


def test_settings_need_a_source() -> None:
    with pytest.raises(Exception, match="source"):
        build_clinic_settings("x", {"replacement_lead": "6 mo"})
