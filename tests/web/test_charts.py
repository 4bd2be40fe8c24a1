"""Patient-page charts: the SVG routes and the plotted numbers against the therapy core."""

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.e2e.helpers import PLAN
from tests.web.conftest import login
from thecal.adapters.plan_files import parse_plan
from thecal.api.context import AppContext
from thecal.clinic.program_history import ProgramsSinceFill
from thecal.therapy.plan import resolve
from thecal.therapy.reservoir import Fill, ScheduleChange, expected_volume
from thecal.units import Q_
from thecal.web.charts import refill_history_svg, reservoir_projection, reservoir_svg


def _plan() -> dict[str, object]:
    import tomllib

    return tomllib.loads(PLAN.format(dose="1 mg/d", patient=""))


def test_projection_end_matches_expected_volume(ctx: AppContext) -> None:
    resolved = resolve(parse_plan(_plan()).to_typed(), ctx.library, ctx.catalog)
    fill = Fill(Q_(20.0, "mL"), datetime(2024, 1, 1, 8))
    end = fill.at + timedelta(days=30)
    p = reservoir_projection(resolved, fill, ctx.library, end)
    assert p.times[0] == fill.at and p.times[-1] == end
    last = float(p.volumes.to("mL").magnitude[-1])
    core = expected_volume(fill, resolved.schedule, end).volume
    assert last == float(core.to("mL").magnitude)
    # Hand-checked: 1 mg/d of 10 mg/mL morphine = 0.1 mL/d; 20 mL − 30 d × 0.1 mL/d = 17 mL
    # (rel 1e-3 allows the pump's rate rounding).
    assert last == pytest.approx(17.0, rel=1e-3)
    assert float(p.volumes.to("mL").magnitude[0]) == 20.0
    assert p.threshold == Q_(2.0, "mL")  # the plan's low_reservoir_alarm
    svg = reservoir_svg(p)
    assert ET.fromstring(svg).tag.endswith("svg")


def test_projection_default_end_reaches_the_refill_date(ctx: AppContext) -> None:
    resolved = resolve(parse_plan(_plan()).to_typed(), ctx.library, ctx.catalog)
    fill = Fill(Q_(20.0, "mL"), datetime(2024, 1, 1, 8))
    p = reservoir_projection(resolved, fill, ctx.library)
    assert p.forecast.refill_by is not None and p.times[-1] >= p.forecast.refill_by
    # Monotone: the reservoir only empties.
    volumes = list(p.volumes.to("mL").magnitude)
    assert all(b <= a for a, b in itertools.pairwise(volumes))


def test_projection_follows_a_titration_since_the_fill(ctx: AppContext) -> None:
    import tomllib

    slow = resolve(parse_plan(_plan()).to_typed(), ctx.library, ctx.catalog)  # 0.1 mL/d
    fast_plan = parse_plan(tomllib.loads(PLAN.format(dose="2 mg/d", patient="")))
    fast = resolve(fast_plan.to_typed(), ctx.library, ctx.catalog)  # 0.2 mL/d
    fill = Fill(Q_(20.0, "mL"), datetime(2024, 1, 1, 8))
    change = ScheduleChange(fill.at + timedelta(days=10), fast.schedule)
    since = ProgramsSinceFill(slow.schedule, slow.admixture, (change,), ())
    end = fill.at + timedelta(days=30)
    p = reservoir_projection(fast, fill, ctx.library, end, since=since)
    # 20 − 10 d × 0.1 − 20 d × 0.2 = 15 mL (the fast program since the fill would say 14 mL);
    # rel 1e-3 for the pump's rate rounding.
    assert float(p.volumes.to("mL").magnitude[-1]) == pytest.approx(15.0, rel=1e-3)
    plain = reservoir_projection(fast, fill, ctx.library, end)
    assert float(plain.volumes.to("mL").magnitude[-1]) == pytest.approx(14.0, rel=1e-3)
    # The forecast counts the slow days too: a later refill date than the fast program alone.
    assert p.forecast.refill_by is not None and plain.forecast.refill_by is not None
    assert p.forecast.refill_by > plain.forecast.refill_by


def _patient_with_refills(client: TestClient) -> str:
    html = client.get("/").text
    ids = dict.fromkeys(re.findall(r'href="/patients/([0-9a-f]+)"', html))
    for pid in ids:
        if "charts/refills.svg" in client.get(f"/patients/{pid}").text:
            return pid
    raise AssertionError("no patient with refills")


def test_chart_routes_return_svg(client: TestClient) -> None:
    login(client, "viewer")
    pid = _patient_with_refills(client)
    page = client.get(f"/patients/{pid}").text
    assert f"/patients/{pid}/charts/reservoir.svg" in page
    for name in ("reservoir.svg", "refills.svg"):
        r = client.get(f"/patients/{pid}/charts/{name}")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert ET.fromstring(r.text).tag.endswith("svg")


def test_chart_needs_login(client: TestClient) -> None:
    r = client.get("/patients/x/charts/refills.svg", follow_redirects=False)
    assert r.status_code == 303


def test_refill_history_marks_findings(ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        refills = next(
            rs for p in repo.list_patients() if (rs := list(repo.refills_for(p.id)))
            and any(r.findings for r in rs)
        )  # fmt: skip
    svg = refill_history_svg(refills)
    code = next(f.code for r in refills for f in r.findings)
    assert code in svg  # the finding's code is written beside its refill
