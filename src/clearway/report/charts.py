"""Charts rendered by matplotlib to inline SVG text (no files, no JavaScript, readable offline)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PALETTE = {"green": "#2e7d32", "blue": "#1565c0", "yellow": "#f9a825", "red": "#c62828"}
INK = "#1f2933"


def _svg(fig: plt.Figure) -> str:  # type: ignore[name-defined]
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def bar(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    horizontal: bool = False,
    color: str = "#37474f",
) -> str:
    fig, ax = plt.subplots(figsize=(6.4, max(2.4, 0.32 * len(labels)) if horizontal else 3.2))
    if horizontal:
        ax.barh(list(labels)[::-1], list(values)[::-1], color=color)
    else:
        ax.bar(list(labels), list(values), color=color)
        ax.tick_params(axis="x", labelrotation=30 if len(labels) > 6 else 0)
    ax.set_title(title, color=INK, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def stacked(title: str, groups: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    """Stacked bars (one per group) with a series per lane, coloured by lane."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    bottom = [0.0] * len(groups)
    for name, values in series.items():
        ax.bar(list(groups), list(values), bottom=bottom, label=name, color=PALETTE.get(name, "#607d8b"))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(title, color=INK, loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8, ncols=len(series))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def histogram(title: str, values: Sequence[float], *, marks: dict[str, float] | None = None, bins: int = 40) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.hist(list(values), bins=bins, color="#546e7a")
    for label, x in (marks or {}).items():
        ax.axvline(x, color=PALETTE["red"], linestyle="--", linewidth=1)
        ax.annotate(
            label,
            (x, ax.get_ylim()[1] * 0.9),
            color=PALETTE["red"],
            fontsize=8,
            xytext=(4, 0),
            textcoords="offset points",
        )
    ax.set_title(title, color=INK, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def grouped(title: str, groups: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    """Bars side by side: one group per label, one bar per series."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        ax.bar([g + i * width for g in range(len(groups))], list(values), width=width, label=name)
    ax.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))], list(groups))
    ax.set_title(title, color=INK, loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def lines(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], *, ylabel: str = "") -> str:
    """One line per series over the labels (days, for instance)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for name, values in series.items():
        ax.plot(list(labels), list(values), marker="o", label=name)
    ax.set_title(title, color=INK, loc="left", fontsize=11)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
