"""Stimulator records: leads, program versions (the stimulation program file as JSON, with the
gate's findings and override reasons), impedance sets and battery readings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 23:30:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)


def _owners(table: str) -> list[Any]:
    return [
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("device_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f(f"fk_{table}_patient_id_patients")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f(f"fk_{table}_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]  # fmt: skip


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "stim_leads",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("implanted_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("position", sa.Text(), nullable=False),
        *_owners("stim_leads"),
    )
    op.create_index(op.f("ix_stim_leads_device_id"), "stim_leads", ["device_id"])
    op.create_table(
        "stim_programs",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("program_json", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("overrides", sa.Text(), nullable=False),
        *_owners("stim_programs"),
    )
    op.create_index("uq_stim_programs_device_version", "stim_programs",
                    ["device_id", "version"], unique=True)  # fmt: skip
    op.create_table(
        "impedance_sets",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("values", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        *_owners("impedance_sets"),
    )
    op.create_index("ix_impedance_sets_device_at", "impedance_sets", ["device_id", "at", "id"])
    op.create_table(
        "battery_readings",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("voltage", sa.String(length=64), nullable=True),
        sa.Column("percent", sa.String(length=64), nullable=True),
        sa.Column("recharge", sa.Boolean(), nullable=False),
        sa.Column("recharge_duration", sa.String(length=64), nullable=True),
        sa.Column("by", sa.String(length=80), nullable=False),
        *_owners("battery_readings"),
    )
    op.create_index("ix_battery_readings_device_at", "battery_readings",
                    ["device_id", "at", "id"])  # fmt: skip


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_battery_readings_device_at", table_name="battery_readings")
    op.drop_table("battery_readings")
    op.drop_index("ix_impedance_sets_device_at", table_name="impedance_sets")
    op.drop_table("impedance_sets")
    op.drop_index("uq_stim_programs_device_version", table_name="stim_programs")
    op.drop_table("stim_programs")
    op.drop_index(op.f("ix_stim_leads_device_id"), table_name="stim_leads")
    op.drop_table("stim_leads")
