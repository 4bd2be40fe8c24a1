"""What settling uncertain link deliveries needs from storage (part of
:class:`thecal.clinic.ports.ClinicRepository`; see :mod:`thecal.clinic.delivery_settling`)."""

from collections.abc import Sequence
from typing import Protocol

from thecal.clinic.implant_link_model import LinkDelivery


class DeliverySettling(Protocol):
    # The deliveries still uncertain (of ``patient_id``; None: every patient), by (at, id).
    def unsettled_link_deliveries(
        self, patient_id: str | None = None
    ) -> Sequence[LinkDelivery]: ...

    # Store ``delivery``'s new outcome, detail and prescription version (an audited update
    # of the stored delivery with the same id).
    def settle_link_delivery(self, delivery: LinkDelivery) -> None: ...
