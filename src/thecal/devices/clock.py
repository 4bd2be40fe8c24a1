"""The device clock every implant family keeps: naive device-local times, stored compactly as
float hours since an epoch (cheap to keep in multi-year logs).

The epoch is the therapy core's (``thecal.therapy.delivery.EPOCH``, a Monday so weekday
programs line up); it is repeated here so the family-agnostic modules do not import the drug
pump's delivery model, and a test checks the two agree.
"""

from datetime import datetime, timedelta

EPOCH = datetime(2001, 1, 1)


def at_hours(h: float) -> datetime:
    """The naive device time ``h`` hours after :data:`EPOCH`."""
    return EPOCH + timedelta(hours=h)


__all__ = ["EPOCH", "at_hours"]
