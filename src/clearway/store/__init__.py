"""Storage: SQLAlchemy 2 Core tables, Alembic migrations, and the repository over SQLite or PostgreSQL."""

from clearway.store.engine import make_engine, sqlite_url
from clearway.store.migrate import upgrade
from clearway.store.repository import Registration, Store

__all__ = ["Registration", "Store", "make_engine", "sqlite_url", "upgrade"]
