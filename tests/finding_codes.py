"""Every stable finding code is *emitted* by the test suite, not merely mentioned in it.

A pytest plugin (its hooks are imported by ``tests/conftest.py``): while the tests run, every
:class:`thecal.therapy.findings.Finding` constructed in this process records its code. When
the whole suite ran and passed — the default test paths, nothing deselected, no ``-k`` / ``-m``
/ ``--lf`` / ``--collect-only`` — a code of :class:`~thecal.therapy.findings.Code` that was
never emitted fails the session (exit status 1, the codes listed). A run of a subset cannot
know, so it never fails on this. (Findings built in a subprocess, e.g. a CLI run, do not count:
each code needs an in-process test.)"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from thecal.therapy.findings import Code, Finding

EMITTED: set[Code] = set()
_STATE: dict[str, Any] = {"whole": False, "init": None}


def _recording(init: Callable[..., None]) -> Callable[..., None]:
    def recording_init(self: Finding, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        EMITTED.add(self.code)

    return recording_init


def whole_suite(args: Sequence[str], rootpath: Path, testpaths: Sequence[str], *,
                deselected: bool, narrowed: bool) -> bool:  # fmt: skip
    """True when the run covers every test: the arguments are the default test paths (or the
    project root) and nothing was deselected or narrowed by an option."""
    if deselected or narrowed:
        return False
    full = {(rootpath / p).resolve() for p in testpaths} | {rootpath.resolve()}
    given = {(rootpath / a.split("::")[0]).resolve() for a in args} if args else full
    return given <= full and all("::" not in a for a in args)


def missing_codes(emitted: set[Code]) -> list[str]:
    """The codes never emitted, by name."""
    return sorted(c.name for c in Code if c not in emitted)


def pytest_configure(config: pytest.Config) -> None:
    _STATE["init"] = Finding.__init__
    Finding.__init__ = _recording(Finding.__init__)  # type: ignore[method-assign]
    _STATE["whole"] = False
    _STATE["deselected"] = False


def pytest_unconfigure(config: pytest.Config) -> None:
    if _STATE["init"] is not None:
        Finding.__init__ = _STATE["init"]  # type: ignore[method-assign]
        _STATE["init"] = None


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    if items:
        _STATE["deselected"] = True


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    option = config.option
    narrowed = bool(
        getattr(option, "keyword", "") or getattr(option, "markexpr", "")
        or getattr(option, "lf", False) or getattr(option, "failedfirst", False)
        or getattr(option, "collectonly", False) or getattr(option, "deselect", None)
        or getattr(option, "ignore", None) or getattr(option, "ignore_glob", None)
    )  # fmt: skip
    testpaths = config.getini("testpaths") or ["."]
    _STATE["whole"] = whole_suite(
        [str(a) for a in config.args], config.rootpath, testpaths,
        deselected=bool(_STATE.get("deselected")), narrowed=narrowed,
    )  # fmt: skip


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _STATE["whole"] or exitstatus != 0 or session.testsfailed:
        return
    missing = missing_codes(EMITTED)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if missing:
        text = ("finding codes never emitted by the test suite (each needs a test that "
                f"produces it): {', '.join(missing)}")  # fmt: skip
        if reporter is not None:
            reporter.write_line(text, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        reporter.write_line(f"every finding code was emitted by the suite ({len(Code)} codes)")
