"""A clinic app on an SQLite temp file with a small synthetic demo clinic (built once per
session, copied per test) and a movable clock."""

import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from thecal.adapters.composition import build_services
from thecal.adapters.data_files import load_catalog, load_library
from thecal.api.context import AppContext
from thecal.cli.web import load_demo_clinic
from thecal.store.database import make_engine
from thecal.units import Q_
from thecal.web.app import create_app

TODAY = date(2026, 11, 23)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "clinic.sqlite3"
    load_demo_clinic(f"sqlite:///{path}", TODAY, generated=1)
    return path


@pytest.fixture
def ctx(template_db: Path, tmp_path: Path) -> Iterator[AppContext]:
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(template_db, path)
    engine = make_engine(f"sqlite:///{path}")
    services = build_services(engine=engine, clock=Clock(datetime(2026, 11, 23, 10, 0)),
                              library=load_library(), catalog=load_catalog())  # fmt: skip
    yield AppContext(services, b"test-secret")
    engine.dispose()


@pytest.fixture
def client(ctx: AppContext) -> TestClient:
    return TestClient(create_app(ctx))


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token in the form at ``path``."""
    import re

    html = client.get(path).text
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html
    return m.group(1)


def login(client: TestClient, username: str, password: str | None = None) -> None:
    token = csrf_of(client)
    r = client.post("/login", data={"username": username, "password": password
                                    or f"demo-{username}", "csrf": token},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text


def refill_dry_demo_pump(ctx: AppContext, mrn: str = "DEMO-0001") -> None:
    """The demo stopped refilling DEMO-0001, so on the test clock its pump has run dry, and any
    program change for it is a restart (RESTART-TOLERANCE, a physician's decision). Tests of
    ordinary program changes first have the physician refill it (every soft finding reasoned)."""
    from thecal.clinic.workflows import RefillInput, preview_refill, record_refill

    with ctx.uow.reader() as repo:
        pid = next(p.id for p in repo.list_patients() if p.mrn == mrn)
        physician = repo.user_by_name("physician")
        preview = preview_refill(repo, ctx.library, ctx.catalog, patient_id=pid,
                                 entry=RefillInput(Q_(0.0, "mL"), Q_(20.0, "mL"), "LOT-TEST"),
                                 at=ctx.clock(), by="physician")  # fmt: skip
    assert physician is not None
    reasons = {f.code.value: "restart decided in clinic (test)" for f in preview.needs_reason}
    entry = RefillInput(Q_(0.0, "mL"), Q_(20.0, "mL"), "LOT-TEST", overrides=reasons)
    record_refill(
        ctx.uow, ctx.clock, ctx.library, ctx.catalog, actor=physician, patient_id=pid, entry=entry
    )


def version_of(html: str) -> dict[str, str]:
    """The hidden patient ``version`` of the confirmation form in ``html`` (a preview page)."""
    import re

    m = re.search(r'name="version" value="([^"]+)"', html)
    assert m, html
    return {"version": m.group(1)}
