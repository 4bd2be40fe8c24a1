"""Refill records in the clinic repository, and the refill calendar's queries over the
refill_schedule index (how many refills fall due in a window, and one page of them)."""

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from thecal.clinic.errors import NotFoundError
from thecal.clinic.model import Patient, RefillCandidateRecord, RefillRecord
from thecal.clinic.ports import DueRefill, DueWindow
from thecal.store.refill_schedule import count_due, due_page, due_where, sync_schedule
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import (
    PATIENT_COLUMNS,
    candidates_json,
    findings_from_json,
    json_text,
    pairs_from_json,
    q_in,
    q_out,
    q_req,
)
from thecal.store.schema import PatientRow, RefillRow, RefillScheduleRow


class RefillRecords(RepositoryBase):
    """Refills, their revised forecasts, and the calendar's due-window queries."""

    def add_refill(self, refill: RefillRecord) -> None:
        r = refill
        self._touch(r.patient_id)
        row = RefillRow(
            id=r.id, patient_id=r.patient_id, device_id=r.device_id,
            prescription_version=r.prescription_version, performed_at=r.performed_at,
            expected_remaining=q_out(r.expected_remaining), withdrawn=q_out(r.withdrawn),
            discrepancy=q_out(r.discrepancy), filled=q_out(r.filled),
            confirmed_after_fill=q_out(r.confirmed_after_fill), drug_lot=r.drug_lot,
            concentrations=json_text([list(c) for c in r.concentrations]), by=r.by,
            refill_by=r.refill_by, decided_by=r.decided_by, planned_refill=r.planned_refill,
            candidates=candidates_json(r),
            findings=json_text([f.to_json() for f in r.findings]),
            overrides=json_text([list(o) for o in r.overrides]),
        )  # fmt: skip
        self._write("insert", row, "refill", r.id)
        sync_schedule(self.session, r.patient_id)

    def revise_refill_forecast(self, refill: RefillRecord) -> None:
        row = self.session.get(RefillRow, refill.id)
        if row is None:
            raise NotFoundError("refill", refill.id)
        self._touch(row.patient_id)
        row.refill_by, row.decided_by = refill.refill_by, refill.decided_by
        row.candidates = candidates_json(refill)
        self._write("update", row, "refill", refill.id)
        sync_schedule(self.session, row.patient_id)

    @staticmethod
    def _refill(r: RefillRow) -> RefillRecord:
        return RefillRecord(
            patient_id=r.patient_id,
            device_id=r.device_id,
            prescription_version=r.prescription_version,
            performed_at=r.performed_at,
            expected_remaining=q_req(r.expected_remaining, "refill.expected_remaining"),
            withdrawn=q_req(r.withdrawn, "refill.withdrawn"),
            discrepancy=q_req(r.discrepancy, "refill.discrepancy"),
            filled=q_req(r.filled, "refill.filled"),
            drug_lot=r.drug_lot,
            concentrations=pairs_from_json(r.concentrations),
            by=r.by,
            refill_by=r.refill_by,
            decided_by=r.decided_by,
            confirmed_after_fill=q_in(r.confirmed_after_fill, "refill.confirmed_after_fill"),
            planned_refill=r.planned_refill,
            candidates=tuple(
                RefillCandidateRecord(
                    datetime.fromisoformat(c["at"]), c["kind"], c["reason"], c["source"]
                )
                for c in json.loads(r.candidates)
            ),
            findings=findings_from_json(r.findings),
            overrides=pairs_from_json(r.overrides),
            id=r.id,
        )

    def refills_for(self, patient_id: str) -> Sequence[RefillRecord]:
        rows = self.session.execute(
            select(RefillRow)
            .where(RefillRow.patient_id == patient_id)
            .order_by(RefillRow.performed_at)
        ).scalars()
        return [self._refill(r) for r in rows]

    def latest_refills(self) -> Sequence[RefillRecord]:
        last = (
            select(RefillRow.patient_id, func.max(RefillRow.performed_at).label("at"))
            .group_by(RefillRow.patient_id)
            .subquery()
        )
        rows = self.session.execute(
            select(RefillRow).join(
                last,
                (RefillRow.patient_id == last.c.patient_id) & (RefillRow.performed_at == last.c.at),
            )
        ).scalars()
        return [self._refill(r) for r in rows]

    # --- the refill calendar ---------------------------------------------------------------

    def count_refills_due(self, window: DueWindow) -> int:
        return count_due(self.session, window)

    def refills_due(
        self, window: DueWindow, limit: int | None, offset: int
    ) -> Sequence[tuple[Patient, RefillRecord | None]]:
        t, s = PatientRow, RefillScheduleRow
        # The page's keys first (a covering index scan, cheap to skip), then the joins for
        # those rows only: OFFSET over the joined rows would build every skipped row.
        keys = (
            select(s.patient_id, s.refill_id, s.due)
            .where(*due_where(window))
            .order_by(s.due, s.patient_id)
            .offset(offset)
        )
        if limit is not None:
            keys = keys.limit(limit)
        page = keys.subquery()
        query = (
            select(*PATIENT_COLUMNS, RefillRow)
            .select_from(page)
            .join(t, t.id == page.c.patient_id)
            .outerjoin(RefillRow, RefillRow.id == page.c.refill_id)
            .order_by(page.c.due, page.c.patient_id)
        )  # fmt: skip
        return [
            (Patient(*r[:-1]), None if r[-1] is None else self._refill(r[-1]))
            for r in self.session.execute(query)
        ]

    def calendar_rows(
        self, window: DueWindow, limit: int | None, offset: int
    ) -> Sequence[tuple[Patient, DueRefill | None]]:
        return due_page(self.session, window, limit, offset)
