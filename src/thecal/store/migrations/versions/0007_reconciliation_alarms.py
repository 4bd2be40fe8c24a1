"""Reconciliation and clinic alarms: each interrogation stores the findings of its comparison
with the record (JSON list; "[]" for the snapshots stored before); an alarm records who
acknowledged it and when, and why it was resolved.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "interrogations",
        sa.Column("findings", sa.Text(), server_default="[]", nullable=False),
    )
    op.add_column("alarms", sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
    op.add_column("alarms", sa.Column("acknowledged_by", sa.String(length=80), nullable=True))
    op.add_column("alarms", sa.Column("resolution", sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("resolution")
        batch.drop_column("acknowledged_by")
        batch.drop_column("acknowledged_at")
    with op.batch_alter_table("interrogations") as batch:
        batch.drop_column("findings")
