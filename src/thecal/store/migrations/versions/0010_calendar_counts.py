"""The refill calendar's counts per due day (refill_due_days), filled from refill_schedule;
from here on the repository keeps it in the same transaction as the schedule row.

SQLite's ``date(due)`` gives 'YYYY-MM-DD', the text SQLAlchemy's Date stores there;
PostgreSQL's ``date(timestamp)`` is the cast to date.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 02:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
INSERT INTO refill_due_days (day, n)
SELECT date(due), count(*) FROM refill_schedule WHERE due IS NOT NULL GROUP BY date(due)
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "refill_due_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_refill_due_days")),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("refill_due_days")
