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


def _sqlite_path(database: Path | str) -> str:
    text = str(database)
    if text.startswith(("postgres://", "postgresql://")):
        raise ValueError("PostgreSQL is not supported yet: set TARIKH_DB to a SQLite file path")
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return text


def open_storage(database: Path | str) -> Storage:
    """The backend for a database setting: a file path (SQLite) or ``sqlite:///path``."""
    from bot.storage.sqlite import SQLiteStorage

    return SQLiteStorage(_sqlite_path(database))


def check_writable(database: Path | str, timeout: float = 5.0) -> str | None:
    """For `python -m bot health`: None if the existing database takes a write now, else why not."""
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
    "open_storage",
]
