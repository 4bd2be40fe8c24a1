"""Reading a stimulator over the edge's link through the services (in-memory store): a viewer
is refused before the IPG is contacted; another serial answering, or a voltage that cannot be
stored, leaves nothing half-written; a good read stores both, source "interrogation"."""

from typing import Any

import pytest

from thecal.adapters.composition import clinic_settings
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.model import Device
from thecal.clinic.services import ClinicServices
from thecal.clinic.stimulator_model import ContactImpedance, MeasurementSource
from thecal.clinic.stimulator_reading import StimulatorReading
from thecal.units import Q_, InputError

from .conftest import NURSE, VIEWER, FakeClock
from .stim_fixtures import CTX, stim_patient

VALUES = (ContactImpedance("L1:0", Q_(850, "ohm")), ContactImpedance("L1:1", Q_(1.2, "kohm")))


@pytest.fixture
def svc(uow: MemoryUnitOfWork, clock: FakeClock, library, catalog) -> ClinicServices[Any]:
    return ClinicServices(uow=uow, clock=clock, library=library, catalog=catalog,
                          settings=clinic_settings(), stimulation=CTX)  # fmt: skip


def _reader(serial: str | None = None, volts: float = 3.1) -> Any:
    calls: list[str] = []

    def read(device: Device) -> StimulatorReading[str]:
        calls.append(device.serial)
        return StimulatorReading("report", serial or device.serial, VALUES, Q_(volts, "V"))

    return read, calls


def _stored(svc: ClinicServices[Any], pid: str) -> tuple[int, int]:
    (s,) = svc.stimulator_summary(patient_id=pid)
    return len(s.impedances), len(s.batteries)


def test_a_read_stores_impedances_and_battery(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    read, calls = _reader()
    reading, stored = svc.read_stimulator(actor=NURSE, patient_id=p.id, device_id=ipg.id,
                                          read=read)  # fmt: skip
    assert reading.report == "report" and calls == [ipg.serial]
    assert stored.impedances.source is MeasurementSource.INTERROGATION
    assert stored.battery.source is MeasurementSource.INTERROGATION
    assert stored.impedances.at == stored.battery.at == clock()  # the clinic's clock
    # 1.2 kohm = 1200 ohm, stored in ohm.
    assert [v.impedance.to("ohm").magnitude for v in stored.impedances.values] == [850, 1200]
    assert stored.battery.voltage == Q_(3.1, "V")


def test_viewer_refused_before_the_ipg_is_contacted(svc, uow, clock) -> None:
    p, ipg = stim_patient(uow, clock)
    read, calls = _reader()
    with pytest.raises(PermissionDenied):
        svc.read_stimulator(actor=VIEWER, patient_id=p.id, device_id=ipg.id, read=read)
    assert calls == [] and _stored(svc, p.id) == (0, 0)


@pytest.mark.parametrize(
    ("serial", "volts", "field"),
    [("OTHER-IPG", 3.1, "stimulator.serial"), (None, 0.0, "stimulator.battery_voltage")],
)
def test_nothing_half_written(svc, uow, clock, serial, volts, field) -> None:
    p, ipg = stim_patient(uow, clock)
    read, _ = _reader(serial, volts)
    with pytest.raises(InputError) as exc:
        svc.read_stimulator(actor=NURSE, patient_id=p.id, device_id=ipg.id, read=read)
    assert exc.value.field == field and _stored(svc, p.id) == (0, 0)


def test_a_store_failure_on_the_second_record_leaves_neither(svc, uow, clock, monkeypatch) -> None:
    """Both records go in one transaction: a failure storing the battery reading rolls back the
    impedance set written just before it."""
    p, ipg = stim_patient(uow, clock)
    read, _ = _reader()

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("disk full")

    with uow.transaction("test", clock(), "probe") as repo:
        monkeypatch.setattr(type(repo), "add_battery_reading", broken)
    with pytest.raises(OSError):
        svc.read_stimulator(actor=NURSE, patient_id=p.id, device_id=ipg.id, read=read)
    monkeypatch.undo()
    assert _stored(svc, p.id) == (0, 0)
