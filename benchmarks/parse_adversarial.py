"""Quantity parser under attack: the worst time for one adversarial value, as a ratio to
parsing "2.5 mL" in the same run (target: every value well under 100 ms, i.e. bounded work).

Run: .venv/bin/python benchmarks/parse_adversarial.py [--markdown]

Each input is parsed ``--number`` times per round, best of ``--repeat`` rounds (the minimum is
the least disturbed by other processes); accepted and refused inputs alike (a refusal builds an
InputError with its message). Also shown: pint's own ``Q_("2.5 mL")``, the path user text took
before (``5 mL * 9**9**9`` is not timed: on that path it ran for more than 6 minutes).
"""

import argparse
import contextlib
import json
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thecal.api.strict_json import non_finite_problem
from thecal.units import Q_, Dimension, InputError, parse_quantity

V = Dimension.VOLUME
ADVERSARIAL: list[tuple[str, object, Dimension]] = [
    ("exponent tower", "5 mL * 9**9**9", V),
    ("sum", "2 mL + 3 mL", V),
    ("decimal comma", "2,5 mL", V),
    ("thousands", "1,000,000,000,000 mg/d", Dimension.DOSE_RATE),
    ("NaN", "nan mg/d", Dimension.DOSE_RATE),
    ("infinity", "-Infinity mL", V),
    ("huge exponent", "1e999999999 mL", V),
    ("gallon", "4 gallon", V),
    ("64 digits", "9" * 61 + " mL", V),
    ("64 chars, all commas", "1," * 31 + "1 ", V),
    ("64 chars, operators", "(" * 32 + ")" * 32, V),
    ("64 chars, letters", "2 " + "m" * 62, V),
    ("64 chars, slashes", "2 " + "m/" * 31, V),
    ("65 chars", "1" * 62 + " mL", V),
    ("1 MB", "5 mL * 9**9**9 " * 70_000, V),
    ("10 MB", "9" * 10_000_000, V),
    ("JSON pair, NaN", {"value": float("nan"), "unit": "mL"}, V),
    ("JSON pair, 10**400", {"value": 10**400, "unit": "mL"}, V),
    ("JSON pair, 10 MB unit", {"value": 1, "unit": "m" * 10_000_000}, V),
]


def per_call_us(value: object, dim: Dimension, number: int, repeat: int) -> float:
    def once() -> None:
        with contextlib.suppress(InputError):
            parse_quantity(value, "refill.withdrawn", dim)

    return min(timeit.repeat(once, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--number", type=int, default=2000)
    args.add_argument("--repeat", type=int, default=5)
    args.add_argument("--markdown", action="store_true")
    a = args.parse_args()
    base = per_call_us("2.5 mL", V, a.number, a.repeat)
    pint_us = min(timeit.repeat(lambda: Q_("2.5 mL"), number=a.number // 4, repeat=a.repeat))
    pint_us = pint_us / (a.number // 4) * 1e6
    rows = [(name, per_call_us(v, d, a.number, a.repeat)) for name, v, d in ADVERSARIAL]
    body = b'{"withdrawn": {"value": 1.5, "unit": "mL"}, "x": [' + b"1.5, " * 200_000 + b"NaN]}"
    json_ms = min(timeit.repeat(lambda: non_finite_problem(body), number=3, repeat=3)) / 3 * 1e3
    plain_ms = min(timeit.repeat(lambda: json.loads(body), number=3, repeat=3)) / 3 * 1e3
    worst_name, worst = max(rows, key=lambda r: r[1])
    if a.markdown:
        print('| input | µs per value | × "2.5 mL" |\n|---|---|---|')
        print(f"| `2.5 mL` (baseline) | {base:.1f} | 1.0 |")
        for name, us in rows:
            print(f"| {name} | {us:.1f} | {us / base:.1f} |")
        print(f"| pint `Q_(\"2.5 mL\")` (the old path, accepted input) | {pint_us:.1f} | "
              f"{pint_us / base:.1f} |")  # fmt: skip
    else:
        print(f"baseline '2.5 mL': {base:.1f} µs per value")
        for name, us in rows:
            print(f"  {name:28s} {us:9.1f} µs  ({us / base:5.1f} ×)")
        print(f"pint Q_('2.5 mL'): {pint_us:.1f} µs ({pint_us / base:.1f} ×)")
    print(f"\nworst adversarial value: {worst_name}, {worst:.1f} µs = {worst / base:.1f} × baseline"
          f" = {worst / 1e5 * 100:.4f} % of the 100 ms budget")  # fmt: skip
    print(
        f"strict JSON check of a {len(body) / 1e6:.1f} MB body ending in NaN: {json_ms:.1f} ms"
        f" ({json_ms / plain_ms:.2f} × json.loads of the same body, {plain_ms:.1f} ms)"
    )
    if worst > 100_000:
        sys.exit(1)


if __name__ == "__main__":
    main()
