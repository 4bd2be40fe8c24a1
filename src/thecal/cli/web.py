"""``thecal serve``: the clinic web app and JSON API on 127.0.0.1.

Creates or upgrades the database, loads the synthetic demo clinic into an empty one with
``--demo``, prints the demo logins, and runs uvicorn. The session secret is
``$THECAL_SECRET_KEY``, else a random key kept (0600) beside the default database.
"""

import os
import secrets
from datetime import date, datetime

import typer

from thecal.cli.errors import handles_errors
from thecal.store.database import database_url, default_database_path

SECRET_ENV = "THECAL_SECRET_KEY"


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


def load_demo_clinic(url: str, today: date, generated: int = 20) -> list[tuple[str, str, str]]:
    """Load the demo clinic into the (upgraded) database at ``url`` when it has no patients;
    returns (username, role, password) of the demo users (empty when data was there)."""
    from thecal.adapters import composition
    from thecal.adapters.data_files import example_plan
    from thecal.adapters.plan_files import parse_plan
    from thecal.api.security import hash_password
    from thecal.clinic.demo import DEMO_LOGINS, DEMO_REASON, load_demo
    from thecal.store.repository import SqlRepository
    from thecal.therapy.plan_file import PlanFile

    with composition.open_services(url) as services:
        uow = services.uow
        with uow.reader() as repo:
            empty = not repo.list_patients()
        if empty:

            def example(name: str) -> PlanFile:
                return parse_plan(example_plan(f"{name}.toml"))

            load_demo(
                uow,
                services.library,
                services.catalog,
                example,
                today,
                generated,
                stimulation=services.stimulation,
            )
            with uow.session() as session, session.begin():
                repo = SqlRepository(session, ("setup", datetime.now(), DEMO_REASON))
                for login in DEMO_LOGINS:
                    repo.set_password_hash(login.user.username, hash_password(login.password))
                session.commit()
    return [(x.user.username, x.user.role.value, x.password) for x in DEMO_LOGINS]


@handles_errors
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", help="TCP port (0 = any free port)"),
    database: str | None = typer.Option(None, "--database-url", metavar="URL",
                                        help="SQLAlchemy URL; default $THECAL_DATABASE_URL, "
                                        "else an SQLite file in the user data directory"),
    demo: bool = typer.Option(False, "--demo/--no-demo", help="load the synthetic demo clinic "
                              "into an empty database"),
) -> None:  # fmt: skip
    """Run the clinic web app (and /api/v1) — not a certified medical device."""
    import uvicorn

    from thecal.adapters import composition
    from thecal.api.context import AppContext
    from thecal.web.app import create_app

    url = database_url(database)
    if demo:
        logins = load_demo_clinic(url, datetime.now().date())
        typer.echo("demo logins (synthetic clinic):")
        for username, role, password in logins:
            typer.echo(f"  {role:9} user {username!r} password {password!r}")
    # The composition root: the one place the clinic services are built.
    ctx = AppContext(composition.build_services(url, clock=datetime.now), install_secret())
    typer.echo(f"Thecal clinic on http://{host}:{port} (Ctrl-C stops it)", err=False)
    uvicorn.run(create_app(ctx), host=host, port=port, log_level="warning")
