"""Secret files: read when present, else made once with mode 0600 (never overwritten)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The text of `path`; when it does not exist, `make()` written there first (readable by the owner only)."""
    if path.exists():
        return path.read_text(encoding="utf-8")
    text = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return text


def load_secret(path: Path) -> bytes:
    """The administration's 32-byte secret (token signing, keyed party hashes)."""
    return bytes.fromhex(read_or_create(path, lambda: os.urandom(32).hex() + "\n").strip())
