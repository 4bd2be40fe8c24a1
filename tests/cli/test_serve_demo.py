"""``thecal serve --demo``: a demo database per checkout, said where it is and how to reset it,
seeded once; ``--workers N`` hands uvicorn the app factory with the database and secret."""

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from thecal.cli import web
from thecal.cli.main import app
from thecal.store.database import DATABASE_URL_ENV, make_engine
from thecal.store.uow import SqlUnitOfWork


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout (``.git`` at its root) with the shell in a sub-folder; no database URL in
    the environment; uvicorn not started; a one-generated-patient demo (fast)."""
    root = tmp_path / "thecal-checkout"
    (root / ".git").mkdir(parents=True)
    (root / "docs").mkdir()
    monkeypatch.chdir(root / "docs")
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv(web.SECRET_ENV, "test-secret")
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: None)
    real = web.load_demo_clinic

    def small(url: str, today: date, generated: int = 20, report: Any = None) -> Any:
        return real(url, today, 1, report)

    monkeypatch.setattr(web, "load_demo_clinic", small)
    return root


def _patients(path: Path) -> int:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with SqlUnitOfWork(engine).reader() as repo:
            return len(repo.list_patients())
    finally:
        engine.dispose()


def test_demo_database_lives_in_the_checkout_and_says_so(checkout: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    path = checkout / ".thecal" / "demo.sqlite3"
    assert path.exists()
    assert f"database: sqlite:///{path}" in result.output
    assert "thecal serve --demo --reset-demo" in result.output
    for password in ("demo-physician", "demo-nurse", "demo-viewer"):
        assert password in result.output
    assert "http://127.0.0.1:8123" in result.output
    assert _patients(path) == 4 + 1  # the seed cases and one generated patient
    assert "demo seeded: 5 synthetic patients" in result.output

    # Started again: the same database, not seeded twice.
    again = runner.invoke(app, ["serve", "--demo", "--port", "8123"])
    assert again.exit_code == 0, again.output
    assert f"database: sqlite:///{path}" in again.output
    assert "not seeded again" in again.output
    assert _patients(path) == 5

    # --reset-demo: deleted and seeded afresh (a patient added by hand is gone).
    from thecal.clinic.model import Patient

    engine = make_engine(f"sqlite:///{path}")
    with SqlUnitOfWork(engine).transaction("t", datetime(2026, 1, 1), "test") as repo:
        repo.add_patient(Patient("EXTRA-1", "Extra"))
    engine.dispose()
    assert _patients(path) == 6
    reset = runner.invoke(app, ["serve", "--demo", "--reset-demo", "--port", "8123"])
    assert reset.exit_code == 0, reset.output
    assert _patients(path) == 5


def test_two_checkouts_two_databases(tmp_path: Path) -> None:
    (tmp_path / "a" / ".git").mkdir(parents=True)
    (tmp_path / "b" / ".git").mkdir(parents=True)
    a = web.demo_database_path(tmp_path / "a")
    assert a == (tmp_path / "a" / ".thecal" / "demo.sqlite3").resolve()
    assert a != web.demo_database_path(tmp_path / "b")
    # Outside any checkout: the working directory itself.
    (tmp_path / "plain").mkdir()
    assert web.checkout_root(tmp_path / "plain") == (tmp_path / "plain").resolve()


def test_an_explicit_database_wins_and_reset_refuses_it(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    runner = CliRunner()
    refused = runner.invoke(app, ["serve", "--demo", "--reset-demo", "--database-url", url])
    assert refused.exit_code == 2
    assert "--reset-demo" in refused.output and (tmp_path / "clinic.sqlite3").exists() is False
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    result = runner.invoke(app, ["serve", "--demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert f"database: {url}" in result.output
    assert not (checkout / ".thecal").exists()


def test_a_password_is_not_printed(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert web.shown_url("postgresql+psycopg://u:secret@127.0.0.1:5432/db") == (
        "postgresql+psycopg://u:***@127.0.0.1:5432/db"
    )


def test_workers_get_the_app_factory(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append((a, k)))
    # Set through monkeypatch first, so what the command puts there is undone afterwards.
    monkeypatch.setenv(DATABASE_URL_ENV, "sqlite:///placeholder")
    monkeypatch.delenv(DATABASE_URL_ENV)
    result = CliRunner().invoke(app, ["serve", "--demo", "--workers", "2", "--port", "8123"])
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = calls
    assert args == ("thecal.cli.web:app_from_environment",)
    assert kwargs["factory"] is True and kwargs["workers"] == 2 and kwargs["port"] == 8123
    path = checkout / ".thecal" / "demo.sqlite3"
    assert os.environ[DATABASE_URL_ENV] == f"sqlite:///{path}"
    # What each worker builds: the demo clinic, logins work.
    client = TestClient(web.app_from_environment())
    r = client.post("/api/v1/login", json={"username": "nurse", "password": "demo-nurse"})
    assert r.is_success, r.text
