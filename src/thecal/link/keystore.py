"""Key files: the implant secret (manufacture) and role credentials (programmers, controllers).

File I/O lives here, apart from the pure protocol. A key file is a small JSON document::

    {"format": "thecal-link-key", "version": 1,
     "kind": "implant" | "clinician" | "patient" | "remote",
     "serial": "...", "key": "<64 hex digits>"}

It is created with mode 0600 (never overwritten unless asked) and refused on reading if group
or others can access it. An implant file holds the secret; a role file holds only the role key
derived from it (:func:`thecal.link.crypto.derive_role_key`), so a patient controller's file
cannot be turned into a clinician credential.
"""

import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from thecal.link import crypto
from thecal.link.crypto import RandomBytes
from thecal.link.roles import Role

KEY_FILE_FORMAT = "thecal-link-key"
KEY_FILE_VERSION = 1
KeyKind = Literal["implant", "clinician", "patient", "remote"]
_ROLE_KIND: dict[Role, KeyKind] = {
    Role.CLINICIAN: "clinician",
    Role.PATIENT: "patient",
    Role.REMOTE: "remote",
}


class KeyFileError(Exception):
    """A key file is missing, malformed, of the wrong kind, or too widely readable."""


@dataclass(frozen=True)
class KeyFile:
    """Contents of a key file."""

    kind: KeyKind
    serial: str
    key: bytes

    @property
    def role(self) -> Role | None:
        """The role of a role credential (None for an implant secret)."""
        return {v: k for k, v in _ROLE_KIND.items()}.get(self.kind)


def _write_private(path: Path, document: dict[str, object], overwrite: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        # umask cannot widen 0600, but an overwritten file may have had wider bits.
        os.fchmod(handle.fileno(), 0o600)
        json.dump(document, handle)
        handle.write("\n")


def write_key_file(path: Path, key_file: KeyFile, *, overwrite: bool = False) -> None:
    """Write ``key_file`` to ``path`` with mode 0600."""
    crypto.encode_serial(key_file.serial)
    expected = crypto.SECRET_LEN if key_file.kind == "implant" else crypto.KEY_LEN
    if len(key_file.key) != expected:
        raise KeyFileError(f"{key_file.kind} key must be {expected} bytes")
    document: dict[str, object] = {
        "format": KEY_FILE_FORMAT,
        "version": KEY_FILE_VERSION,
        "kind": key_file.kind,
        "serial": key_file.serial,
        "key": key_file.key.hex(),
    }
    _write_private(path, document, overwrite)


def read_key_file(path: Path, expect_kind: KeyKind | None = None) -> KeyFile:
    """Read and validate a key file; refuse it if group/others have any access."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc}") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(f"{path} is accessible by group/others (mode {oct(mode & 0o777)})")
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("not an object")
        if doc.get("format") != KEY_FILE_FORMAT or doc.get("version") != KEY_FILE_VERSION:
            raise ValueError("not a thecal-link-key version 1 file")
        kind = doc["kind"]
        if kind not in ("implant", "clinician", "patient", "remote"):
            raise ValueError(f"unknown kind {kind!r}")
        serial = doc["serial"]
        if not isinstance(serial, str):
            raise ValueError("serial must be a string")
        crypto.encode_serial(serial)
        key = bytes.fromhex(doc["key"])
        if len(key) != crypto.KEY_LEN:
            raise ValueError("key must be 32 bytes")
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path}: {exc}") from exc
    if expect_kind is not None and kind != expect_kind:
        raise KeyFileError(f"{path} holds a {kind} key, expected {expect_kind}")
    return KeyFile(kind, serial, key)


def provision_implant(
    path: Path,
    serial: str,
    *,
    random_bytes: RandomBytes = secrets.token_bytes,
    overwrite: bool = False,
) -> KeyFile:
    """Create a fresh implant secret for ``serial`` and write it (0600). Manufacture step."""
    key_file = KeyFile("implant", serial, crypto.generate_secret(random_bytes))
    write_key_file(path, key_file, overwrite=overwrite)
    return key_file


def role_credential(implant: KeyFile, role: Role) -> KeyFile:
    """The role key file content for ``role``, derived from an implant secret."""
    if implant.kind != "implant":
        raise KeyFileError(f"need an implant secret, got a {implant.kind} key")
    return KeyFile(
        _ROLE_KIND[role], implant.serial, crypto.derive_role_key(implant.key, implant.serial, role)
    )


def export_role_credential(
    implant: KeyFile, role: Role, path: Path, *, overwrite: bool = False
) -> KeyFile:
    """Write the ``role`` credential for this implant to ``path`` (0600)."""
    credential = role_credential(implant, role)
    write_key_file(path, credential, overwrite=overwrite)
    return credential
