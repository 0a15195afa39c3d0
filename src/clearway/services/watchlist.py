"""The watch list kept current while the service runs: a changed list file, or a delta beside it, is read
and put in force without a restart; the decisions after it record the new list's version."""

from __future__ import annotations

import logging
from pathlib import Path

from clearway.bootstrap import App, load_watchlist
from clearway.risk.screening import parse_delta_lines

log = logging.getLogger("clearway.watchlist")


def _stamp(path: Path | None) -> tuple[float, int] | None:
    if path is None or not path.exists():
        return None
    status = path.stat()
    return status.st_mtime, status.st_size


class WatchListRefresh:
    """Call `refresh()` from time to time (the service's clock does, every minute)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._seen = (_stamp(app.settings.watchlist), _stamp(app.settings.watchlist_delta))

    def refresh(self) -> bool:
        """Load the list again when it or its delta changed; True when a new version went into force."""
        settings = self.app.settings
        now = (_stamp(settings.watchlist), _stamp(settings.watchlist_delta))
        if now == self._seen or settings.watchlist is None or now[0] is None:
            return False
        watchlist = load_watchlist(settings.watchlist)
        if settings.watchlist_delta is not None and now[1] is not None:
            text = settings.watchlist_delta.read_text(encoding="utf-8")
            watchlist = watchlist.updated(*parse_delta_lines(text, str(settings.watchlist_delta)))
        before = self.app.watchlist.version if self.app.watchlist else None
        self.app.watchlist = watchlist
        self.app.pipeline = self.app.rebuild()
        self._seen = now
        log.info("watch list %s in force (was %s): %d entities", watchlist.version, before, len(watchlist.entities))
        return True
