"""A throwaway PostgreSQL server for tests and benchmarks: initdb, pg_ctl start, and gone after use.

initdb refuses to run as root, so as root the server runs as the `postgres` user (runuser).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from clearway.errors import ConfigurationError


def available() -> str | None:
    """None when a server can be started here, else why not."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH (install the PostgreSQL server binaries)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str], user: str | None) -> None:
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ConfigurationError(f"{' '.join(argv)} failed: {result.stderr.strip() or result.stdout.strip()}")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL server on a free loopback port; yield its SQLAlchemy URL; stop and delete it."""
    reason = available()
    if reason is not None:
        raise ConfigurationError(reason)
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="clearway-pg-"))
    data = root / "data"
    port = _free_port()
    try:
        if user is not None:
            shutil.chown(root, user=user)
        _run(["initdb", "-D", str(data), "-U", "clearway", "--auth=trust", "-E", "UTF8", "--no-sync"], user)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=50"
        _run(
            ["pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start"],
            user,
        )
        try:
            yield f"postgresql+psycopg://clearway@127.0.0.1:{port}/postgres"
        finally:
            _run(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"], user)
    finally:
        shutil.rmtree(root, ignore_errors=True)
