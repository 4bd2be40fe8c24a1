"""The therapy core: pure math on doses, schedules, refills and boluses, and the safety gate.

No I/O, no wall clock, no database: callers pass in the time and the data.
"""
