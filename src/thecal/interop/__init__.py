"""Interoperability adapters: the clinic record in standard forms (FHIR R4, reports, CSV).

They read and write clinic records through the clinic's ports and services
(:mod:`thecal.clinic.ports`), never through SQL: the same code serves the memory and the SQL
stores."""
