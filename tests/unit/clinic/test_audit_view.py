"""The audit viewer's core: who may read, the filters checked (naming the field), the day
window's edges (from == to is that whole day), the patient by MRN or id, newest first and
paged, and the one-line summary of what changed. On the memory store here; the same scenario
runs on SQLite and PostgreSQL in tests/integration/test_audit_view_store.py."""

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest

from tests.unit.clinic.conftest import DOCTOR, NURSE, VIEWER, FakeClock, setup_patient
from thecal.clinic.audit_view import (
    PAGE_SIZE,
    AuditFilters,
    AuditQuery,
    AuditRecord,
    parse_page,
    read_audit,
    summary,
)
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Patient
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary
from thecal.units import InputError

LATE = datetime(2024, 1, 3, 23, 59, 59)  # the last second of 3 January
MIDNIGHT = datetime(2024, 1, 4, 0, 0)  # the first instant of 4 January


def scenario(uow: Any, library: DrugLibrary, catalog: DeviceCatalog) -> tuple[str, str]:
    """Users; patient A (P-001, pump, prescription) by paul on 2 January 09:00; patient B
    (P-002) added by nina at 23:59:59 on 3 January and renamed by paul at midnight after.
    Returns (A's id, B's id)."""
    clock = FakeClock(datetime(2024, 1, 2, 8, 0))
    with uow.transaction("admin", clock(), "users") as repo:
        repo.add_user(DOCTOR)
        repo.add_user(NURSE)
        repo.add_user(VIEWER)
    clock.now = datetime(2024, 1, 2, 9, 0)
    a, _ = setup_patient(uow, clock, library, catalog)
    b = Patient("P-002", "Synthetic B", 1970, opioid_naive=False)
    with uow.transaction("nina", LATE, "referred") as repo:
        repo.add_patient(b)
    with uow.transaction("paul", MIDNIGHT, "name corrected") as repo:
        repo.update_patient(replace(repo.get_patient(b.id), display_name="Synthetic Bee"))
    return a.id, b.id


def _read(uow: Any, page: int = 1, **filters: str) -> Any:
    return read_audit(uow, actor=NURSE, filters=AuditFilters(**filters), page=page)


def check_scenario(uow: Any, library: DrugLibrary, catalog: DeviceCatalog) -> None:
    """The filters on any store (memory, SQLite, PostgreSQL)."""
    a, b = scenario(uow, library, catalog)
    everything = _read(uow).lines
    seqs = [line.record.seq for line in everything]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) > 5  # newest first
    newest = everything[0]
    assert (newest.record.actor, newest.role, newest.record.action) == ("paul", "physician",
                                                                       "update")  # fmt: skip
    assert newest.record.reason == "name corrected"
    assert {line.role for line in everything if line.record.actor == "admin"} == {"—"}

    by_nina = _read(uow, who="nina").lines
    assert [(x.record.entity, x.record.entity_id, x.role) for x in by_nina] == [
        ("patient", b, "nurse")
    ]

    # from == to: the whole day, 00:00 included, the next midnight not: only nina's 23:59:59.
    day = _read(uow, since="2024-01-03", until="2024-01-03").lines
    assert [x.record.at for x in day] == [LATE]
    # from = 4 January: only the midnight entry; to = 3 January: up to 23:59:59, not midnight.
    assert [x.record.at for x in _read(uow, since="2024-01-04").lines] == [MIDNIGHT]
    assert _read(uow, until="2024-01-03").lines[0].record.at == LATE

    updates = _read(uow, what="update").lines
    assert updates and all(x.record.action == "update" for x in updates)
    users = _read(uow, what="user").lines
    assert [x.record.entity for x in users] == ["user"] * 3

    # A patient by MRN or by id: its own entries and those of records naming it, only.
    by_mrn = _read(uow, patient="P-001").lines
    by_id = _read(uow, patient=a).lines
    assert [x.record.seq for x in by_mrn] == [x.record.seq for x in by_id]
    kinds = {x.record.entity for x in by_mrn}
    assert {"patient", "device", "procedure"} <= kinds and "user" not in kinds
    assert b not in {x.record.entity_id for x in by_mrn}
    assert [x.record.action for x in _read(uow, patient="P-002").lines] == ["update", "insert"]

    # Filters combine (and).
    assert _read(uow, who="paul", patient="P-002", what="insert").lines == ()


@pytest.fixture
def memory() -> MemoryUnitOfWork:
    return MemoryUnitOfWork()


def test_filters_on_the_memory_store(
    memory: MemoryUnitOfWork, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    check_scenario(memory, library, catalog)


def test_pages_of_fifty_newest_first(memory: MemoryUnitOfWork) -> None:
    at = datetime(2024, 1, 2, 9, 0)
    with memory.transaction("paul", at, "bulk") as repo:
        repo.add_user(DOCTOR)
        for i in range(PAGE_SIZE + 10):
            repo.add_patient(Patient(f"M-{i:03}", f"Synthetic {i}", 1960, opioid_naive=False))
    # 61 entries (1 user + 60 patients): page 1 = seqs 61..12, page 2 = 11..1, page 3 empty.
    first, second, third = (_read(memory, page=p) for p in (1, 2, 3))
    assert [x.record.seq for x in first.lines] == list(range(61, 11, -1)) and first.more
    assert [x.record.seq for x in second.lines] == list(range(11, 0, -1)) and not second.more
    assert third.lines == () and not third.more


def test_a_viewer_may_not_read_the_log(memory: MemoryUnitOfWork) -> None:
    with pytest.raises(PermissionDenied, match="read the audit log"):
        read_audit(memory, actor=VIEWER, filters=AuditFilters(), page=1)
    for reader in (NURSE, DOCTOR):
        assert read_audit(memory, actor=reader, filters=AuditFilters(), page=1).lines == ()


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (AuditFilters(since="2024-13-01"), "from"),
        (AuditFilters(since="yesterday"), "from"),
        (AuditFilters(since="2024-1-3"), "from"),  # not YYYY-MM-DD
        (AuditFilters(until="2024-02-30"), "to"),
        (AuditFilters(since="2024-01-04", until="2024-01-03"), "to"),  # to before from
        (AuditFilters(who="x" * 81), "who"),
        (AuditFilters(what="insert\x00"), "what"),
        (AuditFilters(patient="NO-SUCH-MRN"), "patient"),
        (AuditFilters(patient="p" * 65), "patient"),
    ],
)
def test_a_bad_filter_names_its_field(
    memory: MemoryUnitOfWork, filters: AuditFilters, field: str
) -> None:
    with pytest.raises(InputError) as err:
        read_audit(memory, actor=NURSE, filters=filters, page=1)
    assert err.value.field == field


def test_from_equal_to_to_is_accepted_and_blank_filters_are_none() -> None:
    q = AuditQuery(since=date(2024, 1, 3), until=date(2024, 1, 3))
    # [3 Jan 00:00, 4 Jan 00:00): one whole day.
    assert q.window() == (datetime(2024, 1, 3), datetime(2024, 1, 4))
    assert AuditQuery().window() == (None, None)


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "x", "1000001", "9" * 8, "١"])
def test_a_bad_page_number_names_page(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_page(text)
    assert err.value.field == "page"


def test_page_numbers() -> None:
    assert (parse_page(None), parse_page(""), parse_page(" 3 "), parse_page("1000000")) == (
        1, 1, 3, 1_000_000,
    )  # fmt: skip


def _rec(action: str, data: Any, before: Any = None) -> AuditRecord:
    return AuditRecord(1, datetime(2024, 1, 2), "paul", action, "patient", "p1", "why",
                       data, before)  # fmt: skip


def test_summary_of_an_update_names_the_changed_fields() -> None:
    before = {"id": "p1", "display_name": "A", "version": 1, "mrn": "P-1"}
    after = {"id": "p1", "display_name": "B", "version": 2, "mrn": "P-1"}
    assert summary(_rec("update", after, before)) == "display_name: A → B; version: 1 → 2"
    assert summary(_rec("update", after, after)) == "no field changed"
    many_before = {f"f{i}": i for i in range(5)}
    many_after = {f"f{i}": i + 1 for i in range(5)}
    # 5 changed, 3 named, "and 2 more".
    assert summary(_rec("update", many_after, many_before)) == (
        "f0: 0 → 1; f1: 1 → 2; f2: 2 → 3; and 2 more"
    )
    long = summary(_rec("update", {"note": "y" * 100}, {"note": None}))
    assert long == "note: — → " + "y" * 29 + "…"  # a value cut to 30 characters


def test_summary_of_an_insert_lists_the_fields_recorded() -> None:
    data = {"id": "p1", "mrn": "P-1", "display_name": "A", "notes": "", "birth_year": 1960,
            "version": 1}  # fmt: skip
    # id and empty fields left out; sorted: birth_year, display_name, mrn, version → 3 + 1 more.
    assert summary(_rec("insert", data)) == "insert: birth_year, display_name, mrn and 1 more"
    assert summary(_rec("insert", {"id": "p1"})) == "insert"
    assert summary(_rec("insert", None)) == ""  # the memory store keeps no copy
