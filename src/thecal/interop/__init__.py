"""Interoperability adapters: the clinic's records leave Thecal in standard forms (FHIR,
PDF reports, CSV). Adapters at the edge: they read through the clinic's ports and services."""
