"""Audit log indexes for the audit viewer's filters (actor, action, entity, patient, time)
(and one on link_deliveries.outcome for the worklist's uncertain deliveries),
and the entry's patient as a column (filled here from each row's hashed data), so that the
patient filter is an index lookup instead of a text search through every row's JSON.

The patient of a row: its entity id when the entity is "patient", else the ``patient_id`` of
the record written (top level of ``data``), else NULL — as ``thecal.store.audit.patient_of``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:00:00

"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_audit_log_actor_seq": ["actor", "seq"],
    "ix_audit_log_action_seq": ["action", "seq"],
    "ix_audit_log_entity_seq": ["entity", "entity_id", "seq"],
    "ix_audit_log_patient_seq": ["patient_id", "seq"],
    "ix_audit_log_at": ["at"],
}
BATCH = 5_000


def _patient(entity: str, entity_id: str, data: str) -> str | None:
    if entity == "patient":
        return entity_id
    value = json.loads(data)
    named = value.get("patient_id") if isinstance(value, dict) else None
    return named if isinstance(named, str) else None


def _backfill() -> None:
    conn = op.get_bind()
    log = sa.table(
        "audit_log", sa.column("seq", sa.Integer), sa.column("entity", sa.String),
        sa.column("entity_id", sa.String), sa.column("data", sa.Text),
        sa.column("patient_id", sa.String),
    )  # fmt: skip
    update = (
        sa.update(log).where(log.c.seq == sa.bindparam("s")).values(patient_id=sa.bindparam("p"))
    )
    last = 0
    while True:  # in batches of seq: bounded memory on a long log
        rows = conn.execute(
            sa.select(log.c.seq, log.c.entity, log.c.entity_id, log.c.data)
            .where(log.c.seq > last).order_by(log.c.seq).limit(BATCH)
        ).all()  # fmt: skip
        if not rows:
            return
        found = [{"s": r.seq, "p": _patient(r.entity, r.entity_id, r.data)} for r in rows]
        named = [f for f in found if f["p"] is not None]
        if named:
            conn.execute(update, named)
        last = rows[-1].seq


def upgrade() -> None:
    """Upgrade schema."""
    # Not the audit log's, but the same round's read path: the worklist lists the link
    # deliveries still uncertain on every view (thecal.clinic.delivery_settling).
    op.create_index("ix_link_deliveries_outcome", "link_deliveries", ["outcome", "at"])
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("patient_id", sa.String(length=64), nullable=True))
    _backfill()
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_log", columns)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_link_deliveries_outcome", table_name="link_deliveries")
    for name in INDEXES:
        op.drop_index(name, table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("patient_id")
