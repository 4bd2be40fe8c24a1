"""Settling uncertain link deliveries in the SQL repository (see
:mod:`thecal.clinic.delivery_settling_ports`): the stored delivery's outcome, detail and
prescription version updated, audited like every write."""

from collections.abc import Sequence

from sqlalchemy import select

from thecal.clinic.errors import NotFoundError
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.store.implant_link_records import _delivery
from thecal.store.implant_link_schema import LinkDeliveryRow
from thecal.store.repository_base import RepositoryBase


class DeliverySettlingRecords(RepositoryBase):
    def unsettled_link_deliveries(self, patient_id: str | None = None) -> Sequence[LinkDelivery]:
        row = LinkDeliveryRow
        # ix_link_deliveries_outcome (migration 0011): the worklist reads these on every view.
        q = select(row).where(row.outcome == DeliveryOutcome.UNCERTAIN.value)
        if patient_id is not None:
            q = q.where(row.patient_id == patient_id)
        return [_delivery(r) for r in self.session.execute(q.order_by(row.at, row.id)).scalars()]

    def settle_link_delivery(self, delivery: LinkDelivery) -> None:
        row = self.session.get(LinkDeliveryRow, delivery.id)
        if row is None:
            raise NotFoundError("link delivery", delivery.id)
        row.outcome, row.detail = delivery.outcome.value, delivery.detail
        row.prescription_version = delivery.prescription_version
        self._write("update", row, "link_delivery", delivery.id)
