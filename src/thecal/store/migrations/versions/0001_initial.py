"""Initial clinic schema: registry, prescriptions, refills, program changes, interrogations,
alarms, complications, users, and the hash-chained audit log with its head row.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:48:16.544878

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("mrn", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("opioid_naive", sa.Boolean(), nullable=True),
        sa.Column("spasticity_origin", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patients_mrn")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("implanted_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("implanted_length", sa.String(length=64), nullable=True),
        sa.Column("tip_level", sa.String(length=20), nullable=True),
        sa.Column("volume", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_devices_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "prescriptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_prescriptions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_prescriptions_patient_version", ["patient_id", "version"], unique=True
        )

    op.create_table(
        "procedures",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("placed", sa.Text(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_procedures_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedures")),
    )
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procedures_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "program_changes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("old_version", sa.Integer(), nullable=True),
        sa.Column("new_version", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("overrides", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_program_changes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_changes")),
    )
    with op.batch_alter_table("program_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_changes_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "alarms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_alarms_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_alarms_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alarms_cleared_at"), ["cleared_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alarms_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "complications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_complications_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_complications_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complications")),
    )
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complications_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "interrogations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_interrogations_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_interrogations_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interrogations")),
    )
    with op.batch_alter_table("interrogations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interrogations_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "refills",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("prescription_version", sa.Integer(), nullable=False),
        sa.Column("performed_at", sa.DateTime(), nullable=False),
        sa.Column("expected_remaining", sa.String(length=64), nullable=False),
        sa.Column("withdrawn", sa.String(length=64), nullable=False),
        sa.Column("discrepancy", sa.String(length=64), nullable=False),
        sa.Column("filled", sa.String(length=64), nullable=False),
        sa.Column("confirmed_after_fill", sa.String(length=64), nullable=True),
        sa.Column("drug_lot", sa.String(length=64), nullable=False),
        sa.Column("concentrations", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("refill_by", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("planned_refill", sa.DateTime(), nullable=True),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("overrides", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_refills_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_refills_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refills")),
    )
    with op.batch_alter_table("refills", schema=None) as batch_op:
        batch_op.create_index(
            "ix_refills_patient_performed", ["patient_id", "performed_at"], unique=False
        )
    # The audit chain's head: seq 0 and the genesis hash (thecal.store.audit.GENESIS).
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("seq", sa.Integer),
            sa.column("hash", sa.String),
        ),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("refills", schema=None) as batch_op:
        batch_op.drop_index("ix_refills_patient_performed")

    op.drop_table("refills")
    with op.batch_alter_table("interrogations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interrogations_patient_id"))

    op.drop_table("interrogations")
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complications_patient_id"))

    op.drop_table("complications")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarms_patient_id"))
        batch_op.drop_index(batch_op.f("ix_alarms_cleared_at"))

    op.drop_table("alarms")
    with op.batch_alter_table("program_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_changes_patient_id"))

    op.drop_table("program_changes")
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedures_patient_id"))

    op.drop_table("procedures")
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index("uq_prescriptions_patient_version")

    op.drop_table("prescriptions")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_patient_id"))

    op.drop_table("devices")
    op.drop_table("users")
    op.drop_table("patients")
    op.drop_table("audit_log")
    op.drop_table("audit_head")
