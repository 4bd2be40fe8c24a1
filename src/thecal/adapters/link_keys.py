"""A clinician key file's text (uploaded in a form or sent to the API) read with the same
checks as :func:`thecal.link.keystore.read_key_file`, apart from the file mode."""

import hashlib
import json

from thecal.link import crypto
from thecal.link.keystore import KEY_FILE_FORMAT, KEY_FILE_VERSION, KeyFile
from thecal.units import InputError

MAX_KEY_DOCUMENT = 4096
"""Bytes: a key file is about 170 (format, version, kind, serial, 64 hex digits)."""


def parse_clinician_key(text: str, field: str = "implant_link.key_file") -> KeyFile:
    """The clinician key in ``text`` (a ``thecal-link-key`` version 1 JSON document of kind
    "clinician"). :class:`InputError` naming ``field`` otherwise; the key is never echoed."""
    if len(text.encode("utf-8", "replace")) > MAX_KEY_DOCUMENT:
        raise InputError(field, f"is larger than {MAX_KEY_DOCUMENT} bytes", "a clinician key file")
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if doc.get("format") != KEY_FILE_FORMAT or doc.get("version") != KEY_FILE_VERSION:
            raise ValueError("not a thecal-link-key version 1 file")
        if doc.get("kind") != "clinician":
            raise ValueError(f"holds a {doc.get('kind')!r} key, not a clinician key")
        serial = doc.get("serial")
        if not isinstance(serial, str):
            raise ValueError("serial must be a string")
        crypto.encode_serial(serial)
        hexkey = doc.get("key")
        if not isinstance(hexkey, str):
            raise ValueError("key must be hex digits")
        key = bytes.fromhex(hexkey)
        if len(key) != crypto.KEY_LEN:
            raise ValueError(f"key must be {crypto.KEY_LEN} bytes")
    except (ValueError, TypeError) as exc:
        # json's and fromhex's messages quote at most a position, never the key itself.
        raise InputError(field, f"is not a clinician key file: {_plain(exc)}",
                         "the file written by thecal provision --clinician") from None  # fmt: skip
    return KeyFile("clinician", serial, key)


def key_fingerprint(key: bytes) -> str:
    """The key's public name (its key id): the first 16 hex digits of its SHA-256 (the key is
    random, so this tells nothing about it)."""
    return "sha256:" + hashlib.sha256(key).hexdigest()[:16]


def _plain(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON (line {exc.lineno}, column {exc.colno})"
    if "fromhex" in str(exc) or "non-hexadecimal" in str(exc):
        return "key must be hex digits"
    return str(exc)
