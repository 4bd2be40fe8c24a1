"""Spinal cord stimulation: programs, per-contact charge and charge density, the Shannon
criterion, voltage compliance, battery drain and the gate that turns them into findings.

A pure core (no I/O, no clock): the adapters read the stimulator catalog and program files and
pass parsed data in. Every physical value is a pint quantity; every limit is compared through
:mod:`thecal.therapy.compare`; findings are :class:`thecal.therapy.findings.Finding`.
"""
