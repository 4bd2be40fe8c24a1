"""Key files: 0600 on creation, refused when too open, role credentials usable in a handshake."""

import os
import stat
from pathlib import Path

import pytest

from tests.unit.link.helpers import make_link
from thecal.link import Role
from thecal.link.keystore import (
    KeyFileError,
    export_role_credential,
    provision_implant,
    read_key_file,
    role_credential,
)


def test_provision_writes_private_file_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "implant.key"
    made = provision_implant(path, "TH-0001")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path, "implant") == made
    assert len(made.key) == 32 and made.role is None


def test_provision_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "implant.key"
    provision_implant(path, "TH-0001")
    with pytest.raises(KeyFileError):
        provision_implant(path, "TH-0001")


def test_world_readable_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "implant.key"
    provision_implant(path, "TH-0001")
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="group/others"):
        read_key_file(path)


def test_wrong_kind_and_malformed_refused(tmp_path: Path) -> None:
    implant = provision_implant(tmp_path / "implant.key", "TH-0001")
    patient = export_role_credential(implant, Role.PATIENT, tmp_path / "ptm.key")
    assert patient.role is Role.PATIENT
    with pytest.raises(KeyFileError, match="expected clinician"):
        read_key_file(tmp_path / "ptm.key", "clinician")
    with pytest.raises(KeyFileError):
        role_credential(patient, Role.CLINICIAN)  # a role key cannot mint another role
    bad = tmp_path / "bad.key"
    bad.write_text('{"format": "thecal-link-key", "version": 1, "kind": "implant"}')
    bad.chmod(0o600)
    with pytest.raises(KeyFileError):
        read_key_file(bad)
    with pytest.raises(KeyFileError):
        read_key_file(tmp_path / "missing.key")


def test_exported_credential_completes_a_handshake(tmp_path: Path) -> None:
    # The implant in make_link uses the helpers' SECRET; provision deterministically to match.
    from tests.unit.link.helpers import SECRET, SERIAL

    implant = provision_implant(tmp_path / "i.key", SERIAL, random_bytes=lambda n: SECRET[:n])
    cred = export_role_credential(implant, Role.CLINICIAN, tmp_path / "cp.key")
    link = make_link(Role.CLINICIAN, client_key=read_key_file(tmp_path / "cp.key").key)
    link.handshake()
    assert cred.serial == SERIAL and link.server.role is Role.CLINICIAN
