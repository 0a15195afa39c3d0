"""Fault injection for tests only, never installed: put this folder on PYTHONPATH and set
`FAULT_KILL_ASSESSOR_ON` to a reference, and the assessor's process kills itself (SIGKILL, as the kernel's
out-of-memory killer would) whenever a batch it assesses holds a consignment of that reference.

No consignment the contract allows is known to bring the interpreter down; this stands in for one, which is
the one thing here that cannot be produced for real."""

from __future__ import annotations

import importlib.abc
import importlib.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

REFERENCE = os.environ.get("FAULT_KILL_ASSESSOR_ON")


class _Patch(importlib.abc.MetaPathFinder):
    """Wraps `clearway.services.ingest.assess_rows` as the module is first imported."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name != "clearway.services.ingest":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.loader is not None
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            assess_rows = module.assess_rows

            def killing(app: Any, rows: list[Any], *args: Any, **kwargs: Any) -> Any:
                in_child = multiprocessing.current_process().name == "clearway-assessor"
                if in_child and any(r.consignment.reference == REFERENCE for r in rows):
                    os.kill(os.getpid(), signal.SIGKILL)
                return assess_rows(app, rows, *args, **kwargs)

            module.assess_rows = killing

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if REFERENCE:
    sys.meta_path.insert(0, _Patch())
