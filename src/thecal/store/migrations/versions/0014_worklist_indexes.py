"""Worklist indexes: partial indexes on the refills and interrogations that have findings
(``findings != '[]'``), so that the worklist's latest refill findings and the automatic
prompts' interrogation candidates read those few rows instead of scanning every refill and
interrogation of the clinic (benchmarks/worklist_load.py: 51 ms of a 60 ms worklist at
100,000 patients was that scan). Index only, no data change.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 07:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As thecal.store.schema: the queries write the same text (thecal.store.worklist_records).
REFILLS = sa.text("findings != '[]'")
INTERROGATIONS = sa.text("findings != '[]'")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index("ix_refills_with_findings", "refills", ["patient_id", "performed_at"],
                    sqlite_where=REFILLS, postgresql_where=REFILLS)  # fmt: skip
    op.create_index("ix_interrogations_with_findings", "interrogations", ["patient_id"],
                    sqlite_where=INTERROGATIONS, postgresql_where=INTERROGATIONS)  # fmt: skip


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_interrogations_with_findings", table_name="interrogations")
    op.drop_index("ix_refills_with_findings", table_name="refills")
