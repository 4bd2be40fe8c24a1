"""The stimulator columns of the registry import: an IPG and its leads on the patient's row,
checked against the stimulator catalog; every bad cell refused naming its column, with the
same all-or-nothing semantics as the pump columns."""

from dataclasses import replace
from datetime import date

import pytest

from thecal.adapters.data_files import load_catalog
from thecal.adapters.stimulator_files import load_stimulator_catalog
from thecal.clinic.registration_import import COLUMNS, check_columns, check_rows
from thecal.clinic.stimulator_import import CONTACTS_MAX, LEADS_MAX, STIMULATOR_COLUMNS
from thecal.stimulation.catalog import LeadKind, LeadSpec, StimulatorCatalog
from thecal.units import InputError

TODAY = date(2026, 11, 23)
PATIENT = {"mrn": "S-1", "name": "Synthetic Stim", "date_of_birth": "1960-02-03",
           "sex": "female"}  # fmt: skip
IPG = {"ipg_model": "Proclaim XR", "ipg_serial": "IPG-1", "ipg_implanted_on": "2024-03-04",
       "ipg_pocket_side": "left"}  # fmt: skip
LEAD1 = {"lead1_model": "Octrode", "lead1_serial": "L-A", "lead1_kind": "percutaneous",
         "lead1_contacts": "8"}  # fmt: skip
LEAD2 = {"lead2_model": "Penta", "lead2_kind": "Paddle", "lead2_contacts": "20"}


@pytest.fixture(scope="module")
def stim() -> StimulatorCatalog:
    return load_stimulator_catalog()


def errors(cells: dict[str, str], stim: StimulatorCatalog | None) -> list[tuple[str, str]]:
    good, bad = check_rows([(2, {**PATIENT, **cells})], TODAY, load_catalog(), stim)
    assert (good == []) == (bad != [])
    return [(e.field, e.message) for e in bad]


def test_the_columns_are_known_to_the_header_check() -> None:
    assert set(STIMULATOR_COLUMNS) <= set(COLUMNS)
    assert len(STIMULATOR_COLUMNS) == 4 + 4 * LEADS_MAX  # IPG 4 cells, each lead 4
    check_columns([*PATIENT, *IPG, *LEAD1, "lead4_contacts"])
    with pytest.raises(InputError, match="lead5_model"):
        check_columns([*PATIENT, "lead5_model"])  # lead groups 1 to 4 only


def test_an_ipg_with_two_leads(stim: StimulatorCatalog) -> None:
    good, bad = check_rows([(2, {**PATIENT, **IPG, **LEAD1, **LEAD2})], TODAY, load_catalog(),
                           stim)  # fmt: skip
    assert bad == []
    (row,) = good
    s = row.stimulator
    assert s is not None and s.implanted_on == date(2024, 3, 4)
    assert (s.ipg.model, s.ipg.serial, s.ipg.pocket_side.value) == ("Proclaim XR", "IPG-1", "left")  # type: ignore[union-attr]
    assert [(x.name, x.model, x.serial, x.kind, x.contacts) for x in s.leads] == [
        ("L1", "Octrode", "L-A", LeadKind.PERCUTANEOUS, 8),
        ("L2", "Penta", "", LeadKind.PADDLE, 20),
    ]
    assert row.implanted_on is None and row.devices == ()  # no pump on this row


def test_no_stimulator_cell_is_no_stimulator(stim: StimulatorCatalog) -> None:
    good, bad = check_rows([(2, {**PATIENT, "ipg_serial": " "})], TODAY, load_catalog(), stim)
    assert bad == [] and good[0].stimulator is None


@pytest.mark.parametrize(
    ("cells", "field", "says"),
    [
        ({**LEAD1}, "ipg_model", "is required"),  # a lead without its IPG
        ({**IPG, "ipg_model": ""}, "ipg_model", "is required"),
        ({**IPG, "ipg_implanted_on": ""}, "ipg_implanted_on", "is required"),
        ({**IPG, "ipg_pocket_side": ""}, "ipg_pocket_side", "is required"),
        ({**IPG, "ipg_model": "Nope 9"}, "ipg.model", "unknown stimulator model"),
        ({**IPG, "ipg_implanted_on": "2024-13-01"}, "ipg_implanted_on", "got '2024-13-01'"),
        ({**IPG, "ipg_implanted_on": "2026-11-24"}, "ipg_implanted_on", "future"),
        ({**IPG, "ipg_pocket_side": "back"}, "ipg.pocket_side", "got 'back'"),
        ({**IPG, "ipg_serial": "x" * 81}, "ipg.serial", "characters"),
        ({**IPG, **LEAD1, "lead1_model": ""}, "lead1_model", "is required with lead 1"),
        ({**IPG, **LEAD1, "lead1_kind": ""}, "lead1_kind", "is required with lead 1"),
        ({**IPG, **LEAD1, "lead1_contacts": ""}, "lead1_contacts", "is required with lead 1"),
        ({**IPG, "lead3_serial": "S"}, "lead3_model", "is required with lead 3"),
        ({**IPG, **LEAD1, "lead1_model": "Nope"}, "lead1_model", "Nope"),
        ({**IPG, **LEAD1, "lead1_kind": "ring"}, "lead1_kind", "got 'ring'"),
        ({**IPG, **LEAD1, "lead1_contacts": "8.5"}, "lead1_contacts", "got '8.5'"),
        ({**IPG, **LEAD1, "lead1_contacts": "-8"}, "lead1_contacts", "got '-8'"),
        ({**IPG, **LEAD1, "lead1_contacts": "0"}, "lead1_contacts", "0 is out of range"),
        ({**IPG, **LEAD1, "lead1_contacts": "100"}, "lead1_contacts", "100 is out of range"),
        ({**IPG, **LEAD1, "lead1_contacts": "٨"}, "lead1_contacts", "got"),  # Arabic-Indic 8
        ({**IPG, **LEAD1, "lead1_serial": "a\tb"}, "lead1_serial", "control character"),
        # The catalog states Medtronic 3387's kind (percutaneous): a paddle is a wrong cell.
        ({**IPG, **LEAD1, "lead1_model": "Medtronic 3387", "lead1_kind": "paddle"},
         "lead1_kind", "percutaneous lead in the stimulator catalog"),
    ],
)  # fmt: skip
def test_each_bad_cell_is_refused_naming_its_column(
    stim: StimulatorCatalog, cells: dict[str, str], field: str, says: str
) -> None:
    ((got_field, message),) = errors(cells, stim)
    assert got_field == field and says in message


def test_contacts_at_the_edges(stim: StimulatorCatalog) -> None:
    # 1 and CONTACTS_MAX (99) are accepted; 0 and 100 refused (above).
    for n in ("1", str(CONTACTS_MAX)):
        assert errors({**IPG, **LEAD1, "lead1_contacts": n}, stim) == []


def test_a_contact_count_the_catalog_states_must_match(stim: StimulatorCatalog) -> None:
    octrode = next(x for x in stim.leads if x.model == "Octrode")
    counted = replace(stim, leads=(LeadSpec(octrode.model, octrode.name, {"contacts": 8}),))
    assert errors({**IPG, **LEAD1}, counted) == []
    ((field, message),) = errors({**IPG, **LEAD1, "lead1_contacts": "4"}, counted)
    assert field == "lead1_contacts" and "has 8 contacts in the stimulator catalog" in message


def test_without_a_stimulator_catalog_a_stimulator_row_is_refused() -> None:
    ((field, message),) = errors({**IPG}, None)
    assert field == "ipg_model" and "not loaded" in message
    assert errors({}, None) == []  # rows without a stimulator still import


def test_the_import_writes_the_ipg_its_leads_and_the_program_leads(
    stim: StimulatorCatalog,
) -> None:
    from datetime import datetime

    from thecal.clinic.memory import MemoryUnitOfWork
    from thecal.clinic.model import DeviceKind, ProcedureKind, Role, User
    from thecal.clinic.registration_import import import_rows

    uow = MemoryUnitOfWork()
    doctor = User("paul", "Dr Paul", Role.PHYSICIAN)
    good, _ = check_rows([(2, {**PATIENT, **IPG, **LEAD1, **LEAD2})], TODAY, load_catalog(),
                         stim)  # fmt: skip
    (patient,) = import_rows(uow, lambda: datetime(2026, 11, 23, 9), doctor, good)
    with uow.reader() as repo:
        devices = repo.devices_for(patient.id)
        ipg = next(d for d in devices if d.kind is DeviceKind.STIMULATOR)
        leads = sorted((d.model, d.serial, d.notes) for d in devices if d.kind is DeviceKind.LEAD)
        program_leads = [(x.name, x.model) for x in repo.stim_leads_for(ipg.id)]
        (procedure,) = repo.procedures_for(patient.id)
    assert (ipg.serial, ipg.implanted_on) == ("IPG-1", date(2024, 3, 4))
    assert leads == [
        ("Octrode", "L-A", "L1: percutaneous lead, 8 contacts (registry import)"),
        ("Penta", "", "L2: paddle lead, 20 contacts (registry import)"),
    ]
    assert sorted(program_leads) == [("L1", "Octrode"), ("L2", "Penta")]
    assert procedure.kind is ProcedureKind.IMPLANT and len(procedure.placed) == 3
