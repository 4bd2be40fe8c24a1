"""Integration tests run on an SQLite file and on PostgreSQL. The PostgreSQL URL comes from
``THECAL_TEST_POSTGRES_URL`` (``.ci/run`` starts a server and sets it). Unset: skipped on a
developer's machine, but a failure when ``CI=true`` — CI must not pass by skipping."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork

POSTGRES_ENV = "THECAL_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The test PostgreSQL URL; skip without one, fail without one under ``CI=true``."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"{POSTGRES_ENV} is not set but CI=true: PostgreSQL tests must run")
        pytest.skip(f"{POSTGRES_ENV} is not set")
    return url


def clean_postgres(url: str) -> Engine:
    """An engine on ``url`` with an empty ``public`` schema."""
    eng = make_engine(url)
    with eng.begin() as conn:  # a clean database for each test
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return eng


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    else:
        eng = clean_postgres(postgres_url())
    yield eng
    eng.dispose()


@pytest.fixture
def uow(engine: Engine) -> SqlUnitOfWork:
    upgrade(engine)
    return SqlUnitOfWork(engine)
