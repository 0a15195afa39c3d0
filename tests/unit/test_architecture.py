"""The core imports no framework and no edge (style habit 1)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "clearway"
CORE = (
    "model", "accounts", "cooperation", "risk", "pipeline", "ledger", "revenue", "clearance", "targeting", "kpi",
    "impact",
)  # fmt: skip
FORBIDDEN = (
    "sqlalchemy", "alembic", "psycopg", "litestar", "httpx", "typer", "rich", "jinja2", "matplotlib",
    "clearway.store", "clearway.intake", "clearway.api", "clearway.web", "clearway.cli", "clearway.sim",
    "clearway.services", "clearway.report", "clearway.bootstrap", "clearway.scale", "clearway.interop",
)  # fmt: skip


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_packages_import_no_framework_and_no_edge() -> None:
    offenders = {}
    for package in CORE:
        for path in (SRC / package).rglob("*.py"):
            bad = {name for name in imports(path) if name.split(".")[0] in FORBIDDEN or name.startswith(FORBIDDEN)}
            if bad:
                offenders[str(path.relative_to(SRC))] = sorted(bad)
    assert offenders == {}


PACKAGED_DATA = {"revenue/packaged.py"}
"""The one core module that reads files: reference data shipped in the package, once, on first use."""


def test_core_does_no_io_at_import_or_in_functions() -> None:
    offenders = []
    for package in CORE:
        for path in (SRC / package).rglob("*.py"):
            if str(path.relative_to(SRC)) in PACKAGED_DATA:
                continue
            text = path.read_text(encoding="utf-8")
            for call in (r"(?<![\w.])open\(", r"\.read_text\(", r"\.write_text\(", r"datetime\.now\(", r"time\.time\("):
                if re.search(call, text):
                    offenders.append((str(path.relative_to(SRC)), call))
    assert offenders == []


def test_every_module_says_what_it_is_for() -> None:
    missing = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None and p.stat().st_size > 0
    ]
    assert missing == []


def modules_matching(pattern: re.Pattern[str]) -> list[str]:
    """The modules (paths under src/clearway) whose text matches `pattern`, sorted."""
    return sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8")))


def test_events_leaves_and_audit_rows_are_written_in_one_place() -> None:
    """An event without its ledger leaf, or an officer's action without its audit row, cannot be written by
    accident: only `store/events.py` inserts events or audit rows or appends to the ledger."""
    writes = re.compile(
        r"t\.events\.insert|t\.audit_log\.insert|ledger_log\.append\(|insert_rows\(conn, t\.(events|audit_log)\b"
    )
    assert modules_matching(writes) == ["store/events.py"]


def test_the_vocabulary_is_defined_once() -> None:
    """Lanes, referral kinds and channels are spelled out in `model/vocabulary.py` only."""
    spelled = re.compile(r'"green",\s*"blue",\s*"yellow",\s*"red"|"rfi",\s*"screening"|"post",\s*"express",\s*"cargo"')
    assert modules_matching(spelled) == ["model/vocabulary.py"]


def test_the_composition_root_does_not_import_the_use_cases() -> None:
    """`bootstrap.py` builds the App that the services use: it imports no service (no arrow back up)."""
    assert not [name for name in imports(SRC / "bootstrap.py") if name.startswith("clearway.services")]


def test_threads_are_started_by_the_workers_only() -> None:
    """Long-running work lives in `workers/`: a use case in `services/` runs when called and returns."""
    threads = re.compile(r"threading\.Thread\(")
    assert [m for m in modules_matching(threads) if not m.startswith("workers/")] == []


def test_use_cases_import_no_worker_and_no_edge_above_them() -> None:
    """`services/` is called by the CLI, the API, the pages and the workers, and imports none of them."""
    above = ("clearway.workers", "clearway.api", "clearway.web", "clearway.cli", "clearway.demo")
    offenders = {
        str(path.relative_to(SRC)): sorted(name for name in imports(path) if name.startswith(above))
        for path in (SRC / "services").rglob("*.py")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def runs_sql(path: Path) -> bool:
    """The module imports SQLAlchemy or the store's tables (at its top or inside a function)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "sqlalchemy" or a.name == "clearway.store.tables" for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "sqlalchemy" or node.module == "clearway.store.tables":
                return True
            if node.module == "clearway.store" and any(a.name == "tables" for a in node.names):
                return True
    return False


def test_only_the_store_runs_sql() -> None:
    """SQL is the store's (issue 18): a module outside `store/` imports neither SQLAlchemy nor the tables, and
    reads and writes through the store's repositories (a use case may hold one of its transactions, as
    `store.engine.Connection`, to make several of them one unit of work)."""
    running = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] != "store" and runs_sql(path)
    }
    assert running == set(), "run it through a repository in store/"
