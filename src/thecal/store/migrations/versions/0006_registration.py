"""Registration: a patient's details (date of birth, sex, contact, coded diagnoses) and a
device's UDI and pocket side.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "patient_details",
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("diagnoses", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_patient_details_patient_id_patients")),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_details")),
    )  # fmt: skip
    op.create_table(
        "device_details",
        sa.Column("device_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("udi", sa.Text(), nullable=False),
        sa.Column("pocket_side", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_device_details_device_id_devices")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_device_details_patient_id_patients")),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_details")),
    )  # fmt: skip
    op.create_index(op.f("ix_device_details_patient_id"), "device_details", ["patient_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_device_details_patient_id"), table_name="device_details")
    op.drop_table("device_details")
    op.drop_table("patient_details")
