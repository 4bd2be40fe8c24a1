"""The refill calendar's index (one row per drug-pump patient with the next due date) and an
index for the oldest pumps in place per model — so the dashboard and the calendar read counts
and one page, not all 100,000 patients.

The backfill restates ``thecal.clinic.calendar.next_due`` in SQL (the earlier of the latest
refill's refill-by date and planned appointment); from here on the repository keeps the table
current in the same transaction as each refill or device write.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
INSERT INTO refill_schedule (patient_id, refill_id, due)
SELECT p.patient_id, r.id,
       CASE WHEN r.planned_refill IS NOT NULL
                 AND (r.refill_by IS NULL OR r.planned_refill < r.refill_by)
            THEN r.planned_refill ELSE r.refill_by END
FROM (SELECT DISTINCT patient_id FROM devices
      WHERE removed_on IS NULL AND kind IN ('pump', 'trial-pump')) AS p
LEFT JOIN refills AS r ON r.id = (
    SELECT r2.id FROM refills AS r2 WHERE r2.patient_id = p.patient_id
    ORDER BY r2.performed_at DESC, r2.id DESC LIMIT 1)
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "refill_schedule",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("refill_id", sa.String(length=32), nullable=True),
        sa.Column("due", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_refill_schedule_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["refill_id"], ["refills.id"], name=op.f("fk_refill_schedule_refill_id_refills")
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_refill_schedule")),
    )
    op.create_index("ix_refill_schedule_due", "refill_schedule", ["due", "patient_id"])
    op.create_index(
        "ix_devices_in_place", "devices", ["kind", "removed_on", "model", "implanted_on", "id"]
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_devices_in_place", table_name="devices")
    op.drop_index("ix_refill_schedule_due", table_name="refill_schedule")
    op.drop_table("refill_schedule")
