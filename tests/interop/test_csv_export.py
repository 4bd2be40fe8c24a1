"""CSV export of the registry tables and the audit log (issue 15): every table parses back
with its documented columns, quantities are lossless (number + UCUM unit, zero stays 0),
formula-like text is neutralised, the audit log is for physicians and nurses only."""

import csv
import io
import math
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.web.conftest import (  # noqa: F401 (fixtures)
    client,
    ctx,
    login,
    refill_dry_demo_pump,
    template_db,
)
from thecal.api.context import AppContext
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import User
from thecal.interop.csv_export import TABLES, cell, export_all, export_tables, number
from thecal.units import InputError


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def user(ctx: AppContext, name: str) -> User:  # noqa: F811
    with ctx.uow.reader() as repo:
        found = repo.user_by_name(name)
    assert found is not None
    return found


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_are_plain_decimals_that_read_back(x: float) -> None:
    text = number(x)
    assert "e" not in text.lower()
    assert float(text) == x


def test_cells() -> None:
    assert cell(None) == "" and cell(0.0) == "0" and cell(0) == "0"
    assert cell(True) == "true" and cell(-0.0875) == "-0.0875"  # numbers never altered
    assert cell(1e-05) == "0.00001"
    for text in ("=HYPERLINK(1)", "+1", "-1 mL", "@SUM(A1)", "\tx"):
        assert cell(text) == "'" + text  # a spreadsheet shows it as text
    assert cell("morphine 10 mg/mL") == "morphine 10 mg/mL"


def test_tables_parse_back_with_their_columns(ctx: AppContext) -> None:  # noqa: F811
    files = export_all(ctx.services, user(ctx, "nurse"))
    assert set(files) == {f"{n}.csv" for n in TABLES}
    for name, text in files.items():
        header = next(csv.reader(io.StringIO(text)))
        assert tuple(header) == TABLES[name.removesuffix(".csv")].columns
    patients = ctx.services.patients()
    assert len(rows_of(files["patients.csv"])) == len(patients)
    refills = [r for p in patients for r in ctx.services.patient_record(patient_id=p.id).refills]
    rows = {r["id"]: r for r in rows_of(files["refills.csv"])}
    assert len(rows) == len(refills)
    for r in refills:
        row = rows[r.id]
        # Lossless: the number reads back to the stored float, in the UCUM unit beside it.
        for name in ("expected_remaining", "withdrawn", "discrepancy", "filled"):
            q = getattr(r, name).to("mL")
            assert float(row[name]) == float(q.magnitude) and row[f"{name}_unit"] == "mL"
        # The discrepancy is withdrawn − expected (e.g. 4.6 − 4.6875 = −0.0875 mL).
        assert math.isclose(float(row["discrepancy"]),
                            float(row["withdrawn"]) - float(row["expected_remaining"]),
                            abs_tol=1e-9)  # fmt: skip
    audit = rows_of(files["audit.csv"])
    assert audit and all(a["seq"].isdigit() for a in audit)


def test_zero_stays_zero(ctx: AppContext) -> None:  # noqa: F811
    refill_dry_demo_pump(ctx)  # a refill with 0 mL withdrawn (the pump had run dry)
    rows = rows_of(export_tables(ctx.services, user(ctx, "nurse"), ["refills"])["refills.csv"])
    assert any(r["withdrawn"] == "0" and r["withdrawn_unit"] == "mL" for r in rows)


def test_audit_log_for_physicians_and_nurses_only(ctx: AppContext) -> None:  # noqa: F811
    viewer = user(ctx, "viewer")
    with pytest.raises(PermissionDenied):
        export_tables(ctx.services, viewer, ["audit"])
    assert "audit.csv" not in export_all(ctx.services, viewer)
    with pytest.raises(InputError) as err:
        export_tables(ctx.services, viewer, ["passwords"])
    assert err.value.field == "table"


def test_api_csv_download(client: TestClient) -> None:  # noqa: F811
    assert client.get("/api/v1/reports/csv/refills").status_code == 401
    login(client, "viewer")
    r = client.get("/api/v1/reports/csv/refills")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="refills.csv"' in r.headers["content-disposition"]
    assert rows_of(r.text)
    assert client.get("/api/v1/reports/csv/audit").status_code == 403
    bad = client.get("/api/v1/reports/csv/passwords")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "table"


def test_cli_export_csv(template_db: Path, tmp_path: Path) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from thecal.cli.main import app

    db = tmp_path / "clinic.sqlite3"
    shutil.copy(template_db, db)
    url = f"sqlite:///{db}"
    out = tmp_path / "csv"
    out.mkdir()
    runner = CliRunner()
    done = runner.invoke(app, ["export", "csv", "--out", str(out), "--user", "nurse",
                               "--database-url", url])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert {p.name for p in out.iterdir()} == {f"{n}.csv" for n in TABLES}
    # Refused: exit 2 naming the field, nothing written, no staging folder left behind.
    empty = tmp_path / "empty"
    empty.mkdir()
    for args, field in ((["--table", "bogus"], "table"), (["--table", "audit"], "user.role")):
        user_name = "viewer" if field == "user.role" else "nurse"
        done = runner.invoke(app, ["export", "csv", "--out", str(empty), "--user", user_name,
                                   "--database-url", url, *args])  # fmt: skip
        assert done.exit_code == 2 and field in done.output, done.output
        assert list(empty.iterdir()) == []
    done = runner.invoke(app, ["export", "csv", "--out", str(tmp_path / "nope"), "--user",
                               "nurse", "--database-url", url])  # fmt: skip
    assert done.exit_code == 2 and "--out" in done.output
