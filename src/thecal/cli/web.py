"""``thecal serve``: the clinic web app and JSON API on 127.0.0.1.

Creates or upgrades the database, loads the synthetic demo clinic into an empty one with
``--demo`` (with progress, then says where the database is, how to reset it and the demo
logins), and runs uvicorn with one or ``--workers N`` processes. The session secret is
``$THECAL_SECRET_KEY``, else a random key kept (0600) beside the default database.

With ``--demo`` and no ``--database-url`` / ``$THECAL_DATABASE_URL`` the database is the
checkout's own ``.thecal/demo.sqlite3`` (the nearest folder up from the working directory
holding ``.git``, else the working directory), so two checkouts never share demo data.
"""

import os
import secrets
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from thecal.cli.errors import handles_errors
from thecal.store.database import DATABASE_URL_ENV, database_url, default_database_path
from thecal.units import InputError

if TYPE_CHECKING:
    from fastapi import FastAPI

SECRET_ENV = "THECAL_SECRET_KEY"
DEMO_DIR = ".thecal"
DEMO_FILE = "demo.sqlite3"

Report = Callable[[str, int, int], None]
"""Progress of the demo seeding: (stage, done, total); stages "patients" then "writes"."""


def install_secret() -> bytes:
    """The session-signing secret: from the environment, else generated once per install."""
    env = os.environ.get(SECRET_ENV)
    if env:
        return env.encode()
    path = default_database_path().parent / "session.key"
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def checkout_root(cwd: Path) -> Path:
    """The nearest folder at or above ``cwd`` holding ``.git`` (a checkout or a worktree),
    else ``cwd`` itself."""
    cwd = cwd.resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


def demo_database_path(cwd: Path) -> Path:
    """The checkout's own demo database: ``<checkout>/.thecal/demo.sqlite3`` (gitignored)."""
    return checkout_root(cwd) / DEMO_DIR / DEMO_FILE


def serve_database_url(explicit: str | None, demo: bool, cwd: Path) -> str:
    """``--database-url``, else ``$THECAL_DATABASE_URL``, else with ``demo`` the checkout's
    demo database, else the user's clinic database (:func:`database_url`)."""
    if explicit or os.environ.get(DATABASE_URL_ENV) or not demo:
        return database_url(explicit)
    return database_url(f"sqlite:///{demo_database_path(cwd)}")


def reset_demo_database(path: Path) -> None:
    """Delete the demo SQLite file and its WAL side files (the next start seeds it again)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def shown_url(url: str) -> str:
    """``url`` without its password (safe to print)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def load_demo_clinic(
    url: str, today: date, generated: int = 20, report: Report | None = None
) -> list[tuple[str, str, str]]:
    """Load the demo clinic into the (upgraded) database at ``url`` when it has no patients;
    returns (username, role, password) of the demo users.

    The clinic's workflows run once in memory (every finding and reason as in real use), then
    their writes go to the database in ONE transaction, each write with its own audit row
    (the actor, time and reason of the workflow that made it): all or nothing, and fast."""
    from thecal.adapters import composition
    from thecal.adapters.data_files import example_plan
    from thecal.adapters.plan_files import parse_plan
    from thecal.api.security import hash_password
    from thecal.clinic.demo import DEMO_LOGINS, DEMO_REASON, SEED_PATIENTS, load_demo
    from thecal.clinic.demo_record import RecordingUnitOfWork, replay
    from thecal.store.repository import SqlRepository
    from thecal.therapy.plan_file import PlanFile

    tell: Report = report or (lambda _stage, _done, _total: None)
    with composition.open_services(url) as services:
        uow = services.uow
        with uow.reader() as repo:
            empty = not repo.list_patients()
        if empty:

            def example(name: str) -> PlanFile:
                return parse_plan(example_plan(f"{name}.toml"))

            total = SEED_PATIENTS + generated
            loaded: list[str] = []

            def one_patient(mrn: str) -> None:
                loaded.append(mrn)
                tell("patients", len(loaded), total)

            memory = RecordingUnitOfWork()
            # argon2 runs outside the GIL: the demo passwords hash while the workflows run.
            with ThreadPoolExecutor(max_workers=1) as pool:
                hashing = [pool.submit(hash_password, x.password) for x in DEMO_LOGINS]
                load_demo(memory, services.library, services.catalog, example, today,
                          generated, stimulation=services.stimulation,
                          progress=one_patient)  # fmt: skip
                done = zip(DEMO_LOGINS, hashing, strict=True)
                hashes = [(x.user.username, h.result()) for x, h in done]
            written = [0]

            def some_writes(n: int) -> None:
                written[0] += n
                tell("writes", written[0], memory.writes)

            with uow.session() as session, session.begin():
                replay(memory.log, lambda who: SqlRepository(session, who), some_writes)
                repo = SqlRepository(session, ("setup", datetime.now(), DEMO_REASON))
                for username, hashed in hashes:
                    repo.set_password_hash(username, hashed)
                session.commit()
    return [(x.user.username, x.user.role.value, x.password) for x in DEMO_LOGINS]


def _seed_with_progress(url: str, today: date) -> list[tuple[str, str, str]]:
    """:func:`load_demo_clinic` with a Rich progress display (on stderr), then how long the
    seeding took (nothing when the database had patients already)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from thecal.cli.output import err_console

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err_console()) as progress:
        tasks: dict[str, TaskID] = {}
        labels = {"patients": "demo patients (workflows, in memory)",
                  "writes": "writing to the database (one transaction)"}  # fmt: skip

        counts: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(labels.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)
            counts[stage] = done

        started = time.perf_counter()
        logins = load_demo_clinic(url, today, report=report)
    if counts:
        typer.echo(
            f"demo seeded: {counts.get('patients', 0)} synthetic patients, "
            f"{counts.get('writes', 0)} audited writes in {time.perf_counter() - started:.1f} s"
        )
    else:
        typer.echo("demo data already there (not seeded again)")
    return logins


def free_port(host: str) -> int:
    """A port free on ``host`` now (for ``--port 0``: the address is printed before start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def app_from_environment() -> "FastAPI":
    """The app factory each ``--workers`` process calls: the database from
    ``$THECAL_DATABASE_URL`` (migrated by the parent already), the secret from
    ``$THECAL_SECRET_KEY`` (set by the parent, so every worker signs sessions alike)."""
    from thecal.adapters import composition
    from thecal.api.context import AppContext
    from thecal.web.app import create_app

    services = composition.build_services(database_url(None), clock=datetime.now, migrate=False)
    return create_app(AppContext(services, install_secret()))


@handles_errors
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", help="TCP port (0 = any free port)"),
    database: str | None = typer.Option(None, "--database-url", metavar="URL",
                                        help="SQLAlchemy URL; default $THECAL_DATABASE_URL, "
                                        "else with --demo the checkout's .thecal/demo.sqlite3, "
                                        "else an SQLite file in the user data directory"),
    demo: bool = typer.Option(False, "--demo/--no-demo", help="load the synthetic demo clinic "
                              "into an empty database"),
    reset_demo: bool = typer.Option(False, "--reset-demo", help="with --demo: delete the "
                                    "checkout's demo database first and seed it again"),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="uvicorn worker processes (sessions are in the database)"),
) -> None:  # fmt: skip
    """Run the clinic web app (and /api/v1) — not a certified medical device."""
    import uvicorn

    from thecal.adapters import composition
    from thecal.api.context import AppContext
    from thecal.web.app import create_app

    url = serve_database_url(database, demo, Path.cwd())
    own_demo = database_url(f"sqlite:///{demo_database_path(Path.cwd())}")
    if reset_demo:
        if not demo or url != own_demo:
            raise InputError(
                "--reset-demo",
                "resets only the checkout's demo database (with --demo, without "
                f"--database-url or ${DATABASE_URL_ENV}); this database is {shown_url(url)}",
                "thecal serve --demo --reset-demo",
            )
        reset_demo_database(demo_database_path(Path.cwd()))
    if port == 0:
        port = free_port(host)
    secret = install_secret()
    if demo:
        logins = _seed_with_progress(url, datetime.now().date())
        typer.echo(f"database: {shown_url(url)}")
        if url == own_demo:
            typer.echo(
                "  (this checkout's demo database; start afresh with "
                "`thecal serve --demo --reset-demo` or delete that file)"
            )
        typer.echo("demo logins (synthetic clinic):")
        for username, role, password in logins:
            typer.echo(f"  {role:9} user {username!r} password {password!r}")
    else:
        typer.echo(f"database: {shown_url(url)}")
    typer.echo(f"Thecal clinic on http://{host}:{port} (Ctrl-C stops it)", err=False)
    if workers > 1:
        # Each worker process builds its app from the environment: the same database and the
        # same session secret; logouts are stored in the database, so any worker refuses them.
        composition.build_services(url).uow.engine.dispose()  # create or upgrade it once
        os.environ[DATABASE_URL_ENV] = url
        os.environ[SECRET_ENV] = secret.decode()
        uvicorn.run("thecal.cli.web:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level="warning")  # fmt: skip
        return
    # The composition root: the one place the clinic services are built.
    ctx = AppContext(composition.build_services(url, clock=datetime.now), secret)
    uvicorn.run(create_app(ctx), host=host, port=port, log_level="warning")
