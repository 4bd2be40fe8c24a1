"""``thecal export fhir --ndjson DIR``: the whole clinic as FHIR Bulk Data NDJSON (docs/fhir.md,
"Bulk export"): one ``<Type>.ndjson`` file per resource type, one resource a line (compact
JSON, UTF-8), and ``manifest.json`` listing the files and their counts as a Bulk Data export's
complete-status body does. The resources come from :mod:`thecal.interop.fhir_bulk`; here they
are written, all or nothing: into a temporary folder beside DIR, renamed to DIR at the end, so a
failure leaves no DIR (or the empty one that was there)."""

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from thecal.clinic.ports import UnitOfWork
from thecal.devices.catalog import DeviceCatalog
from thecal.interop.fhir_bulk import CHUNK, bulk_resources, clinic_patient_ids
from thecal.interop.fhir_export import stamp_in
from thecal.therapy.library import DrugLibrary
from thecal.units import InputError

MANIFEST = "manifest.json"
REQUEST = "thecal export fhir --ndjson"


@dataclass
class Written:
    """What an NDJSON export wrote: patients, resources per type, bytes of NDJSON."""

    patients: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    size: int = 0

    def summary(self, out: Path) -> str:
        kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(self.counts.items()))
        total = sum(self.counts.values())
        return (f"{self.patients:,} patients: {total:,} FHIR resources ({kinds}), "
                f"{self.size:,} bytes of NDJSON written to {out}")  # fmt: skip


def staging_beside(out: Path) -> Path:
    """A new temporary folder beside ``out`` (same file system: the final rename is atomic).
    InputError naming ``--ndjson`` when ``out`` exists and is not an empty folder, or its
    parent folder does not exist."""
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise InputError("--ndjson", f"{str(out)!r} exists and is not an empty folder",
                         "a new or empty folder")  # fmt: skip
    parent = out.absolute().parent
    if not parent.is_dir():
        raise InputError("--ndjson", f"no folder {str(parent)!r}", "a folder in an existing one")
    return Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".tmp"))


def write_files(folder: Path, items: Iterable[dict[str, Any]], written: Written) -> None:
    """Each resource of ``items`` as one line of ``folder/<resourceType>.ndjson``."""
    files: dict[str, IO[bytes]] = {}
    try:
        for r in items:
            kind = r["resourceType"]
            handle = files.get(kind)
            if handle is None:
                handle = files[kind] = (folder / f"{kind}.ndjson").open("wb")
            line = json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            handle.write(line)
            written.counts[kind] = written.counts.get(kind, 0) + 1
            written.size += len(line)
    finally:
        for handle in files.values():
            handle.close()


def manifest(written: Written, at: datetime) -> dict[str, Any]:
    """The Bulk Data complete-status body (HL7 FHIR Bulk Data Access IG STU 2, "Response -
    Complete Status", https://hl7.org/fhir/uv/bulkdata/STU2/export.html); no server: ``request``
    is the command and each ``url`` a file name relative to the manifest."""
    return {
        "transactionTime": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "request": REQUEST,
        "requiresAccessToken": False,
        "output": [{"type": k, "url": f"{k}.ndjson", "count": n}
                   for k, n in sorted(written.counts.items())],
        "error": [],
    }  # fmt: skip


def export_ndjson(
    uow: UnitOfWork,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    out: Path,
    *,
    zone: tzinfo | None,
    at: datetime,
    chunk: int = CHUNK,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> Written:
    """Write every patient's resources to ``out`` (new, or an empty folder) as NDJSON plus the
    manifest, all or nothing. ``at``: the export's time for the manifest; ``progress(total)``
    returns the callback told of each chunk's patients."""
    staging = staging_beside(out)
    try:
        ids = clinic_patient_ids(uow)
        written = Written(patients=len(ids))
        done = progress(len(ids)) if progress is not None else None
        items = bulk_resources(uow, ids, library, catalog, stamp_in(zone), chunk=chunk, done=done)
        write_files(staging, items, written)
        text = json.dumps(manifest(written, at), ensure_ascii=False, indent=1) + "\n"
        (staging / MANIFEST).write_text(text, encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty (checked above): the rename takes its place
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written
