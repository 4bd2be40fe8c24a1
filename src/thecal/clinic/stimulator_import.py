"""The stimulator columns of a registry import (:mod:`thecal.clinic.registration_import`):
an implanted IPG and its leads on the patient's row, checked against the stimulator catalog.

Columns (all empty: no stimulator):

- IPG: ``ipg_model`` (a stimulator catalog IPG), ``ipg_implanted_on`` (YYYY-MM-DD) and
  ``ipg_pocket_side`` (left, right, midline) are required together; ``ipg_serial`` optional.
- Leads ``lead1`` to ``lead4`` (named L1 to L4 in the programs), each with ``leadN_model`` (a
  catalog lead), ``leadN_kind`` (percutaneous or paddle) and ``leadN_contacts`` (a whole
  number) required together and ``leadN_serial`` optional. A kind or contact count the catalog
  states for the model must match it: a mismatch is a wrong model or a wrong cell. The leads
  are implanted with the IPG, on its date.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from thecal.clinic.model import Device, DeviceKind, Procedure, ProcedureKind, User
from thecal.clinic.registration import DeviceInput, day, device_input, text
from thecal.clinic.stimulator_model import StimLead
from thecal.devices.catalog import DeviceCatalog
from thecal.stimulation.catalog import LeadKind, StimulatorCatalog
from thecal.units import InputError

IPG_COLUMNS = ("ipg_model", "ipg_serial", "ipg_implanted_on", "ipg_pocket_side")
IPG_REQUIRED = ("ipg_model", "ipg_implanted_on", "ipg_pocket_side")
LEADS_MAX = 4  # lead column groups per row: a file-format bound, not a clinical one
LEAD_FIELDS = ("model", "serial", "kind", "contacts")
LEAD_REQUIRED = ("model", "kind", "contacts")
LEAD_COLUMNS = tuple(f"lead{n}_{f}" for n in range(1, LEADS_MAX + 1) for f in LEAD_FIELDS)
STIMULATOR_COLUMNS = IPG_COLUMNS + LEAD_COLUMNS
CONTACTS_MAX = 99  # two digits: a format bound on the cell, not a device number


@dataclass(frozen=True)
class LeadRow:
    """One lead of the row: its name in the programs (``L1``), catalog model, serial, kind
    and number of contacts."""

    name: str
    model: str
    serial: str
    kind: LeadKind
    contacts: int


@dataclass(frozen=True)
class StimulatorRow:
    """The row's IPG (checked against the catalog) with its implant date and leads."""

    implanted_on: date
    ipg: DeviceInput
    leads: tuple[LeadRow, ...]


def _given(raw: Mapping[str, str], column: str) -> bool:
    return bool((raw.get(column) or "").strip())


def stimulator_row(
    raw: Mapping[str, str], today: date, catalog: StimulatorCatalog | None
) -> StimulatorRow | None:
    """The row's stimulator, or None when every stimulator cell is empty. Raises
    :class:`InputError` naming the column (or the IPG field) of the first problem."""
    if not any(_given(raw, c) for c in STIMULATOR_COLUMNS):
        return None
    missing = [c for c in IPG_REQUIRED if not _given(raw, c)]
    if missing:
        raise InputError(missing[0], "is required with a stimulator or lead",
                         "the IPG's model, implant date and pocket side")  # fmt: skip
    if catalog is None:
        raise InputError("ipg_model", "the stimulator catalog is not loaded",
                         "a clinic started with its stimulator catalog")  # fmt: skip
    on = day(raw.get("ipg_implanted_on"), "ipg_implanted_on", today)
    assert on is not None  # required above
    ipgs = tuple(i.model for i in catalog.ipgs)
    # The registration check of a stimulator reads only the IPG models (no pump catalog).
    ipg = device_input({"kind": "stimulator", "model": raw.get("ipg_model"),
                        "serial": raw.get("ipg_serial"),
                        "pocket_side": raw.get("ipg_pocket_side")},
                       DeviceCatalog((), ()), ipgs, name="ipg")  # fmt: skip
    leads = tuple(
        _lead(raw, n, catalog)
        for n in range(1, LEADS_MAX + 1)
        if any(_given(raw, f"lead{n}_{f}") for f in LEAD_FIELDS)
    )
    return StimulatorRow(on, ipg, leads)


def _lead(raw: Mapping[str, str], n: int, catalog: StimulatorCatalog) -> LeadRow:
    col = {f: f"lead{n}_{f}" for f in LEAD_FIELDS}
    missing = [col[f] for f in LEAD_REQUIRED if not _given(raw, col[f])]
    if missing:
        raise InputError(missing[0], f"is required with lead {n}",
                         "the lead's model, kind and number of contacts")  # fmt: skip
    spec = catalog.lead(text(raw.get(col["model"]), col["model"], required=True, limit=120),
                        col["model"])  # fmt: skip
    serial = text(raw.get(col["serial"]), col["serial"], required=False, limit=80)
    kind_text = text(raw.get(col["kind"]), col["kind"], required=True, limit=40).casefold()
    kind = next((k for k in LeadKind if k.value == kind_text), None)
    if kind is None:
        raise InputError(col["kind"], f"got {kind_text!r}",
                         "one of: " + ", ".join(k.value for k in LeadKind))  # fmt: skip
    if spec.kind is not None and kind is not spec.kind:
        raise InputError(col["kind"], f"{spec.model} is a {spec.kind.value} lead in the "
                         f"stimulator catalog, not {kind.value}", spec.kind.value)  # fmt: skip
    count_text = text(raw.get(col["contacts"]), col["contacts"], required=True, limit=10)
    if not (count_text.isascii() and count_text.isdigit()):
        raise InputError(col["contacts"], f"got {count_text!r}", "a whole number of contacts")
    contacts = int(count_text)
    if not 1 <= contacts <= CONTACTS_MAX:
        raise InputError(col["contacts"], f"{contacts} is out of range",
                         f"from 1 to {CONTACTS_MAX} contacts")  # fmt: skip
    listed = spec.get("contacts")
    if isinstance(listed, int) and listed != contacts:
        raise InputError(col["contacts"], f"{spec.model} has {listed} contacts in the "
                         f"stimulator catalog, not {contacts}", str(listed))  # fmt: skip
    return LeadRow(f"L{n}", spec.model, serial, kind, contacts)


def placed_stimulator(
    patient_id: str, row: StimulatorRow, actor: User
) -> tuple[Procedure, tuple[Device, ...], tuple[StimLead, ...]]:
    """The implant procedure, the devices it places (the IPG, then each lead with its serial)
    and the program leads on the IPG, for :func:`~thecal.clinic.lifecycle.check_procedure`."""
    on = row.implanted_on
    ipg = Device(patient_id, DeviceKind.STIMULATOR, row.ipg.model, on, row.ipg.serial)
    leads = tuple(
        Device(
            patient_id,
            DeviceKind.LEAD,
            lead.model,
            on,
            lead.serial,
            notes=f"{lead.name}: {lead.kind.value} lead, {lead.contacts} contacts "
            "(registry import)",
        )
        for lead in row.leads
    )
    stim_leads = tuple(StimLead(patient_id, ipg.id, lead.name, lead.model, on)
                       for lead in row.leads)  # fmt: skip
    devices = (ipg, *leads)
    procedure = Procedure(patient_id, ProcedureKind.IMPLANT, on, tuple(d.id for d in devices),
                          (), "registry import (stimulator)", actor.username)  # fmt: skip
    return procedure, devices, stim_leads
