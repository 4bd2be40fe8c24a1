"""The worklist's light reads in the in-memory repository (see
:mod:`thecal.clinic.worklist_ports`), from the same state as the full reads."""

from collections.abc import Collection, Sequence

from thecal.clinic.errors import NotFoundError
from thecal.clinic.model import Device, DeviceKind, Patient, RefillRecord
from thecal.clinic.worklist_ports import RefillFindings


class MemoryWorklistReads:
    """Mixed into :class:`~thecal.clinic.memory.MemoryRepository`."""

    def latest_refills(self) -> Sequence[RefillRecord]:
        raise NotImplementedError  # the repository's

    def devices_in_place(self) -> Sequence[Device]:
        raise NotImplementedError  # the repository's

    def get_patient(self, patient_id: str) -> Patient:
        raise NotImplementedError  # the repository's

    def latest_refill_findings(self) -> Sequence[RefillFindings]:
        return [RefillFindings(r.patient_id, r.id, r.performed_at, r.findings)
                for r in self.latest_refills() if r.findings]  # fmt: skip

    def stimulators_in_place(self) -> Sequence[Device]:
        return [d for d in self.devices_in_place() if d.kind is DeviceKind.STIMULATOR]

    def patient_names(self, patient_ids: Collection[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        for pid in patient_ids:
            try:
                names[pid] = self.get_patient(pid).display_name
            except NotFoundError:
                continue
        return names
