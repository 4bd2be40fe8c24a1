"""The "every finding code is emitted" check (tests/finding_codes.py): which runs count as
the whole suite, and that the recording sees findings as they are built."""

from pathlib import Path

from tests.finding_codes import EMITTED, _recording, missing_codes, whole_suite
from thecal.therapy.findings import Code, Finding

ROOT = Path("/repo")


def test_only_the_whole_suite_counts() -> None:
    def whole(args: list[str], deselected: bool = False, narrowed: bool = False) -> bool:
        return whole_suite(args, ROOT, ["tests"], deselected=deselected, narrowed=narrowed)

    assert whole([]) and whole(["tests"]) and whole(["/repo/tests"]) and whole(["."])
    assert not whole(["tests/web"])
    assert not whole(["tests/unit/therapy/test_gate_refill.py"])
    assert not whole(["tests::test_x"])
    assert not whole(["tests"], deselected=True)  # -k / -m / --deselect removed some
    assert not whole(["tests"], narrowed=True)


def test_findings_are_recorded_as_they_are_built() -> None:
    # Building a real Finding here would count its code as emitted by a test that checks
    # nothing about it; the recording wrapper is checked on a stand-in class instead.
    assert Finding.__init__.__name__ == "recording_init"  # installed for the session

    class Stand:
        def __init__(self, code: str) -> None:
            self.code = code

    before = set(EMITTED)
    Stand.__init__ = _recording(Stand.__init__)  # type: ignore[method-assign]
    Stand("X-TEST")
    assert EMITTED - before == {"X-TEST"}
    EMITTED.discard("X-TEST")  # type: ignore[arg-type]
    assert missing_codes(set(Code)) == []
    assert missing_codes(set(Code) - {Code.FILL_EMPTY}) == ["FILL_EMPTY"]
