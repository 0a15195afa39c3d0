"""What every command group shares: the consoles, the clock and the day option."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

err = Console(stderr=True)
out = Console()

DEFAULT_DAY = dt.date(2026, 11, 16)
"""The simulated day unless --day says otherwise (a fixed default keeps a seed's output the same)."""
FORMAT_HELP = "column mapping: `kcs`, or a mapping YAML file (see clearway/data/targeting/kcs.yaml)"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_day(text: str, option: str) -> dt.date:
    """A YYYY-MM-DD option value, or a usage error that names the option."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option) from exc


def progress_bar() -> Progress:
    """The progress bar of long commands, on stderr so that stdout stays data."""
    return Progress(
        TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )
