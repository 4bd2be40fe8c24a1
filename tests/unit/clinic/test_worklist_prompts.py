"""The automatic prompts' light read (clinic/worklist_prompts.py) finds what running the rules
on every device finds: on the demo clinic (alarms, refills, stimulators) with refills added
on the accuracy band's edges, and only the devices with a signal are run. The static check:
every shipped rule needs a signal on the registry alone; an institution rule on the dwell
time alone does not, and then every device is run, as before."""

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from thecal.adapters.composition import clinic_settings, stimulator_context
from thecal.adapters.data_files import example_plan, load_catalog, load_library
from thecal.adapters.decision_files import clinic_rules
from thecal.adapters.plan_files import parse_plan
from thecal.clinic import assessment_workflow
from thecal.clinic.assessment_workflow import AssessmentServices
from thecal.clinic.demo import load_demo
from thecal.clinic.demo_record import RecordingUnitOfWork
from thecal.clinic.model import DeviceKind
from thecal.clinic.worklist_prompts import candidates, needs_signal
from thecal.decision import build_rules
from thecal.units import Q_

TODAY = date(2026, 11, 23)
NOW = datetime.combine(TODAY, time(10, 0))


@pytest.fixture(scope="module")
def demo() -> RecordingUnitOfWork:
    uow = RecordingUnitOfWork()
    load_demo(uow, load_library(), load_catalog(),
              lambda name: parse_plan(example_plan(f"{name}.toml")), TODAY, 20,
              stimulation=stimulator_context())  # fmt: skip
    return uow


def _services(uow: Any) -> AssessmentServices:
    return AssessmentServices(uow, lambda: NOW, load_catalog(), clinic_settings(),
                              stimulator_context(), clinic_rules())  # fmt: skip


def _edge_refills(uow: RecordingUnitOfWork) -> list[str]:
    """A new latest refill on each SynchroMed pump in place, withdrawn on or around the
    band's edges: 14.5 % (the wider side, as the registry takes it) of 10 mL expected."""
    catalog = load_catalog()
    with uow.reader() as repo:
        pumps = [d for d in repo.devices_in_place() if d.kind is DeviceKind.PUMP]
        spec = catalog.pump(pumps[0].model)
        band = max(b for b in (spec.accuracy_over, spec.accuracy_under) if b is not None)
        last = {d.id: [r for r in repo.refills_for(d.patient_id) if r.device_id == d.id]
                for d in pumps}  # fmt: skip
    # 10 mL expected: 11.45 mL is on the edge (not above), 11.46 above, 10.725 mL is half the
    # band (clearly inside: not run), 10.73 just past half (run, and the rules decide).
    withdrawn = (10 * (1 + band), 11.46, 10 * (1 + band / 2), 10.73, 8.5, 8.54, 10.0)
    changed = []
    for d, w in zip([p for p in pumps if last[p.id]], withdrawn, strict=False):
        r = last[d.id][-1]
        new = replace(
            r,
            id=f"edge-{d.id}",
            performed_at=NOW - timedelta(hours=1),
            expected_remaining=Q_(10.0, "mL"),
            withdrawn=Q_(w, "mL"),
        )
        with uow.transaction("nina", NOW, "refill") as repo:
            repo.add_refill(new)
        changed.append(d.id)
    return changed


def test_light_read_finds_what_every_device_finds(demo, monkeypatch) -> None:
    changed = _edge_refills(demo)
    assert changed
    svc = _services(demo)
    light = {(p, d, a.urgency, tuple(f.id for f in a.fired)) for p, d, a in svc.automatic()}
    with demo.reader() as repo:
        run = candidates(repo, load_catalog(), clinic_rules())
        every = len(repo.devices_in_place())
    assert run is not None and len(run) < every  # fewer devices run than there are
    monkeypatch.setattr(assessment_workflow, "candidates", lambda *args: None)
    full = {(p, d, a.urgency, tuple(f.id for f in a.fired)) for p, d, a in svc.automatic()}
    assert light == full and light  # the same prompts, and some fire


def test_shipped_rules_need_a_signal_a_dwell_rule_does_not(demo) -> None:
    assert all(needs_signal(r.when) for r in clinic_rules())
    dwell = {"rule": [{
        "id": "X1", "title": "long dwell", "urgency": "routine", "source": "test",
        "cutoff": "test", "when": {"fact": "dwell_time", "at_or_above": "5 a"},
        "prompt": [{"code": "x", "text": "check"}],
    }]}  # fmt: skip
    rules = build_rules([("test", dwell)])
    assert not needs_signal(rules[0].when)
    with demo.reader() as repo:
        assert candidates(repo, load_catalog(), rules) is None  # every device is run
