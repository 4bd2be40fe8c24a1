"""Login credentials: one argon2 password hash per user, apart from the user record so the
audit log of users never carries a hash.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "credentials",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credentials_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_credentials")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("credentials")
