import pytest

from tests.finding_codes import (  # noqa: F401  (pytest hooks: every code emitted, see there)
    pytest_collection_finish,
    pytest_configure,
    pytest_deselected,
    pytest_sessionfinish,
    pytest_unconfigure,
)
from thecal.adapters.data_files import load_catalog, load_library
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary


@pytest.fixture(scope="session")
def library() -> DrugLibrary:
    return load_library()


@pytest.fixture(scope="session")
def catalog() -> DeviceCatalog:
    return load_catalog()
