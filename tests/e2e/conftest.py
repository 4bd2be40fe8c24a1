"""A virtual implant served on 127.0.0.1 (thread, ephemeral port) with provisioned keys."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.e2e.helpers import PLAN, make_app
from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, load_source, make_server
from thecal.link.keystore import read_key_file
from thecal.link.transport import TcpListener
from thecal.units import Q_


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """(port, clinician key file, patient key file) of a served SynchroMed implant "E2E-1"."""
    runner = CliRunner()
    app = make_app()
    keys = [tmp_path / n for n in ("implant.key", "clinician.key", "patient.key")]
    res = runner.invoke(
        app,
        [
            "provision",
            "--serial",
            "E2E-1",
            "--out",
            str(keys[0]),
            "--clinician-key",
            str(keys[1]),
            "--patient-key",
            str(keys[2]),
        ],
    )
    assert res.exit_code == 0, res.output
    plan_path = tmp_path / "plan.toml"
    plan_path.write_text(PLAN.format(dose="1 mg/d", patient="[patient]\nopioid_naive = false"))
    library, catalog = load_library(), load_catalog()
    plan, _ = load_source(plan_path)
    # Test inputs (not public): SynchroMed stroke volume and critical alarm repeat.
    pump = implant_from_plan(
        plan, library, catalog, DeviceInputs("E2E-1", Q_(10, "min"), Q_(0.001, "mL"))
    )
    secret = read_key_file(keys[0], "implant")
    server = make_server(pump, library, secret.key, Q_(60, "s"))
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield listener.port, keys[1], keys[2]
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()
        assert not thread.is_alive()
