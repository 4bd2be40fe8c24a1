"""CLI start-up: `thecal --help` and `thecal plan show` against `python -c pass`, same run.

Run: .venv/bin/python benchmarks/cli_startup.py [--reps 9] [--markdown]
Targets (issue 11, 2-core machine): `thecal --help` under 0.3 s, `thecal plan show
examples/refill-morphine.toml` under 1 s. Each command runs --reps times, interleaved so a busy
neighbour slows all of them alike; the median wall and CPU (user + system) times are reported,
with the wall-time ratio to `python -c pass` measured in the same run. Exit 1 when a median
misses its target.
"""

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
THECAL = str(BIN / "thecal")
PLAN = str(ROOT / "examples" / "refill-morphine.toml")

# name -> (argv, target in seconds or None)
COMMANDS: dict[str, tuple[list[str], float | None]] = {
    "python -c pass": ([sys.executable, "-c", "pass"], None),
    "python -c 'import typer'": ([sys.executable, "-c", "import typer"], None),
    "thecal --help": ([THECAL, "--help"], 0.3),
    "thecal plan show refill-morphine": ([THECAL, "plan", "show", PLAN], 1.0),
}


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system of the child) seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv, _ in COMMANDS.values():  # warm-up: the OS file cache, .pyc files
        run_once(argv)
    for _ in range(args.reps):
        for name, (argv, _) in COMMANDS.items():
            wall, cpu = run_once(argv)
            walls[name].append(wall)
            cpus[name].append(cpu)

    base = statistics.median(walls["python -c pass"])
    failed = False
    rows = []
    for name, (_, target) in COMMANDS.items():
        wall = statistics.median(walls[name])
        cpu = statistics.median(cpus[name])
        verdict = "" if target is None else ("ok" if wall < target else "MISSED")
        failed |= verdict == "MISSED"
        goal = "" if target is None else f"< {target:g} s"
        rows.append((name, f"{wall:.3f}", f"{cpu:.3f}", f"{wall / base:.1f}", goal, verdict))

    header = ("command", "median wall s", "median CPU s", "× python -c pass", "target", "")
    if args.markdown:
        print("| " + " | ".join(header[:-1]) + " |")
        print("|" + "---|" * (len(header) - 1))
        for row in rows:
            print("| " + " | ".join((*row[:4], f"{row[4]} {row[5]}".strip())) + " |")
    else:
        print(f"{args.reps} runs each, interleaved; medians")
        for row in (header, *rows):
            print(f"{row[0]:<34} {row[1]:>14} {row[2]:>13} {row[3]:>17} {row[4]:>8} {row[5]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
