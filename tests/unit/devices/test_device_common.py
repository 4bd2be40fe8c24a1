"""The family-agnostic part of the device protocol and the drug pump family on top of it."""

from tests.unit.implant.helpers import pump
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.clock import EPOCH, at_hours
from thecal.devices.identity import DeviceFamily
from thecal.devices.implant_device import ImplantDevice
from thecal.devices.pump import DrugPump
from thecal.therapy import delivery
from thecal.therapy.library import DrugLibrary


def test_the_device_clock_shares_the_therapy_cores_epoch() -> None:
    # Repeated so the common modules need not import the pump's delivery model.
    assert EPOCH == delivery.EPOCH
    assert at_hours(30.5) == delivery.at_hours(30.5)


def test_a_simulated_pump_is_an_implant_device_of_the_drug_pump_family(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    dev = pump(catalog, library)
    assert isinstance(dev, ImplantDevice) and isinstance(dev, DrugPump)
    assert dev.capabilities.family is DeviceFamily.DRUG_PUMP
    assert dev.peek().model == dev.capabilities.model
