"""Roles and the authorization policy the implant server applies to every request.

Roles are not claims: each role has its own key derived from the implant secret
(:func:`thecal.link.crypto.derive_role_key`), and the role byte is inside the authenticated
handshake. A patient controller holds only the patient key, so it cannot complete a handshake as
clinician. The implant derives both keys from its secret. See ``docs/link-protocol.md`` §5.
"""

from enum import IntEnum

from thecal.link.errors import ErrorCode, PermissionDenied


class Role(IntEnum):
    """Who is at the other end of a session (u8 on the wire)."""

    CLINICIAN = 1  # clinician programmer: every operation
    PATIENT = 2  # patient controller (drug pump): status and patient-bolus requests only
    REMOTE = 3  # patient remote (stimulator): status, amplitude, group, stimulation on/off


OP_STATUS = "status"
OP_PATIENT_BOLUS = "patient_bolus"
PATIENT_OPERATIONS = frozenset({OP_STATUS, OP_PATIENT_BOLUS})
"""Everything a patient controller may ask. The implant still applies its own lockout and daily
limit to a patient bolus: being allowed to ask is not being allowed a dose."""


OP_SET_AMPLITUDE = "set_amplitude"
OP_SELECT_GROUP = "select_group"
OP_STIMULATION = "stimulation"
REMOTE_OPERATIONS = frozenset({OP_STATUS, OP_SET_AMPLITUDE, OP_SELECT_GROUP, OP_STIMULATION})
"""Everything a stimulator's patient remote may ask. Its own role (not the pump's patient role):
its key cannot ask for a bolus, and a pump controller's key cannot change a current. The implant
still bounds the patient: amplitude only within the clinician's range, only groups the
clinician wrote, and never on after the clinician's off."""


def permits(role: Role, operation: str) -> bool:
    """Whether ``role`` may perform ``operation`` (default deny for anything not listed)."""
    if role is Role.CLINICIAN:
        return True
    if role is Role.PATIENT:
        return operation in PATIENT_OPERATIONS
    if role is Role.REMOTE:
        return operation in REMOTE_OPERATIONS
    return False  # pragma: no cover - Role is closed; kept so a new role starts with nothing


def require_permitted(role: Role, operation: str) -> None:
    """Raise :class:`PermissionDenied` unless ``role`` may perform ``operation``."""
    if not permits(role, operation):
        raise PermissionDenied(ErrorCode.FORBIDDEN, f"{role.name.lower()} may not {operation!r}")
