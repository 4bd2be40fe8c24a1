"""Recorded assessments: the presentation given to the decision rules and what they proposed
(JSON text), who ran them and when, the urgency, and who closed them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_assessments_{column}_{target}"))  # fmt: skip


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "assessments",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("device_id", ID, nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("presentation", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        _fk("patient_id", "patients"),
        _fk("device_id", "devices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    op.create_index("ix_assessments_patient_at", "assessments", ["patient_id", "at", "id"])
    op.create_index("ix_assessments_open", "assessments", ["closed_at", "urgency"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_assessments_open", table_name="assessments")
    op.drop_index("ix_assessments_patient_at", table_name="assessments")
    op.drop_table("assessments")
