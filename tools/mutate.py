"""A small mutation tester for the safety-critical modules (standard library only).

For each module it generates mutants with ``ast`` (the changes that matter for safety limits:
comparison swaps, and/or swaps, ``not`` and unary-minus removal, numeric constant changes,
``+``/``-`` swaps, bool/None return flips, and removal of a statement that adds a finding), writes
each mutant over the module in place, runs a pytest selection against it and counts killed /
survived / timed-out mutants. The original file is always restored (``finally``, SIGTERM and a
backup file that the next run restores if the process was killed).

    python tools/mutate.py --module src/thecal/therapy/compare.py --tests tests/unit/therapy

Survivors are printed with their line and the mutation: each needs a test that kills it, or an
argument that it is equivalent (docs/testing.md).
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_CMP_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_CMP_TEXT = {
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
# Methods whose call as a statement adds a finding to a list: removing it makes a finding vanish.
_COLLECTORS = {"append", "extend"}
BACKUP_SUFFIX = ".mutate-backup"


@dataclass(frozen=True)
class Mutant:
    """One change to the source: replace ``source[start:end]`` with ``replacement``."""

    index: int
    line: int
    start: int
    end: int
    replacement: str
    description: str

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line numbers index it directly)."""
    starts = [0, 0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _is_str_expr(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _is_str_expr(node.left) or _is_str_expr(node.right)
    return False


def _number_variants(value: float) -> list[float]:
    """c -> c + 1, c -> 0 (non-zero c), and x1000 for tolerances (0 < |c| < 1e-3)."""
    out: list[float] = [value + 1]
    if value != 0:
        out.append(type(value)(0))
    if 0 < abs(value) < 1e-3:
        out.append(value * 1000)
    return [v for v in dict.fromkeys(out) if v != value]


def _annotation_text(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return ast.unparse(fn.returns) if fn.returns is not None else ""


class _Collector(ast.NodeVisitor):
    """Walks a module and records every mutation site as (node, replacement text, description)."""

    def __init__(self) -> None:
        self.sites: list[tuple[ast.AST, str, str, bool]] = []  # node, text, what, is_statement
        self._returns: list[str] = []

    # --- skipped subtrees: messages and docstrings do not carry safety logic -----------------
    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return

    def visit_Expr(self, node: ast.Expr) -> None:
        call = node.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in _COLLECTORS
        ):
            target = ast.unparse(call.func.value)
            self._add(node, "pass", f"remove `{target}.{call.func.attr}(...)`", statement=True)
        if isinstance(call, ast.Constant) and isinstance(call.value, str):
            return  # docstring
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
            self._add(node, "pass", f"remove `{node.target.id} += ...`", statement=True)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators, defaults and annotations are visited too; the body knows its return type.
        self._returns.append(_annotation_text(node))
        try:
            self.generic_visit(node)
        finally:
            self._returns.pop()

    def visit_arguments(self, node: ast.arguments) -> None:
        for default in [*node.defaults, *(d for d in node.kw_defaults if d is not None)]:
            self.visit(default)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_Return(self, node: ast.Return) -> None:
        returns = self._returns[-1] if self._returns else ""
        value = node.value
        if returns == "bool" and value is not None:
            for flip in ("True", "False"):
                if not (isinstance(value, ast.Constant) and repr(value.value) == flip):
                    self._add(node, f"return {flip}", f"return {flip}", statement=True)
        elif (
            "None" in returns.replace(" ", "").split("|")
            and value is not None
            and not (isinstance(value, ast.Constant) and value.value is None)
        ):
            self._add(node, "return None", "return None", statement=True)
        self.generic_visit(node)

    # --- expressions ---------------------------------------------------------------------------
    def visit_Compare(self, node: ast.Compare) -> None:
        for i, op in enumerate(node.ops):
            swap = _CMP_SWAPS.get(type(op))
            if swap is None:
                continue
            ops = list(node.ops)
            ops[i] = swap()
            new = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
            what = f"`{_CMP_TEXT[type(op)]}` -> `{_CMP_TEXT[swap]}`"
            self._add(node, ast.unparse(new), what)
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        swap: ast.boolop = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        what = "`and` -> `or`" if isinstance(node.op, ast.And) else "`or` -> `and`"
        self._add(node, ast.unparse(ast.BoolOp(op=swap, values=node.values)), what)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._add(node, ast.unparse(node.operand), "remove `not`")
        elif isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
            self._add(node, ast.unparse(node.operand), "remove unary `-`")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Add | ast.Sub) and not _is_str_expr(node):
            swap: ast.operator = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            what = "`+` -> `-`" if isinstance(node.op, ast.Add) else "`-` -> `+`"
            self._add(node, ast.unparse(ast.BinOp(left=node.left, op=swap, right=node.right)), what)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._add(node, repr(not value), f"`{value}` -> `{not value}`")
        elif isinstance(value, int | float):
            for new in _number_variants(value):
                self._add(node, repr(new), f"`{value!r}` -> `{new!r}`")

    def _add(self, node: ast.AST, text: str, what: str, statement: bool = False) -> None:
        self.sites.append((node, text, what, statement))


def generate(source: str) -> list[Mutant]:
    """Every mutant of ``source``, in source order; each is a text replacement of one node."""
    tree = ast.parse(source)
    collector = _Collector()
    collector.visit(tree)
    offsets = _offsets(source)
    mutants: list[Mutant] = []
    seen: set[str] = set()
    original = ast.dump(tree)
    for node, text, what, statement in collector.sites:
        line, col = node.lineno, node.col_offset  # type: ignore[attr-defined]
        end_line, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        # ast offsets are UTF-8 byte offsets within a line: convert to character offsets.
        start = offsets[line] + len(_line(source, offsets, line).encode()[:col].decode())
        end = offsets[end_line] + len(_line(source, offsets, end_line).encode()[:end_col].decode())
        replacement = text if statement else f"({text})"
        candidate = source[:start] + replacement + source[end:]
        try:
            # Compare trees, not text: `return (False)` and `return False` are one mutant.
            shape = ast.dump(ast.parse(candidate))
        except SyntaxError:
            continue
        if shape == original or shape in seen:
            continue
        seen.add(shape)
        mutants.append(Mutant(len(mutants), line, start, end, replacement, what))
    return mutants


def _line(source: str, offsets: list[int], line: int) -> str:
    return source[offsets[line] : offsets[line + 1]]


# --- running ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | timeout
    seconds: float


def _pytest(tests: Sequence[str], timeout: float, cwd: Path) -> tuple[str, float]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True, check=False
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - t0
    # 0: all passed (survived); 5: no tests collected is a usage error, not a kill.
    if proc.returncode == 5:
        raise SystemExit(f"pytest collected no tests for {' '.join(tests)}")
    return ("survived" if proc.returncode == 0 else "killed"), time.monotonic() - t0


def _drop_bytecode(path: Path) -> None:
    """Remove the module's cached bytecode so that no run reads a stale copy of another mutant
    (pyc validity is mtime in whole seconds + size: two same-size mutants can collide)."""
    cache = path.parent / "__pycache__"
    for pyc in cache.glob(f"{path.stem}.*.pyc"):
        pyc.unlink(missing_ok=True)


class _Patched:
    """Writes mutants over ``path`` and always puts the original back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backup = path.with_name(path.name + BACKUP_SUFFIX)
        self.original = path.read_bytes()
        self.stat = path.stat()

    def __enter__(self) -> _Patched:
        self.backup.write_bytes(self.original)
        return self

    def write(self, text: str) -> None:
        _drop_bytecode(self.path)
        self.path.write_text(text, encoding="utf-8")

    def restore(self) -> None:
        self.path.write_bytes(self.original)
        os.utime(self.path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns))
        _drop_bytecode(self.path)
        self.backup.unlink(missing_ok=True)

    def __exit__(self, *exc: object) -> None:
        self.restore()


def recover(path: Path) -> bool:
    """Put back an original left by a killed run (its backup file). True when one was found."""
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    if not backup.exists():
        return False
    path.write_bytes(backup.read_bytes())
    backup.unlink()
    _drop_bytecode(path)
    return True


def run_module(
    path: Path,
    mutants: Sequence[Mutant],
    tests: Sequence[str],
    timeout: float,
    cwd: Path,
    log: bool = True,
) -> list[Outcome]:
    """Run ``tests`` against each mutant of ``path``; the file is restored whatever happens."""
    source = path.read_text(encoding="utf-8")
    outcomes: list[Outcome] = []
    with _Patched(path) as patched:
        for n, m in enumerate(mutants, 1):
            patched.write(m.apply(source))
            status, seconds = _pytest(tests, timeout, cwd)
            outcomes.append(Outcome(m, status, seconds))
            if log:
                print(
                    f"  [{n}/{len(mutants)}] #{m.index} L{m.line} {m.description}: {status} "
                    f"({seconds:.1f} s)",
                    flush=True,
                )
    return outcomes


def _table(rows: list[tuple[str, int, int, int, int]]) -> str:
    head = f"{'module':<42} {'mutants':>7} {'killed':>6} {'survived':>8} {'timeout':>7} {'kill':>6}"
    lines = [head, "-" * len(head)]
    for name, total, killed, survived, timeout in rows:
        rate = 100.0 * (killed + timeout) / total if total else 100.0
        lines.append(f"{name:<42} {total:>7} {killed:>6} {survived:>8} {timeout:>7} {rate:>5.1f}%")
    return "\n".join(lines)


def _source_line(source: str, line: int) -> str:
    return source.splitlines()[line - 1].strip()


def _select(mutants: list[Mutant], ids: str | None, limit: int | None, seed: int) -> list[Mutant]:
    if ids:
        wanted = {int(i) for i in ids.split(",") if i.strip()}
        return [m for m in mutants if m.index in wanted]
    if limit is not None and len(mutants) > limit:
        picked = random.Random(seed).sample(mutants, limit)
        return sorted(picked, key=lambda m: m.index)
    return mutants


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", required=True, help="module file (repeat)")
    parser.add_argument(
        "--tests", action="append", default=None, help="pytest selection (repeatable)"
    )
    parser.add_argument("--max", type=int, default=None, help="at most N mutants per module")
    parser.add_argument("--seed", type=int, default=0, help="seed for the --max sample")
    parser.add_argument("--ids", default=None, help="only these mutant numbers (e.g. 3,17)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per mutant")
    args = parser.parse_args(argv)

    cwd = Path.cwd()
    tests: list[str] = args.tests or ["tests/unit/therapy"]
    rows: list[tuple[str, int, int, int, int]] = []
    survivors: list[tuple[str, str, Outcome]] = []
    stop = False

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through _Patched.__exit__, which restores the file

    signal.signal(signal.SIGTERM, _terminate)

    for name in args.module:
        path = Path(name)
        if recover(path):
            print(f"{name}: restored the original left by an interrupted run")
        source = path.read_text(encoding="utf-8")
        mutants = _select(generate(source), args.ids, args.max, args.seed)
        if args.list:
            print(f"{name}: {len(mutants)} mutants")
            for m in mutants:
                line = _source_line(source, m.line)
                print(f"  #{m.index:<4} L{m.line:<4} {m.description:<40} {line}")
            continue
        status, baseline = _pytest(tests, args.timeout or 600.0, cwd)
        if status != "survived":
            print(f"{name}: the tests fail on the unmutated code ({status}); fix them first")
            return 2
        timeout = args.timeout or max(30.0, 4 * baseline)
        print(
            f"{name}: {len(mutants)} mutants, tests {' '.join(tests)} "
            f"(baseline {baseline:.1f} s, timeout {timeout:.0f} s)",
            flush=True,
        )
        try:
            outcomes = run_module(path, mutants, tests, timeout, cwd)
        except KeyboardInterrupt:
            stop = True
            outcomes = []
        killed = sum(o.status == "killed" for o in outcomes)
        timed_out = sum(o.status == "timeout" for o in outcomes)
        alive = [o for o in outcomes if o.status == "survived"]
        rows.append((name, len(outcomes), killed, len(alive), timed_out))
        survivors += [(name, source, o) for o in alive]
        if stop:
            print("interrupted: the module was restored")
            break

    if args.list:
        return 0
    print()
    print(_table(rows))
    if survivors:
        print("\nSurvivors:")
        for name, source, o in survivors:
            m = o.mutant
            print(f"  {name}:{m.line} #{m.index} {m.description}    {_source_line(source, m.line)}")
    return 1 if stop else 0


if __name__ == "__main__":
    sys.exit(main())
