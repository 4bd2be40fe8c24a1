"""The clinician programmer checks a program against what this session's refill put in the
reservoir, and the interrogated pump model (issue 10). Unsourced numbers are test inputs."""

from tests.unit.implant.helpers import morphine, simple_program
from tests.unit.programmer.helpers import rig
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_


def test_program_must_match_the_concentration_just_filled(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = r.clinician(library, catalog)
        c.refill(
            # Doubling the concentration at the same rate doubles the dose until the program is
            # rewritten (+100 % > 50 %): the refill goes through the gate and needs reasons.
            Q_("19 mL"), Q_("20 mL"),
            {"TITR-PERCENT-MAX": "program rewritten next", "PTB-OPIOID-STATUS-UNKNOWN": "tolerant"},
            new_admixture=morphine(library, "20 mg/mL"),
            catheter_volume=Q_("0.2 mL"), internal_volume=Q_("0.25 mL"),  # test inputs
        )  # fmt: skip
        # The reservoir now holds 20 mg/mL: a program still written for 10 mg/mL is refused.
        stale = c.prepare_program(simple_program(morphine(library, "10 mg/mL"), "0.25 mL/d"))
        f = next(f for f in stale.findings if f.code is Code.RESERVOIR_ADMIXTURE_MISMATCH)
        assert f.level is Level.HARD
        # 0.25 mL/d × 10 mg/mL = 2.5 mg/d programmed; × 20 mg/mL = 5 mg/d delivered.
        assert "morphine 5 mg/d instead of 2.5 mg/d" in f.message
        fresh = c.prepare_program(simple_program(morphine(library, "20 mg/mL"), "0.25 mL/d"))
        codes = {f.code for f in fresh.findings}
        assert Code.RESERVOIR_ADMIXTURE_MISMATCH not in codes
        assert Code.PUMP_MODEL_MISMATCH not in codes  # the interrogated model is the spec's
        assert Code.PREVIOUS_PROGRAM_UNKNOWN not in codes  # the implant's program is previous
