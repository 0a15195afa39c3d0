"""The ledger as its users run it: `clearway serve`, then `ledger verify` and `ledger watch` from outside."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.integration.server import serving
from tests.integration.test_cli import clearway


def _ingest(home: Path, day: Path, seed: int) -> None:
    clearway("simulate", "--size", "60", "--seed", str(seed), "--out", str(day), home=home)
    for path in sorted((day / "aed").glob("*.ndjson"))[:3]:
        clearway("ingest", str(path), "--submitter", path.stem, home=home)
    clearway("ledger", "checkpoint", home=home)


def test_verify_and_watch_against_a_running_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _ingest(home, tmp_path / "day1", 1)
    key = clearway("ledger", "key", home=home).stdout.strip()
    state = tmp_path / "witness.json"
    database = home / "clearway.db"
    with sqlite3.connect(database) as db:
        consignment = db.execute("SELECT consignment_id FROM ledger_leaves ORDER BY leaf_index LIMIT 1").fetchone()[0]
    officer = json.loads(clearway("clients", "add", "auditor", "--role", "officer", home=home).stdout)
    with serving(home) as server:
        url = server.url
        issued = httpx.post(
            f"{url}/v1/oauth/token",
            data={"grant_type": "client_credentials", "client_id": officer["client_id"],
                  "client_secret": officer["client_secret"]},
        ).json()  # fmt: skip
        headers = {"Authorization": f"Bearer {issued['access_token']}"}
        bundle = httpx.get(f"{url}/v1/ledger/consignments/{consignment}/proof", headers=headers).json()
        proof = tmp_path / "proof.json"
        proof.write_text(json.dumps(bundle))
        verified = clearway("ledger", "verify", "--proof", str(proof), "--key", key, home=home).stdout
        assert "ok  leaf 0: registered" in verified and "assessed" in verified
        first = clearway("ledger", "watch", "--url", url, "--key", key, "--state", str(state), "--once", home=home)
        assert "size None ->" in first.stdout
    _ingest(home, tmp_path / "day2", 2)
    with serving(home) as server:
        url = server.url
        grown = clearway("ledger", "watch", "--url", url, "--key", key, "--state", str(state), "--once", home=home)
        assert "ok  clearway.local/ledger: size" in grown.stdout
    bundle["entries"][0]["event"] = bundle["entries"][0]["event"].replace('"version":1', '"version":2')
    proof.write_text(json.dumps(bundle))
    lie = clearway("ledger", "verify", "--proof", str(proof), "--key", key, home=home, check=False)
    assert lie.returncode == 2 and "do not give its leaf hash" in lie.stderr

    with sqlite3.connect(database) as db:  # rewrite history: alter a leaf, drop the signed heads, re-sign
        db.execute("UPDATE ledger_leaves SET leaf_hash = zeroblob(32) WHERE leaf_index = 1")
        db.execute("DELETE FROM ledger_checkpoints")
    audit = clearway("ledger", "audit", home=home, check=False)
    assert audit.returncode == 3 and "LEDGER TAMPERED" in audit.stderr
    clearway("ledger", "checkpoint", home=home)
    with serving(home) as server:
        url = server.url
        caught = clearway(
            "ledger", "watch", "--url", url, "--key", key, "--state", str(state), "--once", home=home, check=False
        )
    assert caught.returncode == 3
    assert "LEDGER COMPROMISED" in caught.stderr and "fork" in caught.stderr


@pytest.mark.parametrize("bad", ["not+a+key", "x"])
def test_verify_refuses_a_bad_key(tmp_path: Path, bad: str) -> None:
    proof = tmp_path / "p.json"
    proof.write_text(json.dumps({"tree_size": 1, "checkpoint": "x\n1\nAA==\n\n", "salt": "", "entries": []}))
    result = clearway("ledger", "verify", "--proof", str(proof), "--key", bad, home=tmp_path, check=False)
    assert result.returncode == 2 and "error" in result.stderr
