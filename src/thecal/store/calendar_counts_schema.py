"""The refill calendar's counts per due day (migration 0010): how many drug-pump patients'
next refill falls due on each calendar day. Derived from ``refill_schedule`` and kept in the
same transaction (``store.refill_schedule.sync_schedule``), so the calendar's counts per status
are a sum over a few hundred days instead of a range scan over up to every patient."""

from datetime import date

from sqlalchemy import Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from thecal.store.schema import Base


class RefillDueDayRow(Base):
    """``n`` rows of refill_schedule have ``due`` on ``day`` (00:00 ≤ time < 24:00). Rows
    whose count dropped to 0 stay (harmless to a sum; a later refill reuses them)."""

    __tablename__ = "refill_due_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
