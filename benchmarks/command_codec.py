"""Command-layer codec benchmark: the pydantic envelope against plain ``json`` in the same run.

Run: .venv/bin/python benchmarks/command_codec.py

Reports the encode and decode time of a 1,000-event interrogation reply and the decode time of
one bolus command, each as a ratio to ``json.dumps`` / ``json.loads`` of the same document
measured in the same run (CI machines are busy: absolute times are for the record only).
"""

import json
import statistics
import sys
import timeit
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thecal.programmer.commands import (
    Command,
    Op,
    Reply,
    ReplyStatus,
    canonical,
    decode_command,
    decode_reply,
)


def _us(f: Callable[[], object], n: int) -> float:
    return statistics.median(timeit.repeat(f, number=n, repeat=7)) / n * 1e6


def main() -> None:
    events = [
        [
            i,
            "bolus_start",
            i * 0.5,
            i * 0.5,
            "patient bolus granted",
            [["volume", 0.02, "mL"]],
            None,
        ]
        for i in range(1000)
    ]
    reply = Reply(
        "interrogate", "abc", ReplyStatus.OK, datetime(2024, 1, 1), processed=True,
        data={"events": events, "more": False},
    )  # fmt: skip
    body = reply.encode()
    doc = json.loads(body)
    args = {"volume": {"value": 0.1, "unit": "mL"}, "duration": {"value": 1.0, "unit": "h"}}
    cmd = Command(Op.CLINICIAN_BOLUS, "abc", datetime(2024, 1, 1), args).encode()
    enc, enc0 = _us(reply.encode, 50), _us(lambda: canonical(doc), 50)
    dec, dec0 = _us(lambda: decode_reply(body), 50), _us(lambda: json.loads(body), 50)
    cdec, cdec0 = _us(lambda: decode_command(cmd), 2000), _us(lambda: json.loads(cmd), 2000)
    print(f"reply ({len(body):,} bytes, 1,000 events)")
    print(f"  encode {enc:,.0f} us = {enc / enc0:.2f} x canonical json.dumps ({enc0:,.0f} us)")
    print(f"  decode {dec:,.0f} us = {dec / dec0:.2f} x json.loads ({dec0:,.0f} us)")
    print(f"bolus command decode {cdec:.1f} us = {cdec / cdec0:.1f} x json.loads ({cdec0:.1f} us)")


if __name__ == "__main__":
    main()
