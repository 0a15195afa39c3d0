"""YAML loading that remembers the line of every mapping, so data files can fail with file and line."""

from __future__ import annotations

from typing import Any

import yaml

from clearway.errors import RuleFileError

LINE = "__line__"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mapping constructor records each mapping's line (registered below)."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate key {sorted(duplicates)[0]!r}", node.start_mark)
    mapping: dict[str, Any] = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping[LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    """A date or time as SafeLoader reads it; one that looks like a date but is none (2026-02-30) is an error
    with its line, not a ValueError from deep in the loader."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a date: {exc}",
                                                node.start_mark) from exc  # fmt: skip


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_with_lines(text: str, source: str) -> Any:
    """Parse YAML; every mapping gets a `__line__` entry; a syntax error is a RuleFileError."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RuleFileError(f"not valid YAML: {exc.problem or exc}", file=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise RuleFileError(f"not valid YAML: {exc}", file=source) from exc


def line_of(node: Any, default: int | None = None) -> int | None:
    return node.get(LINE, default) if isinstance(node, dict) else default
