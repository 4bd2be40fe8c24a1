"""Settling uncertain link deliveries in the in-memory repository (see
:mod:`thecal.clinic.delivery_settling_ports`)."""

from collections.abc import Sequence
from typing import Any

from thecal.clinic.errors import NotFoundError
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery


class MemoryDeliverySettling:
    """Mixed into :class:`~thecal.clinic.memory.MemoryRepository` (``_s.links.deliveries``)."""

    _s: Any

    def _audit(self, action: str, entity: str, entity_id: str) -> None:
        raise NotImplementedError  # the repository's

    def unsettled_link_deliveries(self, patient_id: str | None = None) -> Sequence[LinkDelivery]:
        deliveries: list[LinkDelivery] = self._s.links.deliveries
        return sorted((d for d in deliveries if d.outcome is DeliveryOutcome.UNCERTAIN
                       and (patient_id is None or d.patient_id == patient_id)),
                      key=lambda d: (d.at, d.id))  # fmt: skip

    def settle_link_delivery(self, delivery: LinkDelivery) -> None:
        deliveries: list[LinkDelivery] = self._s.links.deliveries
        at = next((i for i, d in enumerate(deliveries) if d.id == delivery.id), None)
        if at is None:
            raise NotFoundError("link delivery", delivery.id)
        deliveries[at] = delivery
        self._audit("update", "link_delivery", delivery.id)
