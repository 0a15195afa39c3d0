"""`clearway serve` in a child process, as operators run it, for tests that need a real server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def serving(home: Path, env: dict[str, str] | None = None, stop_within: float = 20) -> Iterator[Server]:
    """A server on a free port of loopback, answering before this yields; stopped (if alive) after, within
    `stop_within` seconds (it first stores what is queued: each waiting request gets its answer). Unless
    `env` says otherwise, its own shutdown grace leaves room in that wait for the assessor's worst case
    (the grace, 10 s more for a batch under way, then 5 s after it is ended): with the default of 30 s, a
    loaded machine's drain outlasted the wait. What the grace leaves stays registered for the next start."""
    port = _port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    grace = max(0.5, stop_within - 18)
    environment |= {"CLEARWAY_HOME": str(home), "CLEARWAY_SHUTDOWN_GRACE": str(grace)} | (env or {})
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "clearway", "serve", "--port", str(port)],
            env=environment, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        for _ in range(300):  # up to 30 s for the server to import and bind
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/v1/ledger/key", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise AssertionError(f"clearway serve died:\n{server.output()}")
            time.sleep(0.1)
        else:
            raise AssertionError("clearway serve did not answer within 30 s")
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=stop_within)
