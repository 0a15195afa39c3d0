"""A report page: tiles, sections of charts and tables, rendered to one self-contained HTML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from clearway import __version__


@dataclass(frozen=True)
class Chart:
    label: str  # what the chart shows, for screen readers
    svg: str


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    title: str
    text: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class Page:
    title: str
    subtitle: str
    tiles: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def render(self) -> str:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("clearway.report", "templates"),
            autoescape=True,
            keep_trailing_newline=True,
        )
        return env.get_template("demo.html.jinja").render(
            title=self.title,
            subtitle=self.subtitle,
            tiles=self.tiles,
            sections=self.sections,
            version=__version__,
        )

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
