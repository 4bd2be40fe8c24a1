"""A viewer reads the program and refill-wizard pages without their write forms (the POSTs
refuse a viewer too: tests/web/test_program_link.py, test_refill_wizard*)."""

from fastapi.testclient import TestClient

from thecal.api.context import AppContext

from .conftest import login


def _demo(ctx: AppContext) -> str:
    return next(p.id for p in ctx.services.patients() if p.mrn == "DEMO-0001")


def test_viewer_sees_no_program_or_refill_form(client: TestClient, ctx: AppContext) -> None:
    pid = _demo(ctx)
    login(client, "viewer")
    program = client.get(f"/patients/{pid}/program")
    assert program.status_code == 200 and "Current: prescription" in program.text
    assert (
        'action="/patients/' not in program.text and "Only a nurse or a physician" in program.text
    )
    wizard = client.get(f"/patients/{pid}/refill-wizard")
    assert (
        wizard.status_code == 200 and "Only a nurse or a physician records refills" in wizard.text
    )
    assert '<form method="post"' not in wizard.text.split("<main>")[-1]
    assert 'name="step"' not in wizard.text
    login(client, "nurse")
    assert 'name="step" value="preview"' in client.get(f"/patients/{pid}/program").text
    assert 'name="step"' in client.get(f"/patients/{pid}/refill-wizard").text
