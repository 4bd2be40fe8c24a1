"""Errors the clinic services raise. All are user-caused and name what is wrong."""

from thecal.units import InputError


class NotFoundError(InputError):
    """A record the request refers to does not exist."""

    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"{entity}.id", f"no {entity} {key!r}", f"an existing {entity}")


class ConcurrentEditError(InputError):
    """Someone else changed the record since it was read (optimistic versioning)."""

    def __init__(self, entity: str, key: str, expected_version: int) -> None:
        super().__init__(
            f"{entity}.version",
            f"{entity} {key!r} was changed by someone else since version {expected_version} "
            "was read; nothing was saved",
            "reload the record and apply the change again",
        )
        self.entity = entity
        self.key = key
        self.expected_version = expected_version


class LifecycleError(InputError):
    """A device or procedure step that the device's history does not allow."""


class PermissionDenied(InputError):
    """The user's role does not allow this action."""

    def __init__(self, username: str, role: str, action: str) -> None:
        super().__init__("user.role", f"{username} ({role}) may not {action}", "a user allowed to")
