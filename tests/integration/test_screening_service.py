"""Issue 19: the watch list refreshes while the service runs, and every decision records the list version."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import example
from tests.integration.test_api import registration, service_for

HEADER = "id,name,aliases,country,birth_date,identifiers,topics\n"


def test_a_new_list_is_in_force_without_a_restart(tmp_path: Path) -> None:
    listed = tmp_path / "list.csv"
    listed.write_text(HEADER + "W1,Someone Unrelated,,RU,,,sanction\n", encoding="utf-8")
    delta = tmp_path / "list.delta.jsonl"
    for s in service_for(f"sqlite:///{tmp_path / 'w.db'}", tmp_path, watchlist=listed, watchlist_delta=delta):
        seller = {"name": "Vortexa Dynamics Trading", "address": {"city": "Dubai", "country": "AE"}}
        first = registration(s.submit([example(reference="WL1", seller=seller)], key="w1"))
        assert s.runtime.clearance.decision(first)["lane"] != "red"  # type: ignore[index]
        old = s.app.watchlist.version  # type: ignore[union-attr]
        assert s.runtime.watchlist is not None and s.runtime.watchlist.refresh() is False  # nothing changed
        line = {"op": "ADD", "entity": {"id": "W2", "schema": "Company", "properties": {
            "name": ["Vortexa Dynamics Trading LLC"], "topics": ["sanction"]}}}  # fmt: skip
        delta.write_text(json.dumps(line) + "\n", encoding="utf-8")
        os.utime(delta, (1, 1))  # a change the clock's next look sees, whatever the file system's resolution
        assert s.runtime.watchlist.refresh() is True
        new = s.app.watchlist.version  # type: ignore[union-attr]
        assert new != old
        second = registration(s.submit([example(reference="WL2", seller=seller)], key="w2"))
        decision = s.runtime.clearance.decision(second)
        assert decision is not None and decision["lane"] == "red"
        assert any(r["code"] == "W2" and f"list {new}" in r["message"] for r in decision["reasons"])
        screened = {
            json.loads(e["data"]).get("screened_with")
            for cid in (first, second)
            for e in s.app.store.events(cid)
            if e["type"] == "assessed"
        }
        assert screened == {old, new}  # each decision says which list screened it
        assert s.app.ledger.audit() == []
