"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature:
`— <key name> <base64(key hash[4] || signature)>`. The key hash is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key). Verifier keys are written `name+hash+base64(0x01||key)`;
signer keys `PRIVATE+KEY+name+hash+base64(0x01||seed)`, as in Go's golang.org/x/mod/sumdb/note.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from clearway.errors import InvalidInput

ED25519 = 0x01
DASH = "\u2014 "


class NoteError(InvalidInput):
    """A note that is malformed or carries no valid signature of a known key."""


def _key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    public: bytes  # 32-byte Ed25519 public key

    @property
    def key_hash(self) -> bytes:
        return _key_hash(self.name, self.public)

    def encode(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}+{base64.b64encode(bytes([ED25519]) + self.public).decode()}"

    @classmethod
    def parse(cls, text: str) -> NoteVerifier:
        parts = text.strip().split("+", 2)  # base64 may hold '+' itself
        if len(parts) != 3:
            raise NoteError("a verifier key is name+hash+key")
        name, hash_hex, key_b64 = parts
        _check_name(name)
        try:
            raw = base64.b64decode(key_b64, validate=True)
        except ValueError as exc:
            raise NoteError("verifier key is not base64") from exc
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("only Ed25519 verifier keys (type 0x01) are supported")
        verifier = cls(name, raw[1:])
        if verifier.key_hash.hex() != hash_hex.lower():
            raise NoteError("verifier key hash does not match its name and key")
        return verifier


@dataclass(frozen=True)
class NoteKey:
    """A signing key: its name (the log's origin) and its 32-byte Ed25519 seed."""

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 seed is 32 bytes")

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> NoteVerifier:
        public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return NoteVerifier(self.name, public)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def encode(self) -> str:
        key_hash = self.verifier.key_hash.hex()
        return f"PRIVATE+KEY+{self.name}+{key_hash}+{base64.b64encode(bytes([ED25519]) + self.seed).decode()}"

    @classmethod
    def parse(cls, text: str) -> NoteKey:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+name+hash+key")
        raw = base64.b64decode(parts[4])
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("only Ed25519 signer keys are supported")
        key = cls(parts[2], raw[1:])
        if key.verifier.key_hash.hex() != parts[3].lower():
            raise NoteError("signer key hash does not match its name and key")
        return key


def sign_note(text: str, key: NoteKey) -> str:
    """The signed note: `text` (which must end in a newline), a blank line and the signature line."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text ends with a newline and has no blank lines")
    signature = key.verifier.key_hash + key.sign(text.encode())
    return f"{text}\n{DASH}{key.name} {base64.b64encode(signature).decode()}\n"


def verify_note(signed: str, verifiers: list[NoteVerifier]) -> tuple[str, list[str]]:
    """The note's text and the names of the known keys whose signatures verify; NoteError if none does."""
    head, sep, block = signed.rpartition("\n\n")
    if not sep or not block.endswith("\n"):
        raise NoteError("not a signed note: text, a blank line, then signature lines")
    text = head + "\n"
    by_hash = {(v.name, v.key_hash): v for v in verifiers}
    valid: list[str] = []
    for line in block.splitlines():
        if not line.startswith(DASH):
            raise NoteError(f"malformed signature line {line[:40]!r}")
        name, _, encoded = line[len(DASH) :].rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise NoteError("signature is not base64") from exc
        verifier = by_hash.get((name, raw[:4]))
        if verifier is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(verifier.public).verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"the signature of {name} does not verify") from exc
        valid.append(name)
    if not valid:
        raise NoteError("no signature of a known key on this note")
    return text, valid
