"""``thecal clinic patient|device|procedure|complication|import-csv`` on an SQLite file: JSON
output, field-named refusals (exit 2, nothing written), a viewer refused, and the CSV import
all or nothing with every bad row listed by line and field."""

import json
from datetime import datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from thecal.cli import clinic
from thecal.clinic.model import Role, User
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork

app = typer.Typer()
app.add_typer(clinic.clinic_app, name="clinic")
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    with SqlUnitOfWork(engine).transaction("setup", datetime(2024, 1, 1), "users") as repo:
        repo.add_user(User("paul", "Dr Paul", Role.PHYSICIAN))
        repo.add_user(User("vera", "Vera Viewer", Role.VIEWER))
    engine.dispose()
    return {"THECAL_DATABASE_URL": url, "THECAL_USER": "paul"}


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["clinic", *args], env=env)
    return result.exit_code, result.output


def add(env: dict[str, str], mrn: str = "R-1", name: str = "Synthetic Ada", *extra: str):  # type: ignore[no-untyped-def]
    return run(
        env,
        "patient",
        "add",
        "--mrn",
        mrn,
        "--name",
        name,
        "--dob",
        "1961-05-04",
        "--sex",
        "female",
        "--diagnosis",
        "ckd:G4",
        "--diagnosis",
        "dialysis",
        "--json",
        *extra,
    )


def test_patient_device_procedure_complication(env: dict[str, str]) -> None:
    code, out = add(env)
    assert code == 0, out
    made = json.loads(out)
    assert made["diagnoses"] == ["ckd:G4", "dialysis"] and made["sex"] == "female"
    code, out = run(
        env,
        "device",
        "add",
        "r-1",
        "--on",
        "2024-01-02",
        "--json",
        "--place",
        "kind=pump,model=SynchroMed II 8637-20,serial=S1,pocket_side=left",
        "--place",
        "kind=catheter,model=Prometra catheter,length=45 cm,tip_level=t10",
    )
    assert code == 2, out  # MRN is exact: "r-1" is not "R-1"
    code, out = run(
        env,
        "device",
        "add",
        "R-1",
        "--on",
        "2024-01-02",
        "--json",
        "--place",
        "kind=pump,model=SynchroMed II 8637-20,serial=S1,pocket_side=left",
        "--place",
        "kind=catheter,model=Prometra catheter,length=45 cm,tip_level=t10",
    )
    assert code == 0, out
    pump, cath = json.loads(out)["placed"]
    # 45 cm x 0.0026 mL/cm = 0.117 mL (Prometra catheter labelling)
    assert cath["tip_level"] == "T10" and cath["volume"]["value"] == pytest.approx(0.117)
    code, out = run(
        env,
        "procedure",
        "add",
        "R-1",
        "--kind",
        "replacement",
        "--on",
        "2024-02-01",
        "--remove",
        pump["id"],
        "--place",
        "kind=pump,model=SynchroMed II 8637-40,serial=S2,pocket_side=right",
    )
    assert code == 0, out
    code, out = run(env, "complication", "add", "R-1", "--code", "seroma", "--on", "2024-02-03")
    assert code == 0, out
    code, out = run(env, "patient", "show", made["id"], "--json")
    shown = json.loads(out)
    assert [p["kind"] for p in shown["procedures"]] == ["implant", "replacement"]
    assert sum(d["removed_on"] is None for d in shown["devices"]) == 2  # new pump, catheter
    assert shown["complications"][0]["code"] == "seroma"
    code, out = run(env, "patient", "show", "R-1")
    assert code == 0 and "SynchroMed II 8637-40" in out


def test_refusals_name_the_field_and_write_nothing(env: dict[str, str]) -> None:
    code, out = add(env, "R-1", "Ada", "--user", "vera")
    assert code == 2 and "user.role" in out
    code, out = run(
        env,
        "patient",
        "add",
        "--mrn",
        "R-2",
        "--name",
        "Bo",
        "--dob",
        "1961-13-01",
        "--sex",
        "male",
    )
    assert code == 2 and "patient.date_of_birth" in out
    code, out = add(env, "R-3", "Cy", "--user", "nobody")
    assert code == 2 and "user" in out
    add(env, "R-4", "Di")
    code, out = run(
        env,
        "device",
        "add",
        "R-4",
        "--on",
        "2024-01-02",
        "--place",
        "kind=catheter,model=Prometra catheter,length=111 cm,tip_level=T10",
    )
    assert code == 2 and "--place[0].length" in out
    code, out = run(env, "patient", "list", "--json")
    listed = json.loads(out)
    assert listed["total"] == 1 and listed["patients"][0]["mrn"] == "R-4"
    code, out = run(env, "patient", "show", "R-4", "--json")
    assert json.loads(out)["devices"] == []


def test_search_and_paging(env: dict[str, str]) -> None:
    for i, name in enumerate(["Ada Smith", "Bob SMITHSON", "Cy Jones"]):
        add(env, f"M-{i}", name)
    code, out = run(env, "patient", "search", "smith", "--json")
    assert [p["mrn"] for p in json.loads(out)["patients"]] == ["M-0", "M-1"]
    code, out = run(env, "patient", "list", "--limit", "1", "--offset", "2", "--json")
    page = json.loads(out)
    assert page["total"] == 3 and [p["mrn"] for p in page["patients"]] == ["M-2"]
    assert run(env, "patient", "list", "--limit", "0")[0] == 2
    code, out = run(env, "patient", "search", "jones")
    assert code == 0 and "Cy Jones" in out


HEADER = "mrn,name,date_of_birth,sex,diagnoses,implanted_on,pump_model,pocket_side,pump_serial,catheter_model,catheter_length,tip_level\n"  # noqa: E501


def test_import_csv_all_or_nothing(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "A-1,Ada,1961-05-04,female,ckd:G3a,2020-01-02,SynchroMed II 8637-20,left,S1,"
        "Prometra catheter,45 cm,T10\n"
        + "A-2,Bob,1950-01-01,male,,,,,,,,\n"
        + "A-3,Cy,1950-01-01,x,,,,,,,,\n"  # line 4: sex
        + "A-4,Di,1950-01-01,female,,2020-01-02,SynchroMed II 8637-20,left,S2,"
        "Prometra catheter,45 cm,T13\n"  # line 5: tip level
         + "A-1,Eve,1950-01-01,female,,,,,,,,\n",  # line 6: MRN twice
        encoding="utf-8",
    )
    result = runner.invoke(app, ["clinic", "import-csv", str(bad)], env=env)
    assert result.exit_code == 2
    assert "line 4: patient.sex" in result.output
    assert "line 5: catheter.tip_level" in result.output
    assert "line 6: mrn" in result.output
    assert json.loads(run(env, "patient", "list", "--json")[1])["total"] == 0
    code, out = run(env, "import-csv", str(bad), "--json")
    assert code == 2 and {e["line"] for e in json.loads(out)["errors"]} == {4, 5, 6}

    good = tmp_path / "good.csv"
    good.write_text("\n".join(bad.read_text().splitlines()[:3]) + "\n", encoding="utf-8")
    code, out = run(env, "import-csv", str(good), "--json")
    assert code == 0 and json.loads(out)["imported"] == 2, out
    shown = json.loads(run(env, "patient", "show", "A-1", "--json")[1])
    assert [d["kind"] for d in shown["devices"]] in (["pump", "catheter"], ["catheter", "pump"])
    code, out = run(env, "import-csv", str(good))  # again: the MRNs are taken now
    assert code == 2 and "line 2: mrn" in out and "line 3: mrn" in out
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("mrn,name,dob,sex\n", encoding="utf-8")
    code, out = run(env, "import-csv", str(wrong))
    assert code == 2 and "csv.header" in out


STIM_HEADER = ("mrn,name,date_of_birth,sex,ipg_model,ipg_serial,ipg_implanted_on,ipg_pocket_side,"
               "lead1_model,lead1_serial,lead1_kind,lead1_contacts,lead2_model,lead2_kind,"
               "lead2_contacts\n")  # fmt: skip


def test_import_csv_stimulator_patients(env: dict[str, str], tmp_path: Path) -> None:
    """An existing registry's stimulator patients: the IPG and its leads, all or nothing."""
    bad = tmp_path / "stim.csv"
    bad.write_text(
        STIM_HEADER
        + "S-1,Sam,1960-01-01,male,Proclaim XR,IPG-9,2024-03-04,left,Octrode,LA-1,percutaneous,8,"
        "Penta,paddle,20\n"
        + "S-2,Sue,1961-01-01,female,Proclaim XR,,2024-03-04,right,Octrode,,ring,8,,,\n",
        encoding="utf-8",
    )
    code, out = run(env, "import-csv", str(bad), "--json")
    assert code == 2 and json.loads(out)["errors"] == [
        {"line": 3, "field": "lead1_kind", "message": "got 'ring' (expected one of: "
         "percutaneous, paddle)"}
    ]  # fmt: skip
    assert json.loads(run(env, "patient", "list", "--json")[1])["total"] == 0  # nothing written
    good = tmp_path / "good.csv"
    good.write_text("\n".join(bad.read_text().splitlines()[:2]) + "\n", encoding="utf-8")
    code, out = run(env, "import-csv", str(good), "--json")
    assert code == 0 and json.loads(out)["imported"] == 1, out
    shown = json.loads(run(env, "patient", "show", "S-1", "--json")[1])
    devices = sorted((d["kind"], d["model"], d["serial"]) for d in shown["devices"])
    assert devices == [("lead", "Octrode", "LA-1"), ("lead", "Penta", ""),
                       ("stimulator", "Proclaim XR", "IPG-9")]  # fmt: skip


def test_update_keeps_what_is_not_given_and_refuses_a_stale_version(env: dict[str, str]) -> None:
    made = json.loads(add(env)[1])
    code, out = run(
        env,
        "patient",
        "update",
        "R-1",
        "--version",
        str(made["version"]),
        "--name",
        "Ada Renamed",
        "--json",
    )
    assert code == 0, out
    after = json.loads(out)
    assert after["name"] == "Ada Renamed" and after["diagnoses"] == ["ckd:G4", "dialysis"]
    assert after["version"] == made["version"] + 1
    code, out = run(
        env,
        "patient",
        "update",
        "R-1",
        "--version",
        str(made["version"]),
        "--diagnosis",
        "diabetes",
    )
    assert code == 2 and "patient.version" in out
    code, out = run(
        env, "patient", "update", "R-1", "--version", str(after["version"]), "--sex", "x"
    )
    assert code == 2 and "patient.sex" in out
