"""Logged-out sessions (session id, kept until the session's maximum age), shared by every
worker process of ``thecal serve --workers N``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 01:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "revoked_sessions",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_revoked_sessions")),
    )
    op.create_index(op.f("ix_revoked_sessions_until"), "revoked_sessions", ["until"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_revoked_sessions_until"), table_name="revoked_sessions")
    op.drop_table("revoked_sessions")
