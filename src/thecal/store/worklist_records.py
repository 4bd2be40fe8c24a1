"""The worklist's light reads in the SQL repository (see :mod:`thecal.clinic.worklist_ports`):
the latest refills' findings as four columns, only where there are findings (no refill record
built per patient), and the stimulators in place through ``ix_devices_in_place`` (kind first)
instead of every device in place."""

from collections.abc import Collection, Sequence

from sqlalchemy import func, select, text

from thecal.clinic.model import Device, DeviceKind
from thecal.clinic.worklist_ports import RefillFindings, RefillVolumes
from thecal.store.device_records import DeviceRecords
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import findings_from_json, q_req
from thecal.store.schema import DeviceRow, InterrogationRow, PatientRow, RefillRow

NO_FINDINGS = "[]"  # what rows.json_text writes for no findings (compact JSON)
# Written as SQL text, not a bound parameter, so that SQLite and PostgreSQL can prove the
# query implies the partial indexes' predicate (ix_refills_with_findings, migration 0014).
WITH_FINDINGS = text(f"refills.findings != '{NO_FINDINGS}'")
INTERROGATION_FINDINGS = text(f"interrogations.findings != '{NO_FINDINGS}'")
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
            .where(WITH_FINDINGS, RefillRow.performed_at == newest)
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

    def latest_refill_volumes(self) -> Sequence[RefillVolumes]:
        # Each drug pump in place with its latest refill (on that pump): the latest time is a
        # correlated lookup on ix_refills_patient_performed; two volume columns, no record.
        later = RefillRow.__table__.alias("later")
        newest = (
            select(func.max(later.c.performed_at))
            .where(later.c.patient_id == RefillRow.patient_id,
                   later.c.device_id == RefillRow.device_id)
            .scalar_subquery()
        )  # fmt: skip
        pumps = (DeviceKind.PUMP.value, DeviceKind.TRIAL_PUMP.value)
        rows = self.session.execute(
            select(RefillRow.patient_id, RefillRow.device_id, DeviceRow.model,
                   RefillRow.expected_remaining, RefillRow.withdrawn)
            .join(DeviceRow, DeviceRow.id == RefillRow.device_id)
            .where(DeviceRow.kind.in_(pumps), DeviceRow.removed_on.is_(None),
                   RefillRow.performed_at == newest)
        ).all()  # fmt: skip
        return [
            RefillVolumes(p, d, m, q_req(e, "refill.expected_remaining"),
                          q_req(w, "refill.withdrawn"))
            for p, d, m, e, w in rows
        ]  # fmt: skip

    def patients_with_interrogation_findings(self) -> Collection[str]:
        rows = self.session.execute(
            select(InterrogationRow.patient_id).where(INTERROGATION_FINDINGS).distinct()
        ).scalars()
        return set(rows)
