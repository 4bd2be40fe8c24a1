"""Impedance sets: which contact read as an open circuit. Each contact entry of
``impedance_sets.values`` gains a third element (open circuit, bool; the impedance may then be
null), and the set a boolean column ``open_circuit`` (some contact open). Entries written
before this revision have two elements and read as not open; no row is rewritten.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("impedance_sets") as batch:
        batch.add_column(
            sa.Column("open_circuit", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema (the per-contact flags stay in the JSON: 0004's reader ignores them)."""
    with op.batch_alter_table("impedance_sets") as batch:
        batch.drop_column("open_circuit")
