"""The worklist's light reads in the in-memory repository (see
:mod:`thecal.clinic.worklist_ports`), from the same state as the full reads."""

from collections.abc import Collection, Sequence

from thecal.clinic.errors import NotFoundError
from thecal.clinic.model import Device, DeviceKind, Interrogation, Patient, RefillRecord
from thecal.clinic.worklist_ports import RefillFindings, RefillVolumes


class MemoryWorklistReads:
    """Mixed into :class:`~thecal.clinic.memory.MemoryRepository`."""

    def latest_refills(self) -> Sequence[RefillRecord]:
        raise NotImplementedError  # the repository's

    def devices_in_place(self) -> Sequence[Device]:
        raise NotImplementedError  # the repository's

    def get_patient(self, patient_id: str) -> Patient:
        raise NotImplementedError  # the repository's

    def refills_for(self, patient_id: str) -> Sequence[RefillRecord]:
        raise NotImplementedError  # the repository's

    def latest_interrogations(self) -> Sequence[Interrogation]:
        raise NotImplementedError  # the repository's

    def interrogations_for(self, patient_id: str) -> Sequence[Interrogation]:
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

    def latest_refill_volumes(self) -> Sequence[RefillVolumes]:
        out: list[RefillVolumes] = []
        for d in self.devices_in_place():
            if d.kind not in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP):
                continue
            mine = [r for r in self.refills_for(d.patient_id) if r.device_id == d.id]
            if mine:
                last = mine[-1]
                out.append(RefillVolumes(d.patient_id, d.id, d.model, last.expected_remaining,
                                         last.withdrawn))  # fmt: skip
        return out

    def patients_with_interrogation_findings(self) -> Collection[str]:
        patients = {i.patient_id for i in self.latest_interrogations()}
        return {p for p in patients if any(i.findings for i in self.interrogations_for(p))}
