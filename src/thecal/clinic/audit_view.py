"""Reading the audit log (issue 13): who wrote what, when and why, filtered and paged.

The log itself is written by the store in every write's transaction (hash-chained, see
:mod:`thecal.store.audit`); this module decides who may read it, checks the filters a person
typed, and turns each entry into a line a nurse reads (a short summary of what changed).

Who may read: a physician or a nurse (they make and check the clinic's writes); a viewer is
refused — the log shows every user's actions and reasons, which a read-only role has no
need of (clinic/authorization.py leaves the log unmentioned, so this is the choice made here).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.model import Role, User
from thecal.units import InputError

if TYPE_CHECKING:  # the ports import this module's protocol
    from thecal.clinic.ports import ClinicRepository, UnitOfWork

PAGE_SIZE = 50  # entries per page, newest first
PAGE_MAX = 1_000_000  # a page number beyond any log the clinic keeps
WHO_MAX = 80  # the audit_log.actor column
WHAT_MAX = 40  # the audit_log.entity column (action is shorter)
PATIENT_MAX = 64  # an MRN (patients.mrn) or a patient id
_SHOWN = 3  # changed fields named in a summary; the rest are counted
_VALUE_MAX = 30  # characters of a value in a summary


@dataclass(frozen=True)
class AuditQuery:
    """Checked filters; None: any. ``since`` and ``until`` are whole days, both included
    (``since <= at < until + 1 day``); ``patient_id`` an existing patient's id."""

    who: str | None = None
    what: str | None = None
    since: date | None = None
    until: date | None = None
    patient_id: str | None = None

    def window(self) -> tuple[datetime | None, datetime | None]:
        """``[start, end)`` in clinic local time: midnight of ``since``, midnight after
        ``until`` (so from == to is that whole day)."""
        start = datetime.combine(self.since, time()) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), time()) if self.until else None
        return start, end


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry as stored: ``data`` the record as written (None where the store keeps
    no copy), ``before`` the same record's previous entry (updates only)."""

    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    reason: str
    data: Mapping[str, Any] | None = None
    before: Mapping[str, Any] | None = None


class AuditRecords(Protocol):
    # The entries matching ``query``, newest first (by log sequence): ``offset`` then at most
    # ``limit``. A patient matches its own entries and those of records naming it.
    def audit_entries(
        self, query: AuditQuery, limit: int, offset: int
    ) -> Sequence[AuditRecord]: ...


@dataclass(frozen=True)
class AuditLine:
    """An entry as shown: ``role`` of the actor ("—" for none known), ``summary`` what changed."""

    record: AuditRecord
    role: str
    summary: str


@dataclass(frozen=True)
class AuditPage:
    """Page ``page`` (from 1) of the entries matching ``query``; ``more``: a next page exists."""

    query: AuditQuery
    page: int
    lines: tuple[AuditLine, ...]
    more: bool


def check_reader(actor: User) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may read the audit log (see module)."""
    if actor.role not in (Role.PHYSICIAN, Role.NURSE):
        raise PermissionDenied(actor.username, actor.role.value, "read the audit log")


def _filter_text(raw: str | None, field: str, limit: int) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > limit:
        raise InputError(field, f"is {len(text)} characters long", f"at most {limit}")
    if not text.isprintable():
        raise InputError(field, "contains control characters", "plain text")
    return text


def _day(raw: str | None, field: str) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text[:20]!r} is not a date", "YYYY-MM-DD") from None


def parse_page(raw: str | None) -> int:
    """The page number typed (blank: 1); 1 to :data:`PAGE_MAX`, else an error naming ``page``."""
    text = (raw or "").strip()
    if not text:
        return 1
    if not (len(text) <= 7 and text.isascii() and text.isdigit()) or not (
        1 <= int(text) <= PAGE_MAX
    ):
        raise InputError("page", f"{text[:20]!r} is not a page number", f"1 to {PAGE_MAX}")
    return int(text)


@dataclass(frozen=True)
class AuditFilters:
    """The filters as typed (web form or API query), not yet checked."""

    who: str | None = None
    what: str | None = None
    since: str | None = None
    until: str | None = None
    patient: str | None = None


def read_audit(uow: "UnitOfWork", *, actor: User, filters: AuditFilters, page: int) -> AuditPage:
    """Page ``page`` of the audit log, newest first, :data:`PAGE_SIZE` entries, for ``actor``
    (a physician or a nurse). Every filter is checked (:class:`InputError` naming the field:
    ``who``, ``what``, ``from``, ``to``, ``patient``); ``patient`` is a patient id or an MRN."""
    check_reader(actor)
    since, until = _day(filters.since, "from"), _day(filters.until, "to")
    if since and until and until < since:
        raise InputError("to", f"{until} is before from ({since})", "a day on or after from")
    patient = _filter_text(filters.patient, "patient", PATIENT_MAX)
    if not 1 <= page <= PAGE_MAX:
        raise InputError("page", f"{page} is out of range", f"1 to {PAGE_MAX}")
    with uow.reader() as repo:
        query = AuditQuery(
            _filter_text(filters.who, "who", WHO_MAX), _filter_text(filters.what, "what", WHAT_MAX),
            since, until, _patient_id(repo, patient) if patient else None,
        )  # fmt: skip
        found = repo.audit_entries(query, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        roles: dict[str, str] = {}
        for name in {r.actor for r in found}:
            user = repo.user_by_name(name)
            roles[name] = user.role.value if user else "—"
    lines = tuple(AuditLine(r, roles[r.actor], summary(r)) for r in found[:PAGE_SIZE])
    return AuditPage(query, page, lines, len(found) > PAGE_SIZE)


def _patient_id(repo: "ClinicRepository", text: str) -> str:
    """The patient with MRN ``text``, else with id ``text``; an error naming ``patient``."""
    by_mrn = repo.patient_by_mrn(text)
    if by_mrn is not None:
        return str(by_mrn.id)
    try:
        return str(repo.get_patient(text).id)
    except NotFoundError:
        pass
    raise InputError("patient", f"no patient has the MRN or id {text!r}", "an MRN or patient id")


def _short(value: object) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 1] + "…"


def summary(record: AuditRecord) -> str:
    """What the entry changed, in one short line: for an update the fields that differ from
    the record's previous entry (``name: old → new``, the first :data:`_SHOWN`, then a count);
    for an insert the fields recorded; "" when the store kept no copy."""
    data, before = record.data, record.before
    if data is None:
        return ""
    if record.action == "update" and before is not None:
        changed = [k for k in sorted(data) if data.get(k) != before.get(k)]
        if not changed:
            return "no field changed"
        parts = [f"{k}: {_short(before.get(k))} → {_short(data.get(k))}" for k in changed[:_SHOWN]]
        rest = len(changed) - _SHOWN
        return "; ".join(parts) + (f"; and {rest} more" if rest > 0 else "")
    filled = [k for k in sorted(data) if k != "id" and data[k] not in (None, "", [], {})]
    shown = ", ".join(filled[:_SHOWN]) + (
        f" and {len(filled) - _SHOWN} more" if len(filled) > _SHOWN else ""
    )
    return f"{record.action}: {shown}" if shown else record.action
