"""Implant links: each device's telemetry address and clinician key id, the key in a table of
its own (never audited), and every write delivered over a link with its outcome.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))  # fmt: skip


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "implant_links",
        sa.Column("device_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=80), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("implant_links", "device_id", "devices"),
        _fk("implant_links", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_implant_links")),
    )
    op.create_index(op.f("ix_implant_links_serial"), "implant_links", ["serial"])
    op.create_table(
        "implant_link_keys",
        sa.Column("device_id", ID, nullable=False),
        sa.Column("key_hex", sa.Text(), nullable=False),
        _fk("implant_link_keys", "device_id", "devices"),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_implant_link_keys")),
    )
    op.create_table(
        "link_deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("device_id", ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("what", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prescription_version", sa.Integer(), nullable=True),
        _fk("link_deliveries", "patient_id", "patients"),
        _fk("link_deliveries", "device_id", "devices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_deliveries")),
    )
    op.create_index("ix_link_deliveries_patient_at", "link_deliveries",
                    ["patient_id", "at", "id"])  # fmt: skip


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_link_deliveries_patient_at", table_name="link_deliveries")
    op.drop_table("link_deliveries")
    op.drop_table("implant_link_keys")
    op.drop_index(op.f("ix_implant_links_serial"), table_name="implant_links")
    op.drop_table("implant_links")
