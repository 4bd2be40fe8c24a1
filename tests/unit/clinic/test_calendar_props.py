from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from thecal.clinic.calendar import RefillStatus, classify

ORDER = [RefillStatus.SCHEDULED, RefillStatus.DUE_SOON, RefillStatus.DUE, RefillStatus.OVERDUE]


@given(
    due=st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    today=st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    soon=st.integers(0, 60),
)
def test_status_only_gets_more_urgent_as_days_pass(due: date, today: date, soon: int) -> None:
    window = timedelta(days=soon)
    now, later = classify(due, today, window), classify(due, today + timedelta(days=1), window)
    assert ORDER.index(later) >= ORDER.index(now)
    assert (now is RefillStatus.OVERDUE) == (due < today)
    assert (now is RefillStatus.DUE) == (due == today)
