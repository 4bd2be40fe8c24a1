"""Assessment pages: a nurse records the seed 003 case 2 presentation through the form and
sees within 24 h (urgency as a status with its text), the prompts with source and because,
the statement, the latest assessments on the patient page and the open assessment on the
worklist; closing takes it off. A viewer sees no form and is refused; a bad onset shows the
form again (422) with what was typed; the checklist shows the calcification preparation."""

import re

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext

SEED_003_FORM = {
    "occasion": "visit", "interrogation": "normal",
    "symptom_weakness": "on", "onset_weakness": "2", "onset_unit_weakness": "d",
    "progressive_weakness": "on",
    "symptom_bladder": "on", "onset_bladder": "2", "onset_unit_bladder": "d",
    "symptom_sensory_change": "on", "onset_sensory_change": "3",
    "onset_unit_sensory_change": "d",
    "symptom_pain": "on", "onset_pain": "4", "onset_unit_pain": "d", "pain_place": "back",
}  # fmt: skip


def _demo(ctx: AppContext) -> tuple[str, int]:
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")
    return p.id, p.version


def test_record_seed_003_case_2_through_the_form(client: TestClient, ctx: AppContext) -> None:
    pid, version = _demo(ctx)
    login(client, "nurse")
    page = client.get(f"/patients/{pid}/assessments/new")
    assert page.status_code == 200 and "never diagnoses" in page.text
    assert "<legend>New symptoms</legend>" in page.text
    token = csrf_of(client, f"/patients/{pid}/assessments/new")
    form = {**SEED_003_FORM, "csrf": token, "patient_version": str(version)}
    bad = client.post(f"/patients/{pid}/assessments", data={**form, "onset_bladder": "soon"})
    assert bad.status_code == 422 and 'value="soon"' in bad.text and "Not saved" in bad.text
    no_csrf = client.post(f"/patients/{pid}/assessments", data={**form, "csrf": "x"})
    assert no_csrf.status_code == 403
    r = client.post(f"/patients/{pid}/assessments", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    assert url.endswith("?saved=assessment")
    result = client.get(url).text
    assert 'class="status status-hard">within 24 h</span>' in result
    assert "Assessment recorded." in result and "never diagnoses" in result
    assert "Because:" in result and "Source:" in result
    assert "catheter-tip-mass" in result and "urgent-imaging-24h" in result
    patient = client.get(f"/patients/{pid}").text
    assert "within 24 h" in patient and "No assessment recorded" not in patient
    worklist = client.get("/worklist").text
    assert "ASSESSMENT-WITHIN-24H" in worklist and "urgency within 24 h" in worklist
    assert "Automatic prompts from the record alone" in worklist
    aid = re.search(r"/assessments/([0-9a-f]{32})", url)
    assert aid is not None
    close = client.post(f"/patients/{pid}/assessments/{aid.group(1)}/close",
                        data={"csrf": token}, follow_redirects=False)  # fmt: skip
    assert close.status_code == 303
    assert "ASSESSMENT-WITHIN-24H" not in client.get("/worklist").text
    assert ctx.uow.verify_audit().ok


def test_viewer_sees_no_form_and_is_refused(client: TestClient, ctx: AppContext) -> None:
    pid, version = _demo(ctx)
    login(client, "viewer")
    page = client.get(f"/patients/{pid}/assessments/new").text
    assert "Run the rules and record" not in page and "may read assessments" in page
    token = csrf_of(client, f"/patients/{pid}")  # the session's token (the log-out form)
    form = {**SEED_003_FORM, "csrf": token, "patient_version": str(version)}
    r = client.post(f"/patients/{pid}/assessments", data=form)
    assert r.status_code == 403 and "record assessments" in r.text  # the role, not the token
    assert client.get(f"/patients/{pid}/assessments/nope").status_code == 404


def test_replacement_checklist_shows_what_the_record_gives(
    client: TestClient, ctx: AppContext
) -> None:
    pid, _ = _demo(ctx)
    login(client, "physician")
    page = client.get(f"/patients/{pid}/assessments/new?occasion=replacement_planning")
    assert page.status_code == 200 and "Pre-replacement checklist" in page.text
    assert "From the record alone" in page.text


def test_seed_001_checklist_flags_the_calcified_pocket_and_her_dialysis(
    client: TestClient, ctx: AppContext
) -> None:
    """Seed 001 (Bamps et al. 2017): the demo records her haemodialysis and CKD G5, so the
    pre-replacement checklist on the record alone fires R8 with dialysis among its reasons:
    her generator was relocated on 2016-05-09, more than 8 years before the demo's today, and
    she is on dialysis (R8: dwell >= 8 a and dialysis)."""
    with ctx.uow.reader() as repo:
        pid = next(p.id for p in repo.list_patients() if p.mrn == "SEED-001")
        details = repo.patient_details(pid)
    assert details is not None
    assert {d.label() for d in details.diagnoses} == {"dialysis", "ckd:G5"}
    login(client, "physician")
    page = client.get(f"/patients/{pid}/assessments/new?occasion=replacement_planning")
    assert page.status_code == 200 and "Pre-replacement checklist" in page.text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Calcified pocket possible" in text
    assert "frozen section" in text and "dialysis" in text
    # A stimulator: no catheter to splice.
    assert "catheter splice" not in text
