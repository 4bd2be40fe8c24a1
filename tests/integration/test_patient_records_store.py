"""The bulk read of patient records (``patient_records``) on SQLite and PostgreSQL: for every
demo patient it equals ``read_patient`` (and the memory store's), in the order asked, across
chunk edges; an unknown id is a NotFoundError naming it."""

import dataclasses

import pytest

from tests.demo_records import fill_demo
from thecal.clinic.errors import NotFoundError
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import new_id
from thecal.clinic.patient_record import read_patient
from thecal.store import patient_record_records
from thecal.store.uow import SqlUnitOfWork


def test_every_demo_record_equals_read_patient(uow: SqlUnitOfWork) -> None:
    ids = list(fill_demo(uow).values())
    with uow.reader() as repo:
        one_by_one = [read_patient(repo, i) for i in ids]
        bulk = repo.patient_records(ids)
    assert bulk == one_by_one
    # Every kind of record is there to compare (not vacuously equal).
    for f in dataclasses.fields(one_by_one[0]):
        if f.name not in ("patient", "details"):
            assert any(getattr(r, f.name) for r in one_by_one), f.name
    assert any(r.details for r in one_by_one)


def test_the_sql_and_memory_stores_read_the_same_records() -> None:
    # Ids are random per load: compare each record's MRN-ordered kinds and counts.
    memory = MemoryUnitOfWork()
    ids = fill_demo(memory)
    with memory.reader() as repo:
        records = repo.patient_records(list(ids.values()))
    assert [r.patient.mrn for r in records] == list(ids)
    assert records == [read_patient(repo, i) for i in ids.values()]


@pytest.mark.parametrize("n", [0, 1, 3, 4, 6])
def test_chunk_edges_keep_the_order_asked(
    uow: SqlUnitOfWork, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    # A chunk of 3 keys: 0 ids, 1, exactly one chunk, one chunk + 1, two chunks.
    monkeypatch.setattr(patient_record_records, "CHUNK", 3)
    ids = list(reversed(fill_demo(uow).values()))[:n]
    with uow.reader() as repo:
        assert repo.patient_records(ids) == [read_patient(repo, i) for i in ids]


def test_a_repeated_id_is_read_again_in_its_place(uow: SqlUnitOfWork) -> None:
    a, b = list(fill_demo(uow).values())[:2]
    with uow.reader() as repo:
        assert repo.patient_records([a, b, a]) == [read_patient(repo, i) for i in (a, b, a)]


def test_an_unknown_id_is_not_found_naming_it(uow: SqlUnitOfWork) -> None:
    a = next(iter(fill_demo(uow).values()))
    with uow.reader() as repo, pytest.raises(NotFoundError, match="nobody"):
        repo.patient_records([a, "nobody"])


def test_memory_unknown_id_is_not_found_too() -> None:
    with MemoryUnitOfWork().reader() as repo, pytest.raises(NotFoundError, match="nobody"):
        repo.patient_records(["nobody"])


def test_same_instant_refills_and_program_changes_come_as_read_patient_gives_them(
    uow: SqlUnitOfWork,
) -> None:
    # Refills and program changes keep no tie-breaker (a workflow takes the last one read as
    # the latest): records at the same instant come in the database's order, in both reads.
    ids = list(fill_demo(uow).values())
    with uow.reader() as repo:
        pid = next(i for i in ids if repo.refills_for(i) and repo.program_changes_for(i))
        refill, change = repo.refills_for(pid)[-1], repo.program_changes_for(pid)[-1]
    with uow.transaction("nurse", refill.performed_at, "same-instant copies") as repo:
        for _ in range(3):
            repo.add_refill(dataclasses.replace(refill, id=new_id()))
            repo.add_program_change(dataclasses.replace(change, id=new_id()))
    with uow.reader() as repo:
        (bulk,) = repo.patient_records([pid])
        assert bulk == read_patient(repo, pid)
    assert [r.performed_at for r in bulk.refills].count(refill.performed_at) == 4
