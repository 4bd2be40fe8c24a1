"""The clinic: patient and device registry, prescriptions, refills, program changes, alarms and
the services on them (refill calendar, replacement planning, worklist, device lifecycle, the
refill and program-change workflows).

Pure: no database, web or clock import. Services take a unit of work (:mod:`.ports`) and a
clock (a callable returning the current local time) as arguments; :mod:`thecal.store` provides
the database-backed unit of work, :mod:`.memory` an in-memory one for tests and demos.
"""
