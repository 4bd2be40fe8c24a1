"""Builders for safety-gate tests: a proposal in one line."""

from datetime import datetime, time

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.findings import Code
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import Patient, PreviousProgram, ProgramProposal
from thecal.therapy.safety_gate import GateResult
from thecal.therapy.schedule import PatientBolus, Schedule, continuous, day_program, weekly
from thecal.units import Q_

AT = datetime(2026, 11, 23, 9, 0)


def mix(library: DrugLibrary, *pairs: tuple[str, str]) -> Admixture:
    return make_admixture([(library.get(d), Q_(c)) for d, c in pairs])


def daily(admixture: Admixture, drug: str, dose: str) -> Schedule:
    """Continuous schedule delivering ``dose`` (mass/d) of ``drug``."""
    return Schedule(continuous(admixture.flow_for(drug, Q_(dose))))


def flex(*steps: tuple[str, str]) -> Schedule:
    parsed = [(time.fromisoformat(t), Q_(r)) for t, r in steps]
    return Schedule(weekly({}, day_program(parsed)))


def program(
    catalog: DeviceCatalog,
    admixture: Admixture,
    schedule: Schedule,
    *,
    pump: str = "SynchroMed II 8637-20",
    patient: Patient | None = None,
    bolus: PatientBolus | None = None,
    previous: PreviousProgram | None = None,
    **kw: object,
) -> ProgramProposal:
    # Without a previous program the gate tests mean a start (pass start=... to say otherwise).
    kw.setdefault("start", previous is None)
    return ProgramProposal(
        admixture,
        schedule,
        catalog.pump(pump),
        AT,
        patient or Patient(opioid_naive=False),
        bolus,
        previous,
        **kw,  # type: ignore[arg-type]
    )


def codes(result: GateResult) -> list[str]:
    return [f.code.value for f in result.findings]


def finding(result: GateResult, code: Code):  # type: ignore[no-untyped-def]
    matches = [f for f in result.findings if f.code is code]
    assert matches, f"{code} not in {codes(result)}"
    return matches[0]
