"""Migration 0011: the audit log's patient column (filled from the hashed data, checked by
verify) and the indexes the audit viewer's filters use. SQLite file and PostgreSQL."""

from sqlalchemy import Engine, text

from tests.unit.clinic.test_audit_view import scenario
from thecal.clinic.audit_view import AuditQuery
from thecal.devices.catalog import DeviceCatalog
from thecal.store.audit import patient_of
from thecal.store.migrate import downgrade, upgrade
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary


def _patients(engine: Engine) -> list[tuple[int, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, patient_id FROM audit_log ORDER BY seq"))
        return [(int(r[0]), r[1]) for r in rows]


def test_patient_of() -> None:
    assert patient_of("patient", "p1", {"id": "p1"}) == "p1"
    assert patient_of("device", "d1", {"patient_id": "p2", "id": "d1"}) == "p2"
    assert patient_of("user", "u1", {"username": "u1"}) is None
    assert patient_of("device", "d1", {"patient_id": None}) is None
    assert patient_of("device", "d1", {"value": ["patient_id"]}) is None


def test_backfill_matches_what_append_writes(
    engine: Engine, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    a, b = scenario(uow, library, catalog)
    written = _patients(engine)
    assert {p for _, p in written} >= {a, b, None}  # users are nobody's
    downgrade(engine, "0010")
    upgrade(engine)  # 0011 fills the column from each row's data
    assert _patients(engine) == written
    assert uow.verify_audit().ok
    with uow.reader() as repo:
        mine = repo.audit_entries(AuditQuery(patient_id=b), 100, 0)
    assert [e.seq for e in mine] == [s for s, p in reversed(written) if p == b]


def test_verify_notices_a_changed_patient(uow: SqlUnitOfWork, library, catalog) -> None:
    a, b = scenario(uow, library, catalog)
    with uow.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET patient_id = :b WHERE patient_id = :a"),
                     {"a": a, "b": b})  # fmt: skip
    report = uow.verify_audit()
    assert not report.ok
    assert any("its patient does not match its content" in p for p in report.problems)


def _plan(engine: Engine, where: str) -> str:
    sql = f"SELECT seq FROM audit_log WHERE {where} ORDER BY seq DESC LIMIT 50"
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
            return " ".join(str(r[-1]) for r in rows)
        conn.execute(text("SET enable_seqscan = off"))  # a tiny table: ask whether it could
        return " ".join(str(r[0]) for r in conn.execute(text("EXPLAIN " + sql)))


def test_each_filter_has_an_index(engine: Engine) -> None:
    upgrade(engine)
    for where, index in [
        ("actor = 'nina'", "ix_audit_log_actor_seq"),
        ("entity = 'device' AND entity_id = 'd1'", "ix_audit_log_entity_seq"),
        ("patient_id = 'p1'", "ix_audit_log_patient_seq"),
        ("at >= '2024-01-01' AND at < '2024-01-02'", "ix_audit_log_at"),
        ("action = 'update'", "ix_audit_log_action_seq"),
    ]:
        assert index in _plan(engine, where), where
