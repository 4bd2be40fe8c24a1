"""``thecal serve`` as a real process on an ephemeral port."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

STARTUP_S = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_login(tmp_path: Path) -> None:
    port = _free_port()
    env = dict(os.environ, THECAL_SECRET_KEY="test")
    cmd = [sys.executable, "-m", "thecal.cli.main", "serve", "--port", str(port), "--no-demo",
           "--database-url", f"sqlite:///{tmp_path / 'c.sqlite3'}"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # A hang guard, not a speed target (a busy CI machine is slow, not stuck).
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    assert r.status == 200 and b"Log in" in r.read()
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                if time.monotonic() > deadline:
                    pytest.fail(f"server did not answer in {STARTUP_S} s (hang guard)")
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
