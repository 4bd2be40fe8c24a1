"""Key material: implant secret, role keys, session keys (HKDF-SHA256), HMAC proofs, AEAD.

Pure functions over bytes; randomness comes from a ``random_bytes`` callable (default
:func:`secrets.token_bytes`) so tests can be deterministic. See ``docs/link-protocol.md`` §6.
"""

import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from thecal.link.errors import AuthenticationError, ErrorCode
from thecal.link.frames import MAX_SEQUENCE, TAG_LEN
from thecal.link.roles import Role

SECRET_LEN = 32
KEY_LEN = 32
HANDSHAKE_NONCE_LEN = 32
PROOF_LEN = 32
AEAD_NONCE_LEN = 12
MAX_SERIAL_LEN = 64

RandomBytes = Callable[[int], bytes]

LABEL_ROLE = b"thecal-link/1 role key"
LABEL_SESSION = b"thecal-link/1 session keys"
LABEL_FRAME = b"thecal-link/1 handshake frame\x00"
LABEL_CLIENT_PROOF = b"thecal-link/1 client proof\x00"
LABEL_SERVER_PROOF = b"thecal-link/1 server proof\x00"


class Direction(IntEnum):
    """Direction byte of the AEAD nonce (belt and braces: each direction also has its own key)."""

    CLIENT_TO_SERVER = 1
    SERVER_TO_CLIENT = 2


def generate_secret(random_bytes: RandomBytes = secrets.token_bytes) -> bytes:
    """A fresh 32-byte implant secret (provisioned once, at manufacture)."""
    secret = random_bytes(SECRET_LEN)
    if len(secret) != SECRET_LEN:
        raise ValueError("random_bytes returned the wrong length")
    return secret


def encode_serial(serial: str) -> bytes:
    """Serial as UTF-8, 1..64 bytes (it is bound into every key and the handshake)."""
    raw = serial.encode("utf-8")
    if not 1 <= len(raw) <= MAX_SERIAL_LEN:
        raise ValueError(f"serial must be 1..{MAX_SERIAL_LEN} bytes of UTF-8")
    return raw


def _hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def derive_role_key(implant_secret: bytes, serial: str, role: Role) -> bytes:
    """Role key = HKDF-SHA256(ikm=implant secret, salt=label, info=role byte | serial).

    One-way: holding the patient key reveals nothing about the clinician key or the secret.
    """
    if len(implant_secret) != SECRET_LEN:
        raise ValueError(f"implant secret must be {SECRET_LEN} bytes")
    info = bytes([int(role)]) + encode_serial(serial)
    return _hkdf(implant_secret, LABEL_ROLE, info, KEY_LEN)


@dataclass(frozen=True)
class SessionKeys:
    """One AEAD key per direction."""

    client_to_server: bytes
    server_to_client: bytes


def derive_session_keys(
    role_key: bytes, client_nonce: bytes, server_nonce: bytes, transcript: bytes
) -> SessionKeys:
    """HKDF-SHA256(ikm=role key, salt=client nonce | server nonce, info=label | transcript)."""
    okm = _hkdf(role_key, client_nonce + server_nonce, LABEL_SESSION + transcript, 2 * KEY_LEN)
    return SessionKeys(okm[:KEY_LEN], okm[KEY_LEN:])


def handshake_tag(role_key: bytes, header: bytes, payload: bytes) -> bytes:
    """Tag of a handshake frame: HMAC-SHA256 truncated to 16 bytes over header | payload."""
    mac = hmac.new(role_key, LABEL_FRAME + header + payload, hashlib.sha256).digest()
    return mac[:TAG_LEN]


def proof(role_key: bytes, label: bytes, transcript: bytes) -> bytes:
    """Challenge–response proof: HMAC-SHA256(role key, label | transcript), 32 bytes."""
    return hmac.new(role_key, label + transcript, hashlib.sha256).digest()


def verify_equal(expected: bytes, received: bytes, code: ErrorCode, what: str) -> None:
    """Constant-time comparison; raise :class:`AuthenticationError` on mismatch."""
    if not hmac.compare_digest(expected, received):
        raise AuthenticationError(code, f"{what} does not verify")


def aead_nonce(direction: Direction, sequence: int) -> bytes:
    """12-byte nonce = direction u8 | 3 zero bytes | sequence u64 (unique per key)."""
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError("sequence out of u64 range")
    return struct.pack(">B3xQ", int(direction), sequence)


class AeadKey:
    """AES-256-GCM under one direction's key; the frame header is the associated data."""

    def __init__(self, key: bytes, direction: Direction) -> None:
        if len(key) != KEY_LEN:
            raise ValueError(f"AEAD key must be {KEY_LEN} bytes")
        self._aead = AESGCM(key)
        self.direction = direction

    def seal(self, sequence: int, header: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """Encrypt; return (ciphertext, 16-byte tag)."""
        out = self._aead.encrypt(aead_nonce(self.direction, sequence), plaintext, header)
        return out[:-TAG_LEN], out[-TAG_LEN:]

    def open(self, sequence: int, header: bytes, ciphertext: bytes, tag: bytes) -> bytes:
        """Decrypt and authenticate; raise :class:`AuthenticationError` (BAD_TAG) on failure."""
        try:
            return self._aead.decrypt(
                aead_nonce(self.direction, sequence), ciphertext + tag, header
            )
        except InvalidTag:
            raise AuthenticationError(ErrorCode.BAD_TAG, "AEAD tag does not verify") from None
