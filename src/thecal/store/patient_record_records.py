"""Many patients' whole records in the clinic repository (see
:mod:`thecal.clinic.patient_record_ports`): one query per table for a chunk of patients, where
``read_patient`` costs about eleven per patient plus four per stimulator.

Each query orders its rows as the per-patient ``*_for`` read does; the rows are then grouped
by patient (or stimulator) keeping that order, and converted by the same row → record
functions those reads use, so each record equals what ``read_patient`` gives."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select

from thecal.clinic.errors import NotFoundError
from thecal.clinic.model import DeviceKind, Patient
from thecal.clinic.patient_record import PatientData
from thecal.store.assessment_records import _record as assessment_of
from thecal.store.assessment_schema import AssessmentRow
from thecal.store.device_records import DeviceRecords, procedure_of
from thecal.store.event_records import EventRecords, complication_of
from thecal.store.implant_link_records import _delivery as delivery_of
from thecal.store.implant_link_schema import LinkDeliveryRow
from thecal.store.prescription_records import prescription_of, program_change_of
from thecal.store.refill_records import RefillRecords
from thecal.store.registration_records import device_details_of, patient_details_of
from thecal.store.registration_schema import DeviceDetailsRow, PatientDetailsRow
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import PATIENT_COLUMNS
from thecal.store.schema import (
    AlarmRow,
    ComplicationRow,
    DeviceRow,
    InterrogationRow,
    PatientRow,
    PrescriptionRow,
    ProcedureRow,
    ProgramChangeRow,
    RefillRow,
)
from thecal.store.stimulator_records import (
    battery_reading_of,
    impedance_set_of,
    lead_of,
    stim_program_of,
)
from thecal.store.stimulator_schema import (
    BatteryReadingRow,
    ImpedanceSetRow,
    StimLeadRow,
    StimProgramRow,
)

CHUNK = 900
"""Most keys in one ``IN (...)``: SQLite allowed 999 bound parameters before 3.32."""

T = TypeVar("T")


def chunks(keys: Sequence[str], size: int | None = None) -> Iterable[Sequence[str]]:
    """``keys`` in slices of at most ``size`` (default :data:`CHUNK`); none for no keys."""
    n = size or CHUNK
    return (keys[i : i + n] for i in range(0, len(keys), n))


class PatientRecordRecords(RepositoryBase):
    """:class:`thecal.clinic.patient_record_ports.PatientRecords` on the session."""

    def _grouped(
        self, row: Any, key: Callable[[Any], str], column: Any, keys: Sequence[str],
        order: Sequence[Any], convert: Callable[[Any], T],
    ) -> dict[str, list[T]]:  # fmt: skip
        """Rows of ``row`` whose ``column`` is in ``keys``, by ``order`` (the per-key read's),
        converted and grouped by ``key(row)`` in that order."""
        out: dict[str, list[T]] = defaultdict(list)
        for part in chunks(keys):
            q = select(row).where(column.in_(part)).order_by(*order)
            for r in self.session.execute(q).scalars():
                out[key(r)].append(convert(r))
        return out

    def _by_patient(
        self, row: Any, ids: Sequence[str], order: Sequence[Any],
        convert: Callable[[Any], T],
    ) -> dict[str, list[T]]:  # fmt: skip
        return self._grouped(row, lambda r: r.patient_id, row.patient_id, ids, order, convert)

    def _by_device(
        self, row: Any, ids: Sequence[str], order: Sequence[Any],
        convert: Callable[[Any], T],
    ) -> dict[str, list[T]]:  # fmt: skip
        return self._grouped(row, lambda r: r.device_id, row.device_id, ids, order, convert)

    def _patients(self, ids: Sequence[str]) -> dict[str, Patient]:
        out: dict[str, Patient] = {}
        for part in chunks(ids):
            for r in self.session.execute(select(*PATIENT_COLUMNS).where(PatientRow.id.in_(part))):
                out[r.id] = Patient(*r)
        return out

    def _one_each(
        self, row: Any, column: Any, keys: Sequence[str], convert: Callable[[Any], T]
    ) -> dict[str, T]:
        """The row of ``row`` for each of ``keys`` that has one (its primary key ``column``)."""
        return {
            getattr(r, column.key): convert(r)
            for part in chunks(keys)
            for r in self.session.execute(select(row).where(column.in_(part))).scalars()
        }

    def patient_records(self, patient_ids: Sequence[str]) -> list[PatientData]:
        ids = list(dict.fromkeys(patient_ids))  # each patient read once, however often asked
        patients = self._patients(ids)
        missing = next((i for i in patient_ids if i not in patients), None)
        if missing is not None:
            raise NotFoundError("patient", missing)
        # The orders are the per-patient reads' (devices_for, procedures_for, ... in store/).
        dv, dd, pd = DeviceRow, DeviceDetailsRow, PatientDetailsRow
        devices = self._by_patient(dv, ids, (dv.implanted_on, dv.id), DeviceRecords._device)
        device_ids = [d.id for pid in ids for d in devices[pid]]
        stims = [d.id for pid in ids for d in devices[pid] if d.kind is DeviceKind.STIMULATOR]
        device_details = self._one_each(dd, dd.device_id, device_ids, device_details_of)
        details = self._one_each(pd, pd.patient_id, ids, patient_details_of)
        ls, sp, im, bt = StimLeadRow, StimProgramRow, ImpedanceSetRow, BatteryReadingRow
        leads = self._by_device(ls, stims, (ls.implanted_on, ls.name, ls.id), lead_of)
        programs = self._by_device(sp, stims, (sp.version,), stim_program_of)
        impedances = self._by_device(im, stims, (im.at, im.id), impedance_set_of)
        batteries = self._by_device(bt, stims, (bt.at, bt.id), battery_reading_of)
        pr, rx, rf, pc = ProcedureRow, PrescriptionRow, RefillRow, ProgramChangeRow
        procedures = self._by_patient(pr, ids, (pr.performed_on, pr.id), procedure_of)
        prescriptions = self._by_patient(rx, ids, (rx.version,), prescription_of)
        refills = self._by_patient(rf, ids, (rf.performed_at,), RefillRecords._refill)
        changes = self._by_patient(pc, ids, (pc.at,), program_change_of)
        it, al, co = InterrogationRow, AlarmRow, ComplicationRow
        interrogations = self._by_patient(it, ids, (it.at, it.id), EventRecords._interrogation)
        alarms = self._by_patient(al, ids, (al.raised_at, al.id), EventRecords._alarm)
        complications = self._by_patient(co, ids, (co.occurred_on, co.id), complication_of)
        ar, ld = AssessmentRow, LinkDeliveryRow
        assessments = self._by_patient(ar, ids, (ar.at, ar.id), assessment_of)
        deliveries = self._by_patient(ld, ids, (ld.at, ld.id), delivery_of)

        def record(pid: str) -> PatientData:
            own = devices[pid]
            mine = [d.id for d in own if d.kind is DeviceKind.STIMULATOR]  # in devices' order

            def each(by_device: dict[str, list[T]]) -> tuple[T, ...]:
                return tuple(x for sid in mine for x in by_device[sid])

            return PatientData(
                patients[pid], details.get(pid), tuple(own),
                {d.id: device_details[d.id] for d in own if d.id in device_details},
                each(leads), tuple(procedures[pid]), tuple(prescriptions[pid]),
                tuple(refills[pid]), tuple(changes[pid]), tuple(interrogations[pid]),
                tuple(alarms[pid]), tuple(complications[pid]), each(impedances), each(batteries),
                each(programs), tuple(assessments[pid]), tuple(deliveries[pid]),
            )  # fmt: skip

        built = {pid: record(pid) for pid in ids}
        return [built[pid] for pid in patient_ids]
