"""The worklist page (issue 15): the overdue refills as one line linking to the calendar's
overdue list, the patients' names in one read (not one query a patient), the automatic
prompts loaded after the list (htmx; a page of their own without script), and a battery at
ERI on the worklist and the patient page with the pre-replacement checklist's link."""

from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.unit.clinic.test_interrogation_history import status
from tests.web.conftest import login
from thecal.api.context import AppContext
from thecal.clinic.workflows import pump_in_place

CHECKLIST = "/assessments/new?occasion=replacement_planning"


def _pump_at_eri(ctx: AppContext) -> tuple[str, str]:
    """DEMO-0001's pump reporting ERI: (patient id, pump id)."""
    with ctx.uow.reader() as repo:
        pid = next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, pid)
        nurse = repo.user_by_name("nurse")
    assert pump is not None and nurse is not None
    snap = {**status(pump.serial, 3.0, []), "eri_at": "2024-03-02T08:00:00"}
    ctx.services.import_interrogation(actor=nurse, patient_id=pid, serial=pump.serial,
                                      status=snap, log=[])  # fmt: skip
    return pid, pump.id


def _link(pid: str, device_id: str) -> str:
    """The checklist link as the HTML writes it (the device chosen; & escaped)."""
    return f'href="/patients/{pid}{CHECKLIST}&amp;device={device_id}"'


def test_worklist_lines_counts_and_names_in_one_read(client: TestClient, ctx: AppContext) -> None:
    pid, pump_id = _pump_at_eri(ctx)
    login(client, "nurse")
    statements: list[str] = []
    engine = ctx.uow.engine  # type: ignore[attr-defined]
    listen = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        html = client.get("/worklist").text
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    one = [s for s in statements if "FROM patients" in s and "patients.id = " in s]
    many = [s for s in statements if "FROM patients" in s and "patients.id IN " in s]
    assert len(many) == 1 and len(one) <= 1, (many, one)  # one read for every listed name
    assert "battery at ERI/EOS" in html and "REPLACEMENT-ERI" in html
    assert _link(pid, pump_id) in html
    overdue = [i for i in ctx.services.worklist() if i.kind == "refill-overdue"]
    if overdue:  # the demo's dry pumps: one counted line, the calendar's list linked
        assert html.count('href="/calendar?status=overdue"') >= 1
        assert f"{overdue[0].count:,} patient" in html
    # The automatic prompts load after the list: a placeholder here, the section with htmx.
    assert 'hx-get="/worklist/automatic"' in html
    part = client.get("/worklist/automatic", headers={"HX-Request": "true"}).text
    assert part.lstrip().startswith("<section") and "<html" not in part
    page = client.get("/worklist/automatic").text
    assert (
        "<h1>Automatic prompts</h1>" in page and "Automatic prompts from the record alone" in page
    )


def test_patient_page_shows_the_replacement_to_plan(client: TestClient, ctx: AppContext) -> None:
    pid, pump_id = _pump_at_eri(ctx)
    login(client, "nurse")
    html = client.get(f"/patients/{pid}").text
    assert "Replacement to plan" in html and "Battery at ERI" in html
    assert _link(pid, pump_id) in html
    login(client, "viewer")
    html = client.get(f"/patients/{pid}").text
    assert "Replacement to plan" in html and CHECKLIST not in html  # a viewer cannot record
