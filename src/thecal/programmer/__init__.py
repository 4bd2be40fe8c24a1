"""Programmers over the telemetry link: the command layer, the implant's command server
(sans-I/O), the clinician programmer and the patient controller services.

Pure like the therapy core: no sockets, files or wall clock. Transports, key files and the
socket loop are adapters (:mod:`thecal.adapters.implant_server`, :mod:`thecal.link.transport`).
"""
