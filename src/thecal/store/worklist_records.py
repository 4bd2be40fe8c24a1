"""The worklist's light reads in the SQL repository (see :mod:`thecal.clinic.worklist_ports`):
the latest refills' findings as four columns, only where there are findings (no refill record
built per patient), and the stimulators in place through ``ix_devices_in_place`` (kind first)
instead of every device in place."""

from collections.abc import Collection, Sequence

from sqlalchemy import func, select

from thecal.clinic.model import Device, DeviceKind
from thecal.clinic.worklist_ports import RefillFindings
from thecal.store.device_records import DeviceRecords
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import findings_from_json
from thecal.store.schema import DeviceRow, PatientRow, RefillRow

NO_FINDINGS = "[]"  # what rows.json_text writes for no findings (compact JSON)
CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


class WorklistRecords(RepositoryBase):
    def latest_refill_findings(self) -> Sequence[RefillFindings]:
        # The same "latest" as latest_refills (each patient's refills at its last performed_at),
        # but only the rows with findings are looked at: the latest time per patient is a
        # correlated lookup on ix_refills_patient_performed for those few rows, not a GROUP BY
        # over every refill of the clinic.
        later = RefillRow.__table__.alias("later")
        newest = (
            select(func.max(later.c.performed_at))
            .where(later.c.patient_id == RefillRow.patient_id)
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(RefillRow.patient_id, RefillRow.id, RefillRow.performed_at, RefillRow.findings)
            .where(RefillRow.findings != NO_FINDINGS, RefillRow.performed_at == newest)
        ).all()  # fmt: skip
        found = [RefillFindings(p, i, at, findings_from_json(f)) for p, i, at, f in rows]
        return [r for r in found if r.findings]

    def stimulators_in_place(self) -> Sequence[Device]:
        rows = self.session.execute(
            select(DeviceRow)
            .where(DeviceRow.kind == DeviceKind.STIMULATOR.value, DeviceRow.removed_on.is_(None))
            .order_by(DeviceRow.implanted_on, DeviceRow.id)
        ).scalars()
        return [DeviceRecords._device(r) for r in rows]

    def patient_names(self, patient_ids: Collection[str]) -> dict[str, str]:
        ids = sorted(set(patient_ids))
        names: dict[str, str] = {}
        for at in range(0, len(ids), CHUNK):
            rows = self.session.execute(
                select(PatientRow.id, PatientRow.display_name).where(
                    PatientRow.id.in_(ids[at : at + CHUNK])
                )
            ).all()
            names.update({pid: name for pid, name in rows})
        return names
