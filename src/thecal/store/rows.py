"""Row values for the clinic repository: quantities as full-precision text in one unit per
dimension, JSON columns, the audit's column snapshot, and the patient columns read as plain
tuples."""

import json
from datetime import date, datetime
from typing import Any

import pint

from thecal.clinic.model import RefillRecord, StoredFinding
from thecal.store.schema import Base, PatientRow
from thecal.units import Q_, Dimension, parse_quantity

# Patient's fields in its constructor's order, read as plain columns.
PATIENT_COLUMNS = (
    PatientRow.mrn, PatientRow.display_name, PatientRow.birth_year, PatientRow.opioid_naive,
    PatientRow.spasticity_origin, PatientRow.notes, PatientRow.id, PatientRow.version,
)  # fmt: skip
_UNIT = {Dimension.VOLUME: "mL", Dimension.LENGTH: "cm"}
# Parsed once: pint re-parses a unit string on every Q_(text) (~60 µs), and reading 100,000
# refills parses five quantities each. What q_out wrote ("<float repr> <unit>") is read back
# directly; anything else goes through parse_quantity.
_PARSED = {dim: Q_(1.0, unit).units for dim, unit in _UNIT.items()}


def q_out(q: pint.Quantity | None, dim: Dimension = Dimension.VOLUME) -> str | None:
    # Full precision in one unit per dimension, never a display rounding.
    return None if q is None else f"{float(q.to(_UNIT[dim]).magnitude)!r} {_UNIT[dim]}"


def q_in(text: str | None, field: str, dim: Dimension = Dimension.VOLUME) -> pint.Quantity | None:
    return None if text is None else q_req(text, field, dim)


def q_req(text: str, field: str, dim: Dimension = Dimension.VOLUME) -> pint.Quantity:
    number, _, unit = text.partition(" ")
    if unit == _UNIT[dim]:
        try:
            return Q_(float(number), _PARSED[dim])
        except ValueError:
            pass
    return parse_quantity(text, field, dim).to(_UNIT[dim])


def candidates_json(r: RefillRecord) -> str:
    return json_text([
        {"at": c.at.isoformat(), "kind": c.kind, "reason": c.reason, "source": c.source}
        for c in r.candidates
    ])  # fmt: skip


def json_text(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


def row_columns(row: Base) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        out[column.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def findings_from_json(text: str) -> tuple[StoredFinding, ...]:
    return tuple(StoredFinding.from_json(f) for f in json.loads(text))


def pairs_from_json(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(a), str(b)) for a, b in json.loads(text))
