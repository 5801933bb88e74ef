"""Persistence behind one interface (`Storage`); SQLite is the default backend."""

from __future__ import annotations

from pathlib import Path

from bot.storage.base import (
    FactChange,
    FactVersion,
    FeedbackRecord,
    GuildSettings,
    QueryRecord,
    QuestionCount,
    Stats,
    Storage,
    VersionConflict,
)


def is_postgres(database: Path | str) -> bool:
    return str(database).startswith(("postgres://", "postgresql://"))


def _sqlite_path(database: Path | str) -> str:
    text = str(database)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return text


def open_storage(database: Path | str) -> Storage:
    """The backend for a database setting: ``postgresql://…`` (PostgreSQL, for several
    processes), or a file path / ``sqlite:///path`` (SQLite, the embedded default)."""
    if is_postgres(database):
        from bot.storage.postgres import PostgresStorage

        return PostgresStorage(str(database))
    from bot.storage.sqlite import SQLiteStorage

    return SQLiteStorage(_sqlite_path(database))


def check_writable(database: Path | str, timeout: float = 5.0) -> str | None:
    """For `python -m bot health`: None if the existing database takes a write now, else why not."""
    if is_postgres(database):
        import asyncio

        async def probe() -> str | None:
            store = open_storage(database)
            try:
                await asyncio.wait_for(store.open(), timeout)
                return None if await store.writable() else "the database refused a write"
            except Exception as exc:  # connection refused, authentication, timeout ...
                return f"cannot reach PostgreSQL: {exc.__class__.__name__}: {exc}"
            finally:
                await store.close()

        return asyncio.run(probe())
    from bot.storage.sqlite import check_writable as sqlite_check

    return sqlite_check(_sqlite_path(database), timeout)


__all__ = [
    "FactChange",
    "FactVersion",
    "FeedbackRecord",
    "GuildSettings",
    "QueryRecord",
    "QuestionCount",
    "Stats",
    "Storage",
    "VersionConflict",
    "check_writable",
    "is_postgres",
    "open_storage",
]
