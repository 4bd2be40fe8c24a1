"""The CLI, the web app and the JSON API get their clinic services from one composition root
(:func:`thecal.adapters.composition.build_services`): replace it, and each uses the
replacement."""

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from thecal.adapters import composition
from thecal.api.security import hash_password
from thecal.cli.main import app
from thecal.clinic.calendar import CalendarPage
from thecal.clinic.model import Role, User
from thecal.clinic.services import ClinicServices


class Recording(ClinicServices[Any]):
    """The real services, noting each calendar read (CLI, page and API all read it)."""

    calls: list[str] = []  # noqa: RUF012  # shared on purpose: the test reads it

    def calendar(self, **kwargs: Any) -> CalendarPage:
        Recording.calls.append("calendar")
        return super().calendar(**kwargs)


def test_cli_web_and_api_use_the_one_composition_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = composition.build_services
    built: list[Recording] = []

    def spy(*args: Any, **kwargs: Any) -> Recording:
        services = real(*args, **kwargs)
        recording = Recording(**{f.name: getattr(services, f.name) for f in fields(services)})
        built.append(recording)
        return recording

    monkeypatch.setattr(composition, "build_services", spy)
    Recording.calls = []
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    runner = CliRunner()

    # The CLI: `thecal clinic calendar` reads through the root's services.
    result = runner.invoke(app, ["clinic", "calendar", "--json", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert len(built) == 1 and Recording.calls == ["calendar"]

    # `thecal serve`: the web app and the API it runs are built on the root's services.
    served: list[FastAPI] = []
    monkeypatch.setattr("uvicorn.run", lambda web, **_: served.append(web))
    monkeypatch.setenv("THECAL_SECRET_KEY", "test")
    result = runner.invoke(app, ["serve", "--no-demo", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert len(built) == 2 and len(served) == 1
    assert served[0].state.ctx.services is built[1]

    # A page and an API route of that app both read through those services.
    with built[1].uow.transaction("setup", built[1].clock(), "test user") as repo:
        repo.add_user(User("nurse", "Nurse", Role.NURSE))
        repo.set_password_hash("nurse", hash_password("pw-nurse"))  # type: ignore[attr-defined]
    client = TestClient(served[0])
    assert client.post(
        "/api/v1/login", json={"username": "nurse", "password": "pw-nurse"}
    ).is_success
    Recording.calls = []
    assert client.get("/api/v1/calendar").status_code == 200
    assert client.get("/calendar").status_code == 200
    assert Recording.calls == ["calendar", "calendar"]
    built[1].uow.engine.dispose()
