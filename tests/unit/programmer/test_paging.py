"""Reply paging: an interrogation with a huge program and a full journal still succeeds, and
no frame the implant sends outgrows 64 KiB."""

import base64
import hashlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.implant.helpers import START
from tests.unit.programmer.helpers import program, rig
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.link import MAX_FRAME_LEN, Role
from thecal.programmer.clinician import ClinicianProgrammer
from thecal.programmer.commands import (
    Command,
    CommandError,
    Op,
    RefusalCode,
    Reply,
    ReplyStatus,
    decode_reply,
)
from thecal.programmer.implant_server import ServerSettings, Staging
from thecal.programmer.paging import (
    PAGE_OVERHEAD,
    PagedBody,
    chunk_bytes,
    join_pages,
    page_index,
)
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import Schedule, SingleBolus
from thecal.units import Q_

SINGLES = 1500  # ~160 kB of program JSON: several pages


def _huge(library: DrugLibrary) -> Program:
    """The rig's program plus 1,500 single boluses of 0.001 mL, one a day (test inputs)."""
    base = program(library)
    singles = tuple(
        SingleBolus(Q_(0.001, "mL"), START + timedelta(days=1 + i), Q_(10, "min"))
        for i in range(SINGLES)
    )
    s = base.schedule
    return Program(
        Schedule(s.basal, s.periodic, singles),
        base.admixture,
        base.low_reservoir_threshold,
        base.patient_bolus,
    )


def test_huge_program_and_full_journal_interrogate_in_pages(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        assert r.dev.write_program(_huge(library)).state_changed
        handler = r.handler
        # Fill the journal (256 acting commands) directly on the implant.
        for i in range(handler.settings.journal_size + 5):
            cmd = Command(Op.ALARM_TEST, f"fill-{i}", r.dev.read_clock())
            handler.execute(cmd, Role.CLINICIAN, Staging())
        assert len(handler.journal()) == handler.settings.journal_size

        client, _ = r.connect()
        sizes: list[int] = []
        receive = client.transport.receive

        def measured(timeout_s: float) -> bytes:
            frame = receive(timeout_s)
            sizes.append(len(frame))
            return frame

        client.transport.receive = measured  # type: ignore[method-assign]
        report = ClinicianProgrammer(client, library, catalog.pump).interrogate()
        assert report.status.program is not None
        assert len(report.status.program.schedule.single) == SINGLES
        assert len(report.journal) == handler.settings.journal_size
        assert report.events[-1].seq == r.dev.events(0)[-1].seq  # every event read
        pages = [c for c in client.sent if c.op is Op.REPLY_PAGE]
        assert pages  # it was paged
        assert max(sizes) <= MAX_FRAME_LEN
        assert max(sizes) <= handler.settings.page_bytes + 100  # page + envelope and frame


def test_small_reply_is_not_paged(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect()
        reply = client.call(Op.ALARM_TEST)
        assert reply.status is ReplyStatus.OK
        assert not [c for c in client.sent if c.op is Op.REPLY_PAGE]


def test_patient_reads_pages_of_its_own_reply_only(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    with rig(catalog, library) as r:
        client, _ = r.connect(Role.PATIENT)
        # Nothing paged in this session: any page is refused, with no effect.
        reply = client.call(Op.REPLY_PAGE, {"handle": 1, "page": 1})
        assert reply.status is ReplyStatus.REFUSED
        assert reply.code == RefusalCode.NO_SUCH_PAGE
        bad = client.call(Op.REPLY_PAGE, {"handle": True, "page": 0})
        assert bad.status is ReplyStatus.ERROR


def _reply(size: int) -> Reply:
    return Reply(
        "interrogate", "abc", ReplyStatus.OK, START, processed=True, data={"x": "y" * size}
    )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=200_000),
    st.integers(min_value=2 * PAGE_OVERHEAD, max_value=60_000),
)
def test_pages_rejoin_exactly_and_each_fits_its_budget(size: int, page_bytes: int) -> None:
    reply = _reply(size)
    body = reply.encode()
    paged = PagedBody(7, body, page_bytes)
    first = paged.first_reply(reply)
    assert len(first.encode()) <= page_bytes
    index = page_index(first.data)
    chunks = [index.first]
    for page in range(1, index.pages):
        page_reply = Reply(
            "reply_page",
            "x" * 64,
            ReplyStatus.OK,
            START,
            processed=True,
            data={"handle": 7, "page": page, "chunk": paged.chunk(page)},
        )
        assert len(page_reply.encode()) <= page_bytes
        chunks.append(base64.b64decode(page_reply.data["chunk"]))
    assert decode_reply(join_pages(index, chunks)) == reply


def test_join_refuses_missing_repeated_or_altered_pages() -> None:
    body = _reply(100_000).encode()
    paged = PagedBody(1, body, 10_000)
    index = page_index(paged.first_reply(_reply(100_000)).data)
    chunks = [base64.b64decode(paged.chunk(i)) for i in range(paged.pages)]
    assert index.pages == -(-len(body) // chunk_bytes(10_000))  # ceil(size / chunk)
    assert join_pages(index, chunks) == body
    with pytest.raises(CommandError):
        join_pages(index, chunks[:-1])
    with pytest.raises(CommandError):
        join_pages(index, [chunks[0], *chunks[:-1]])
    altered = [*chunks[:-1], bytes([chunks[-1][0] ^ 1]) + chunks[-1][1:]]
    with pytest.raises(CommandError, match="SHA-256"):
        join_pages(index, altered)


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {"paged": []},
        {"paged": {"handle": 1, "pages": 2, "bytes": 10, "sha256": "0" * 64, "chunk": "!!"}},
        {"paged": {"handle": 1, "pages": 0, "bytes": 10, "sha256": "0" * 64, "chunk": ""}},
        {"paged": {"handle": 1, "pages": 11, "bytes": 10, "sha256": "0" * 64, "chunk": ""}},
        {"paged": {"handle": 1, "pages": 1, "bytes": 2**40, "sha256": "0" * 64, "chunk": ""}},
        {"paged": {"handle": -1, "pages": 1, "bytes": 10, "sha256": "0" * 64, "chunk": ""}},
        {"paged": {"handle": 1, "pages": 1, "bytes": 10, "sha256": "short", "chunk": ""}},
    ],
)
def test_page_index_is_strict(bad: object) -> None:
    with pytest.raises(CommandError):
        page_index(bad)


def test_page_budget_setting_bounds() -> None:
    # 2 x 1024 = 2048 is the smallest page budget; 60 000 the largest.
    assert ServerSettings(Q_(60, "s"), journal_size=256, page_bytes=2048).page_bytes == 2048
    assert ServerSettings(Q_(60, "s"), journal_size=256, page_bytes=60_000).page_bytes == 60_000
    for bad in (2047, 60_001):
        with pytest.raises(ValueError):
            ServerSettings(Q_(60, "s"), journal_size=256, page_bytes=bad)


def test_sha256_is_of_the_full_encoding() -> None:
    reply = _reply(50_000)
    first = PagedBody(1, reply.encode(), 4096).first_reply(reply)
    assert first.data["paged"]["sha256"] == hashlib.sha256(reply.encode()).hexdigest()
