"""Implant links in the in-memory repository (see :mod:`thecal.clinic.memory`)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from thecal.clinic.implant_link_model import ImplantLinkRecord, LinkDelivery, LinkKey


@dataclass
class LinkState:
    links: dict[str, ImplantLinkRecord] = field(default_factory=dict)
    keys: dict[str, LinkKey] = field(default_factory=dict)
    deliveries: list[LinkDelivery] = field(default_factory=list)


class MemoryImplantLinks:
    """The :class:`~thecal.clinic.implant_link_model.ImplantLinkRecords` part of the memory
    repository; ``_s.links`` is its state, ``_audit`` the repository's audit."""

    _s: Any

    def _audit(self, action: str, entity: str, entity_id: str) -> None:
        raise NotImplementedError  # the repository's

    def set_implant_link(self, link: ImplantLinkRecord, key: LinkKey) -> None:
        state: LinkState = self._s.links
        action = "update" if link.device_id in state.links else "insert"
        state.links[link.device_id] = link
        state.keys[link.device_id] = key
        self._audit(action, "implant_link", link.device_id)

    def implant_link(self, device_id: str) -> ImplantLinkRecord | None:
        links: dict[str, ImplantLinkRecord] = self._s.links.links
        return links.get(device_id)

    def implant_links(self) -> Sequence[ImplantLinkRecord]:
        links: dict[str, ImplantLinkRecord] = self._s.links.links
        return sorted(links.values(), key=lambda x: (x.serial, x.device_id))

    def implant_link_key(self, device_id: str) -> LinkKey | None:
        keys: dict[str, LinkKey] = self._s.links.keys
        return keys.get(device_id)

    def add_link_delivery(self, delivery: LinkDelivery) -> None:
        self._s.links.deliveries.append(delivery)
        self._audit("insert", "link_delivery", delivery.id)

    def link_deliveries_for(self, patient_id: str) -> Sequence[LinkDelivery]:
        deliveries: list[LinkDelivery] = self._s.links.deliveries
        return sorted((d for d in deliveries if d.patient_id == patient_id),
                      key=lambda d: (d.at, d.id))  # fmt: skip
