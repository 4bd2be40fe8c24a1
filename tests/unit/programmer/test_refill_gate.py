"""The clinician programmer's refill goes through the gate (the one refill assessment): a hard
finding refuses it and a soft one needs a reason, before anything is sent to the implant; its
findings are the gate's for the refill it built. The rig: SynchroMed II 40 mL filled with 20 mL
of morphine 10 mg/mL at 0.5 mL/d, 2 mL alarm, patient boluses; the opioid status unrecorded."""

from datetime import timedelta
from typing import Any

import pytest

from tests.unit.programmer.helpers import rig
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.implant import SimulatedPump
from thecal.therapy.findings import Code, OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.therapy.safety_gate import check
from thecal.units import Q_

REASON = "opioid-tolerant, per the referral letter"


def _refills(dev: SimulatedPump) -> int:
    return sum(1 for e in dev.events(0) if e.kind is EventKind.REFILL)


def _clinician(r: Any, library: DrugLibrary, catalog: DeviceCatalog) -> Any:
    return r.clinician(library, catalog)


def test_programmer_refill_refused_on_a_hard_finding(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        before = _refills(r.dev)
        # 45 mL out of a 40 mL reservoir (+ 1 mL tolerance = 41 mL): a misreading; no reason
        # can override it and nothing reaches the implant.
        with pytest.raises(OverrideError, match="REFILL-WITHDRAWN-OVER-CAPACITY"):
            c.refill(Q_("45 mL"), Q_("20 mL"), {"PTB-OPIOID-STATUS-UNKNOWN": REASON})
        assert _refills(r.dev) == before


def test_programmer_refill_needs_reasons_and_gives_the_gates_findings(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        c = _clinician(r, library, catalog)
        before = _refills(r.dev)
        # The implant expects 20 mL (no time has passed); 17 mL withdrawn is 3 mL less, above
        # the 2 mL discrepancy threshold: soft, as is the unrecorded opioid status.
        with pytest.raises(OverrideError, match="PTB-OPIOID-STATUS-UNKNOWN, REFILL-DISCREPANCY"):
            c.refill(Q_("17 mL"), Q_("20 mL"))
        with pytest.raises(OverrideError, match="REFILL-DISCREPANCY"):
            c.refill(Q_("17 mL"), Q_("20 mL"), {"PTB-OPIOID-STATUS-UNKNOWN": REASON})
        assert _refills(r.dev) == before
        reasons = {"PTB-OPIOID-STATUS-UNKNOWN": REASON, "REFILL-DISCREPANCY": "re-aspirated"}
        report = c.refill(Q_("17 mL"), Q_("20 mL"), reasons)
        assert _refills(r.dev) == before + 1
        a = report.assessment
        assert a is not None and a.expected is not None and a.expected.from_device
        assert report.findings == check(a.proposal, library).findings
        assert {f.code for f in a.needs_reason} == {
            Code.OPIOID_STATUS_UNKNOWN,
            Code.DISCREPANCY_ABOVE_THRESHOLD,
        }
        # 20 mL expected − 17 mL withdrawn: 3 mL less left than expected.
        assert a.discrepancy is not None
        assert a.discrepancy.discrepancy.to("mL").magnitude == pytest.approx(-3.0, abs=1e-6)
        assert report.forecast is a.forecast and a.forecast is not None


def test_programmer_refill_after_the_pump_ran_empty_flags_the_restart(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        # 20 mL at 0.5 mL/d runs dry after 40 d; the refill comes at 50 d: about 10 d without
        # morphine. The implant's empty-reservoir alarm dates the interruption.
        r.dev.advance(r.dev.now + timedelta(days=50))
        c = _clinician(r, library, catalog)  # connected now: commands carry the implant's time
        filled_at = r.dev.now - timedelta(days=50)
        with pytest.raises(OverrideError, match="RESTART-TOLERANCE"):
            c.refill(Q_("0 mL"), Q_("20 mL"), {"PTB-OPIOID-STATUS-UNKNOWN": REASON})
        reasons = {"PTB-OPIOID-STATUS-UNKNOWN": REASON, "RESTART-TOLERANCE": "restart at 1 mg/d"}
        a = c.refill(Q_("0 mL"), Q_("20 mL"), reasons).assessment
        assert a is not None and a.expected is not None and a.expected.ran_empty_at is not None
        # Empty at 20 mL ÷ 0.5 mL/d = 40 d after the fill (the alarm within a stroke of it).
        empty = filled_at + timedelta(days=40)
        assert abs((a.expected.ran_empty_at - empty).total_seconds()) < 3600
        assert Code.RESTART_AFTER_INTERRUPTION in {f.code for f in a.findings}
