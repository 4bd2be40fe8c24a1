import pytest

from thecal.adapters.data_files import load_catalog, load_library
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary


@pytest.fixture(scope="session")
def library() -> DrugLibrary:
    return load_library()


@pytest.fixture(scope="session")
def catalog() -> DeviceCatalog:
    return load_catalog()
