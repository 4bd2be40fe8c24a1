"""The composition root: where the clinic's services are built, once, from a database URL and
the packaged data files. ``thecal web serve`` (the web app and the JSON API) and the clinic CLI
commands get their :class:`~thecal.clinic.services.ClinicServices` here and nowhere else, so
all of them run the same workflows on the same data, clock and settings.

Callers look ``build_services`` / ``open_services`` up on this module when they run (not at
import), so a test can replace the root and see every entry point use it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine

from thecal.adapters.data_files import load_catalog, load_library, packaged
from thecal.adapters.stimulator_files import load_stimulator_catalog
from thecal.clinic.impedance_trend import build_trend_settings
from thecal.clinic.ports import Clock
from thecal.clinic.services import ClinicServices
from thecal.clinic.settings import ClinicSettings, build_clinic_settings
from thecal.clinic.stimulator_workflow import StimulatorContext
from thecal.devices.catalog import DeviceCatalog
from thecal.store.database import database_url, make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary

Services = ClinicServices[SqlUnitOfWork]


def stimulator_context() -> StimulatorContext:
    """The shipped stimulator catalog and the packaged ``stimulator_clinic.toml`` settings."""
    settings = build_trend_settings("stimulator_clinic.toml", packaged("stimulator_clinic.toml"))
    return StimulatorContext(load_stimulator_catalog(), settings)


def clinic_settings() -> ClinicSettings:
    """The packaged ``clinic.toml`` settings."""
    return build_clinic_settings("clinic.toml", packaged("clinic.toml"))


def build_services(
    url: str | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock = datetime.now,
    library: DrugLibrary | None = None,
    catalog: DeviceCatalog | None = None,
    settings: ClinicSettings | None = None,
    migrate: bool = True,
) -> Services:
    """The clinic services on the database at ``url`` (default ``$THECAL_DATABASE_URL``, else
    the user's SQLite file), or on ``engine`` when given (the caller disposes it). With
    ``migrate`` the schema is created or upgraded first. ``clock`` is the clinic's local time
    (default: the machine's); ``library``, ``catalog`` and ``settings`` default to the packaged
    data files (the library with ``$THECAL_LIBRARY``'s layers)."""
    engine = engine if engine is not None else make_engine(database_url(url))
    if migrate:
        upgrade(engine)
    return ClinicServices(
        uow=SqlUnitOfWork(engine),
        clock=clock,
        library=library if library is not None else load_library(),
        catalog=catalog if catalog is not None else load_catalog(),
        settings=settings if settings is not None else clinic_settings(),
        stimulation=stimulator_context(),
    )


@contextmanager
def open_services(url: str | None = None, *, clock: Clock = datetime.now) -> Iterator[Services]:
    """:func:`build_services` for one command: the engine is disposed when the block ends."""
    services = build_services(url, clock=clock)
    try:
        yield services
    finally:
        services.uow.engine.dispose()
