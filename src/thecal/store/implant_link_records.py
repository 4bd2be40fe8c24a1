"""Implant links in the clinic repository: the link row audited like every record, the key
in its own row audited as "set" without the key (as a password hash is)."""

import json
from collections.abc import Sequence

from sqlalchemy import select

from thecal.clinic.implant_link_model import (
    DeliveryOutcome,
    ImplantLinkRecord,
    LinkDelivery,
    LinkKey,
)
from thecal.store import audit
from thecal.store.implant_link_schema import ImplantLinkKeyRow, ImplantLinkRow, LinkDeliveryRow
from thecal.store.repository_base import RepositoryBase


def _link(row: ImplantLinkRow) -> ImplantLinkRecord:
    return ImplantLinkRecord(row.device_id, row.patient_id, row.serial, row.host, row.port,
                             row.key_id, row.by, row.at)  # fmt: skip


def _delivery(r: LinkDeliveryRow) -> LinkDelivery:
    return LinkDelivery(r.patient_id, r.device_id, r.at, r.by, r.what,
                        DeliveryOutcome(r.outcome), r.detail,
                        tuple((str(k), str(v)) for k, v in json.loads(r.payload)),
                        r.prescription_version, r.id)  # fmt: skip


class ImplantLinkRecords(RepositoryBase):
    """Implant links, their keys and the deliveries over them."""

    def set_implant_link(self, link: ImplantLinkRecord, key: LinkKey) -> None:
        row = self.session.get(ImplantLinkRow, link.device_id)
        action = "update" if row is not None else "insert"
        if row is None:
            row = ImplantLinkRow(device_id=link.device_id)
        row.patient_id, row.serial, row.host, row.port = (link.patient_id, link.serial,
                                                          link.host, link.port)  # fmt: skip
        row.key_id, row.by, row.at = key.key_id, link.by, link.at
        self._write(action, row, "implant_link", link.device_id)
        key_row = self.session.get(ImplantLinkKeyRow, link.device_id)
        if key_row is None:
            self.session.add(ImplantLinkKeyRow(device_id=link.device_id, key_hex=key.key.hex()))
        else:
            key_row.key_hex = key.key.hex()
        self.session.flush()
        assert self._who is not None  # _write checked it
        actor, at, reason = self._who
        audit.append(self.session, actor, at, "update", "implant_link_key", link.device_id,
                     reason, {"key": "set", "key_id": key.key_id})  # fmt: skip

    def implant_link(self, device_id: str) -> ImplantLinkRecord | None:
        row = self.session.get(ImplantLinkRow, device_id)
        return None if row is None else _link(row)

    def implant_links(self) -> Sequence[ImplantLinkRecord]:
        q = select(ImplantLinkRow).order_by(ImplantLinkRow.serial, ImplantLinkRow.device_id)
        return [_link(r) for r in self.session.execute(q).scalars()]

    def implant_link_key(self, device_id: str) -> LinkKey | None:
        link = self.session.get(ImplantLinkRow, device_id)
        key = self.session.get(ImplantLinkKeyRow, device_id)
        if link is None or key is None:
            return None
        return LinkKey(link.key_id, bytes.fromhex(key.key_hex))

    def add_link_delivery(self, delivery: LinkDelivery) -> None:
        row = LinkDeliveryRow(
            id=delivery.id, patient_id=delivery.patient_id, device_id=delivery.device_id,
            at=delivery.at, by=delivery.by, what=delivery.what, outcome=delivery.outcome.value,
            detail=delivery.detail, payload=json.dumps([list(p) for p in delivery.payload]),
            prescription_version=delivery.prescription_version,
        )  # fmt: skip
        self._write("insert", row, "link_delivery", delivery.id)

    def link_deliveries_for(self, patient_id: str) -> Sequence[LinkDelivery]:
        q = (select(LinkDeliveryRow).where(LinkDeliveryRow.patient_id == patient_id)
             .order_by(LinkDeliveryRow.at, LinkDeliveryRow.id))  # fmt: skip
        return [_delivery(r) for r in self.session.execute(q).scalars()]
