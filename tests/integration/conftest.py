"""Integration fixtures: a throwaway PostgreSQL server per test session, and stores on both databases."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from clearway.bootstrap import App, bootstrap
from clearway.settings import Settings
from clearway.store import Store, make_engine, sqlite_url, upgrade
from clearway.store.throwaway import available, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    reason = available()
    if reason is not None:
        pytest.skip(f"PostgreSQL tests need a local server: {reason}")
    with postgres_server() as url:
        yield url


def _fresh_postgres(url: str) -> str:
    """A new empty database on the session's server, so tests do not see each other's rows."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "clearway.db")
    return _fresh_postgres(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield Store(engine)
    engine.dispose()


def without_random_selection(app: App) -> App:
    """The application with no random control sample: the sample is drawn by consignment id, new each run, so
    with it any one parcel's lane would change once in two hundred runs (0.5%)."""
    if app.selectivity is not None:
        app.selectivity = dataclasses.replace(app.selectivity, random_rate=0.0, aeo_random_rate=0.0)
        app.pipeline = app.rebuild()
    return app


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    """The whole application on a fresh database of either kind, its home in the test's folder."""
    settings = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(tmp_path)}), database_url=database_url)
    application = without_random_selection(bootstrap(settings))
    yield application
    application.store.engine.dispose()
