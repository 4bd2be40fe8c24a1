"""The issue's bar for the import: export → import into a fresh clinic → export gives the same
Bundle, history included, for every demo patient — in memory, on SQLite through the CLI and
once on PostgreSQL — and for generated refills and alarms (a property test)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.interop.conftest import Clinic
from tests.interop.history_clinic import MRN, HistoryClinic
from tests.interop.test_fhir_import import DOCTOR, MRNS, NOW, fresh
from tests.web.conftest import template_db
from thecal.adapters.composition import stimulator_context
from thecal.cli.main import app
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import (
    Alarm,
    DeviceKind,
    RefillCandidateRecord,
    RefillRecord,
    Role,
    StoredFinding,
    User,
)
from thecal.interop.fhir_export import export_patient
from thecal.interop.fhir_import import Catalogs, import_bundle
from thecal.therapy.findings import Code, Level
from thecal.units import Q_, InputError

__all__ = ["template_db"]


def _mrns(all_mrns: tuple[str, ...]) -> list[Any]:
    # Every demo patient, the stimulator patients of seeds 000 and 001 included.
    return list(all_mrns)


def export(clinic: Clinic, uow: Any, pid: str) -> dict[str, Any]:
    return export_patient(uow, patient_id=pid, library=clinic.library, catalog=clinic.catalog,
                          zone=UTC)  # fmt: skip


def load(clinic: Clinic, uow: Any, bundle: Any) -> str:
    cats = Catalogs(clinic.library, clinic.catalog, stimulator_context())
    result = import_bundle(uow, lambda: NOW, DOCTOR, bundle, cats=cats, source="p.json",
                           zone=UTC)  # fmt: skip
    return result.patient.id


@pytest.fixture(scope="module")
def clinic() -> Clinic:
    return Clinic()


@pytest.mark.parametrize("mrn", _mrns(MRNS))
def test_every_demo_patient_round_trips_in_memory(clinic: Clinic, mrn: str) -> None:
    first = export(clinic, clinic.uow, clinic.ids[mrn])
    uow = fresh()
    assert export(clinic, uow, load(clinic, uow, first)) == first


def _fresh_sqlite(url: str) -> None:
    from thecal.store.database import make_engine
    from thecal.store.migrate import upgrade
    from thecal.store.uow import SqlUnitOfWork

    engine = make_engine(url)
    upgrade(engine)
    with SqlUnitOfWork(engine).transaction("setup", datetime(2026, 1, 1), "users") as repo:
        repo.add_user(User("paul", "Dr Paul (synthetic)", Role.PHYSICIAN))
    engine.dispose()


# The SQLite demo clinic (tests.web.conftest): the case reports and one generated patient.
@pytest.mark.parametrize("mrn", _mrns(("SEED-000", "SEED-001", "SEED-003-1", "SEED-003-2",
                                       "DEMO-0001")))  # fmt: skip
def test_every_demo_patient_round_trips_through_the_cli_on_sqlite(
    template_db: Path, tmp_path: Path, mrn: str
) -> None:
    source, target = f"sqlite:///{template_db}", f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    _fresh_sqlite(target)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    zone = ["--zone", "Europe/Berlin"]
    run = CliRunner().invoke
    r = run(app, ["export", "fhir", mrn, "--out", str(first), *zone, "--database-url", source])
    assert r.exit_code == 0, r.output
    r = run(app, ["import", "fhir", str(first), "--user", "paul", *zone, "--json",
                  "--database-url", target])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["left_out"] == {}
    r = run(app, ["export", "fhir", mrn, "--out", str(second), *zone, "--database-url", target])
    assert r.exit_code == 0, r.output
    assert json.loads(second.read_text()) == json.loads(first.read_text())


@pytest.fixture
def postgres() -> Iterator[Any]:
    from tests.integration.conftest import clean_postgres, postgres_url
    from thecal.store.migrate import upgrade
    from thecal.store.uow import SqlUnitOfWork

    engine = clean_postgres(postgres_url())  # a failure, not a skip, when CI=true
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    with uow.transaction("setup", datetime(2026, 1, 1), "users") as repo:
        repo.add_user(DOCTOR)
    yield uow
    engine.dispose()


def test_every_history_kind_round_trips_on_postgresql(postgres: Any) -> None:
    clinic = HistoryClinic()
    first = export(clinic, clinic.uow, clinic.ids[MRN])
    assert export(clinic, postgres, load(clinic, postgres, first)) == first


# --- property: generated refills and alarms --------------------------------------------

_TEXT = st.from_regex(r"[A-Za-z0-9äß][A-Za-z0-9äß ,.:'()<>&-]{0,24}[A-Za-z0-9]", fullmatch=True)
# What happened is recorded on or before the import's today (NOW); a planned time (a refill-by
# date, a candidate) may be later.
_TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=NOW)
_PLANNED = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31))
# The project's parser refuses a magnitude below 1e-20 other than 0 (units.parse_quantity), so
# no clinic record holds one: generated volumes are 0 or at least 1 nL.
_VOLUMES = st.floats(min_value=0, max_value=500).filter(lambda v: v == 0 or v >= 1e-6)
_SIGNED = st.floats(min_value=-50, max_value=50).filter(lambda v: v == 0 or abs(v) >= 1e-6)
_ML = _VOLUMES.map(lambda v: Q_(v, "mL"))


@st.composite
def _findings(draw: st.DrawFn) -> StoredFinding:
    level = draw(st.sampled_from(list(Level)))
    return StoredFinding(
        level, draw(st.sampled_from(list(Code))).value, draw(_TEXT),
        draw(_TEXT), draw(st.none() | _TEXT), draw(st.none() | _TEXT), draw(st.none() | _TEXT),
        draw(st.sampled_from(["physician", "clinician"])) if level is Level.SOFT else None,
    )  # fmt: skip


@st.composite
def _refill(draw: st.DrawFn, pid: str, pump: str) -> RefillRecord:
    found = draw(st.lists(_findings(), max_size=2))
    return RefillRecord(
        pid, pump, 1, draw(_TIMES), draw(_ML), draw(_ML), Q_(draw(_SIGNED), "mL"), draw(_ML),
        draw(_TEXT), tuple(draw(st.lists(st.tuples(_TEXT, _TEXT), max_size=2))), draw(_TEXT),
        draw(st.none() | _PLANNED), draw(_TEXT), draw(st.none() | _ML),
        draw(st.none() | _PLANNED),
        tuple(RefillCandidateRecord(t, k, r, s) for t, k, r, s in
              draw(st.lists(st.tuples(_PLANNED, _TEXT, _TEXT, _TEXT), max_size=2))),
        # One reason per soft finding's code, as the workflows keep them.
        tuple(found), tuple(sorted({f.code: draw(_TEXT) for f in found
                                    if f.level is Level.SOFT}.items())),
    )  # fmt: skip


@st.composite
def _alarm(draw: st.DrawFn, pid: str, pump: str) -> Alarm:
    raised = draw(_TIMES)
    cleared = draw(st.none() | st.tuples(_TIMES, _TEXT, st.none() | _TEXT))
    acked = draw(st.none() | st.tuples(_TIMES, _TEXT))
    return Alarm(
        pid, draw(st.from_regex(r"[A-Z_]{1,20}", fullmatch=True)),
        draw(st.sampled_from(["critical", "non-critical", "hard", "soft", "info"])), draw(_TEXT),
        raised, draw(st.sampled_from([pump, None])), cleared[0] if cleared else None,
        cleared[1] if cleared else None, acknowledged_at=acked[0] if acked else None,
        acknowledged_by=acked[1] if acked else None, resolution=cleared[2] if cleared else None,
    )  # fmt: skip


@pytest.fixture(scope="module")
def base(clinic: Clinic) -> dict[str, Any]:
    """DEMO-0001 without its history: the patient, the pump and prescription version 1."""
    first = export(clinic, clinic.uow, clinic.ids["DEMO-0001"])
    uow = fresh()
    cats = Catalogs(clinic.library, clinic.catalog, stimulator_context())
    pid = import_bundle(uow, lambda: NOW, DOCTOR, first, cats=cats, source="p.json", zone=UTC,
                        without_history=True).patient.id  # fmt: skip
    return export(clinic, uow, pid)


SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=25, deadline=None, suppress_health_check=SLOW)
@given(data=st.data())
def test_generated_refills_and_alarms_round_trip(clinic: Clinic, base: dict[str, Any],
                                                 data: st.DataObject) -> None:  # fmt: skip
    uow: MemoryUnitOfWork = fresh()
    pid = load(clinic, uow, base)
    with uow.reader() as repo:
        pump = next(d.id for d in repo.devices_for(pid) if d.kind is DeviceKind.PUMP)
    refills = data.draw(st.lists(_refill(pid, pump), min_size=1, max_size=3))
    alarms = data.draw(st.lists(_alarm(pid, pump), min_size=1, max_size=3))
    with uow.transaction("setup", NOW, "generated") as repo:
        for r in refills:
            repo.add_refill(r)
        for a in alarms:
            repo.add_alarm(a)
    first = export(clinic, uow, pid)
    again = fresh()
    assert export(clinic, again, load(clinic, again, first)) == first


def test_a_prescription_reason_comes_back_exactly_as_written(clinic: Clinic) -> None:
    # The program workflow stores the reason as typed (a text area: line breaks, a trailing
    # space); the import once read it as one stripped line and refused the line break.
    first = export(clinic, clinic.uow, clinic.ids["SEED-003-2"])
    request = next(e["resource"] for e in first["entry"]
                   if e["resource"]["resourceType"] == "MedicationRequest")  # fmt: skip
    request["note"] = [{"text": "Dose up after review.\nSecond line, then a space "}]
    uow = fresh()
    again = export(clinic, uow, load(clinic, uow, first))
    assert again == first
    with uow.reader() as repo:
        reasons = [p.reason for p in repo.prescriptions_for(again["entry"][0]["resource"]["id"])]
    assert "Dose up after review.\nSecond line, then a space " in reasons


def test_a_prescription_reason_with_a_control_character_is_refused(clinic: Clinic) -> None:
    first = export(clinic, clinic.uow, clinic.ids["SEED-003-2"])
    request = next(e["resource"] for e in first["entry"]
                   if e["resource"]["resourceType"] == "MedicationRequest")  # fmt: skip
    request["note"] = [{"text": "bell \x07 in the reason"}]
    uow = fresh()
    with pytest.raises(InputError) as err:
        load(clinic, uow, first)
    assert err.value.field == f"MedicationRequest/{request['id']}.note.text"
    with uow.reader() as repo:
        assert repo.list_patients() == []  # nothing written
