"""Storing what the programmer read from a stimulator over the telemetry link: the contacts'
impedances and the battery voltage, as measurements of source "interrogation"."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import pint

from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.model import Device, User
from thecal.clinic.ports import Clock, UnitOfWork
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ContactImpedance,
    ImpedanceSet,
    MeasurementSource,
)
from thecal.clinic.stimulator_workflow import check_battery, impedance_set, stimulator
from thecal.therapy.compare import above
from thecal.units import Dimension, InputError, parse_quantity

R = TypeVar("R")


@dataclass(frozen=True)
class StimulatorReading(Generic[R]):
    """What the edge read from the IPG: the programmer's ``report`` (shown), the ``serial``
    that answered, each contact's impedance (ohm) and the battery voltage (V)."""

    report: R
    serial: str
    impedances: Sequence[ContactImpedance]
    battery_voltage: pint.Quantity


@dataclass(frozen=True)
class StoredReading:
    """The impedance set and the battery reading stored from one read."""

    impedances: ImpedanceSet
    battery: BatteryReading


def read_stimulator(
    uow: UnitOfWork, clock: Clock, actor: User, patient_id: str, device_id: str,
    read: Callable[[Device], StimulatorReading[R]],
) -> tuple[StimulatorReading[R], StoredReading]:  # fmt: skip
    """Read the patient's stimulator in place with ``read`` and store the impedances and the
    battery voltage at the clinic's time of the read. The role is checked before the IPG is
    contacted (a viewer: :class:`PermissionDenied`); another IPG answering is an InputError
    and nothing is stored; ``read``'s own errors pass through."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "read stimulators")
    with uow.reader() as repo:
        device = stimulator(repo, patient_id, device_id)
    if not device.in_place:
        raise NotFoundError("stimulator in place", device_id)
    reading = read(device)
    if reading.serial != device.serial:
        raise InputError("stimulator.serial", f"{reading.serial!r} answered, not "
                         f"{device.serial!r}", "the patient's stimulator")  # fmt: skip
    # Everything is checked first and both records are written in one transaction: a read
    # is stored whole or not at all.
    if not above(reading.battery_voltage, parse_quantity("0 V", "zero", Dimension.VOLTAGE)):
        raise InputError("stimulator.battery_voltage", "must be above zero", "e.g. '3.1 V'")
    # The clinic's clock, not the IPG's: a device clock may be off and the store refuses
    # measurements in the future.
    at = clock()
    bat = BatteryReading(patient_id, device_id, at, MeasurementSource.INTERROGATION,
                         reading.battery_voltage, by=actor.username)  # fmt: skip
    check_battery(at, bat)
    imp = impedance_set(at, patient_id, device_id, reading.impedances,
                        MeasurementSource.INTERROGATION, at, actor.username)  # fmt: skip
    with uow.transaction(actor.username, at, "stimulator read (interrogation)") as repo:
        stimulator(repo, patient_id, device_id)
        repo.add_impedance_set(imp)
        repo.add_battery_reading(bat)
    return reading, StoredReading(imp, bat)
