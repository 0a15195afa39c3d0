"""The ledger core: RFC 9162 hashing and proofs, checked against pymerkle (an independent implementation,
used only here), C2SP signed notes and checkpoints, and leaves that hold no personal data."""

from __future__ import annotations

import base64
import datetime as dt
from functools import lru_cache

import pytest
from pymerkle import InclusionProof, InmemoryTree
from pymerkle import verify_inclusion as pymerkle_verify_inclusion

from clearway.ledger import (
    Checkpoint,
    LedgerEvent,
    MerkleTree,
    NoteKey,
    NoteVerifier,
    checkpoint_due,
    leaf_bytes,
    leaf_hash,
    sign_note,
    verify_consistency,
    verify_inclusion,
    verify_note,
)
from clearway.ledger.note import NoteError

# RFC 6962 / RFC 9162 reference vectors: the Certificate Transparency test leaves and their tree heads.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
MAX = 300


def entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


@lru_cache(maxsize=1)
def trees() -> tuple[MerkleTree, InmemoryTree]:
    ours, theirs = MerkleTree(), InmemoryTree(algorithm="sha256")
    for data in entries(MAX):
        ours.append(leaf_hash(data))
        theirs.append_entry(data)
    return ours, theirs


def test_the_independent_implementation_hashes_as_rfc_9162() -> None:
    theirs = InmemoryTree(algorithm="sha256")
    for n, data in enumerate(CT_LEAVES, start=1):
        theirs.append_entry(data)
        assert theirs.get_root(n).hex() == CT_ROOTS[n - 1]


def test_our_tree_heads_match_the_rfc_vectors() -> None:
    tree = MerkleTree()
    assert tree.root().hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for n, data in enumerate(CT_LEAVES, start=1):
        tree.append(leaf_hash(data))
        assert tree.root().hex() == CT_ROOTS[n - 1]


def test_tree_heads_for_every_size_match_the_independent_implementation() -> None:
    ours, theirs = trees()
    for n in range(1, MAX + 1):
        assert ours.root(n) == theirs.get_root(n), n


def test_inclusion_proofs_for_every_leaf_of_every_size() -> None:
    ours, theirs = trees()
    for n in range(1, MAX + 1):
        root = theirs.get_root(n)
        for m in range(n):
            path = ours.inclusion_proof(m, n)
            assert verify_inclusion(ours.leaf(m), m, n, path, root), (m, n)
            if n <= 64 or m % 7 == 0:  # the independent side is slower; sample the larger sizes
                proof = theirs.prove_inclusion(m + 1, n)
                assert proof.path[1:] == path, (m, n)  # same audit path, same order
                layout = InclusionProof(
                    algorithm="sha256", security=True, size=n, index=m + 1, rule=proof.rule, path=[ours.leaf(m), *path]
                )
                pymerkle_verify_inclusion(ours.leaf(m), root, layout)


def test_consistency_proofs_between_every_pair_of_sizes() -> None:
    ours, theirs = trees()
    roots = [b""] + [theirs.get_root(n) for n in range(1, MAX + 1)]
    for n in range(1, MAX + 1):
        for m in range(1, n + 1):
            proof = ours.consistency_proof(m, n)
            assert verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
            if m < n:
                assert not verify_consistency(m, n, roots[m], roots[n - 1] if n > m + 1 else b"\x00" * 32, proof)


def test_independent_consistency_proofs_agree_with_our_roots() -> None:
    ours, theirs = trees()
    from pymerkle import verify_consistency as pymerkle_verify_consistency

    for n in range(1, 65):
        for m in range(1, n + 1):
            pymerkle_verify_consistency(ours.root(m), ours.root(n), theirs.prove_consistency(m, n))


def test_tampered_proofs_fail() -> None:
    ours, _ = trees()
    n, m = 200, 77
    root, path = ours.root(n), ours.inclusion_proof(m, n)
    assert verify_inclusion(ours.leaf(m), m, n, path, root)
    assert not verify_inclusion(ours.leaf(m + 1), m, n, path, root)  # another leaf
    assert not verify_inclusion(ours.leaf(m), m + 1, n, path, root)  # another position
    assert not verify_inclusion(ours.leaf(m), m, n, path[:-1], root)  # a hash short
    assert not verify_inclusion(ours.leaf(m), m, n, [*path, path[0]], root)  # a hash too many
    assert not verify_inclusion(ours.leaf(m), m, n, [bytes(32), *path[1:]], root)
    proof = ours.consistency_proof(100, n)
    assert not verify_consistency(100, n, ours.root(99), root, proof)
    assert not verify_consistency(100, n, ours.root(100), root, proof[1:])


def _rebuilt(hashes: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    tree.extend(hashes)
    return tree


def test_altering_removing_or_reordering_a_leaf_breaks_consistency_with_an_old_head() -> None:
    leaves = [leaf_hash(d) for d in entries(40)]
    honest = _rebuilt(leaves)
    head = (30, honest.root(30))
    altered = leaves.copy()
    altered[12] = leaf_hash(b"rewritten")
    removed = leaves[:12] + leaves[13:]
    reordered = leaves.copy()
    reordered[3], reordered[4] = reordered[4], reordered[3]
    for history in (altered, removed, reordered):
        forged = _rebuilt(history)
        assert forged.root(30) != head[1]
        assert not verify_consistency(30, forged.size, head[1], forged.root(), forged.consistency_proof(30))
    assert verify_consistency(30, 40, head[1], honest.root(), honest.consistency_proof(30, 40))


def test_bad_arguments_are_refused() -> None:
    tree = _rebuilt([leaf_hash(b"a")])
    with pytest.raises(ValueError):
        tree.inclusion_proof(1, 1)
    with pytest.raises(ValueError):
        tree.root(2)
    with pytest.raises(ValueError):
        tree.append(b"short")
    assert not verify_inclusion(tree.leaf(0), 1, 1, [], tree.root())
    assert not verify_consistency(2, 1, tree.root(), tree.root(), [])


KEY = NoteKey("customs.example/ledger", bytes(range(32)))


def test_signed_note_round_trip_and_c2sp_format() -> None:
    signed = sign_note("hello\nworld\n", KEY)
    text, names = verify_note(signed, [KEY.verifier])
    assert text == "hello\nworld\n" and names == ["customs.example/ledger"]
    lines = signed.split("\n")
    assert lines[2] == "" and lines[3].startswith("\u2014 customs.example/ledger ")
    raw = base64.b64decode(lines[3].rsplit(" ", 1)[1])
    assert raw[:4] == KEY.verifier.key_hash and len(raw) == 68  # key hash and a 64-byte Ed25519 signature


def test_keys_encode_and_parse() -> None:
    assert NoteVerifier.parse(KEY.verifier.encode()) == KEY.verifier
    assert NoteKey.parse(KEY.encode()) == KEY
    with pytest.raises(NoteError):
        NoteVerifier.parse(KEY.verifier.encode().replace("+", "+0", 1))


def test_forged_or_foreign_notes_are_refused() -> None:
    signed = sign_note("size 10\n", KEY)
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(signed.replace("size 10", "size 11"), [KEY.verifier])
    other = NoteKey("customs.example/ledger", bytes(32))
    with pytest.raises(NoteError, match="no signature of a known key"):
        verify_note(sign_note("size 10\n", other), [KEY.verifier])
    with pytest.raises(NoteError):
        verify_note("size 10\n", [KEY.verifier])


def test_checkpoints() -> None:
    tree = _rebuilt([leaf_hash(d) for d in entries(5)])
    checkpoint = Checkpoint(KEY.name, 5, tree.root())
    signed = checkpoint.sign(KEY)
    assert signed.startswith(f"customs.example/ledger\n5\n{base64.b64encode(tree.root()).decode()}\n\n\u2014 ")
    assert Checkpoint.from_signed(signed, KEY.verifier) == checkpoint
    with pytest.raises(NoteError):
        Checkpoint.from_signed(signed.replace("\n5\n", "\n6\n"), KEY.verifier)


def test_checkpoint_policy_every_n_events_or_t_seconds() -> None:
    t0 = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    assert checkpoint_due(1, 0, None, t0, every=100, seconds=60)
    assert not checkpoint_due(50, 40, t0, t0 + dt.timedelta(seconds=59), every=100, seconds=60)
    assert checkpoint_due(50, 40, t0, t0 + dt.timedelta(seconds=60), every=100, seconds=60)
    assert checkpoint_due(140, 40, t0, t0, every=100, seconds=60)
    assert not checkpoint_due(40, 40, t0, t0 + dt.timedelta(days=1), every=100, seconds=60)


def test_leaves_commit_to_the_event_without_revealing_it() -> None:
    at = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    event = LedgerEvent("assessed", "c0ffee", at, {"lane": "red", "referrals": ["dnl"]})
    salt = bytes(range(16))
    leaf = leaf_bytes(event, salt)
    assert leaf.startswith(b"clearway-ledger-v1:") and len(leaf) == 19 + 32
    assert b"red" not in leaf and b"c0ffee" not in leaf
    same_instant = LedgerEvent("assessed", "c0ffee", at.astimezone(dt.UTC), {"referrals": ["dnl"], "lane": "red"})
    assert leaf_bytes(same_instant, salt) == leaf  # canonical: key order and time zone do not matter
    assert leaf_bytes(LedgerEvent("assessed", "c0ffee", at, {"lane": "green", "referrals": []}), salt) != leaf
    assert leaf_bytes(event, bytes(16)) != leaf
