"""Checkpoints (c2sp.org/tlog-checkpoint): origin, tree size and root hash, signed as a note."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

from clearway.ledger.note import NoteError, NoteKey, NoteVerifier, sign_note, verify_note


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, key: NoteKey) -> str:
        if key.name != self.origin:
            raise NoteError(f"the key {key.name} does not sign for the log {self.origin}")
        return sign_note(self.body(), key)

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or not lines[0] or not lines[1].isdigit():
            raise NoteError("a checkpoint body is origin, tree size and root hash on three lines")
        try:
            root = base64.b64decode(lines[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("checkpoint root hash is not base64") from exc
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(lines[0], int(lines[1]), root)

    @classmethod
    def from_signed(cls, signed: str, verifier: NoteVerifier) -> Checkpoint:
        """Verify a signed checkpoint with the log's key and read it; NoteError when it fails."""
        text, _ = verify_note(signed, [verifier])
        checkpoint = cls.parse_body(text)
        if checkpoint.origin != verifier.name:
            raise NoteError(f"checkpoint of {checkpoint.origin}, expected {verifier.name}")
        return checkpoint


def checkpoint_due(
    size: int, last_size: int, last_at: dt.datetime | None, now: dt.datetime, *, every: int, seconds: float
) -> bool:
    """Sign a new checkpoint when `every` events were added since the last one, or `seconds` have passed."""
    if size <= last_size:
        return False
    if last_at is None or size - last_size >= every:
        return True
    return (now - last_at).total_seconds() >= seconds
