"""Persistence behind one interface (`Storage`); SQLite is the default backend."""

from __future__ import annotations

from pathlib import Path

from bot.storage.base import FeedbackRecord, QueryRecord, QuestionCount, Stats, Storage


def open_storage(database: Path | str) -> Storage:
    """The backend for a database setting: a file path (SQLite) or ``sqlite:///path``."""
    text = str(database)
    if text.startswith(("postgres://", "postgresql://")):
        raise ValueError("PostgreSQL is not supported yet: set TARIKH_DB to a SQLite file path")
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    from bot.storage.sqlite import SQLiteStorage

    return SQLiteStorage(text)


__all__ = ["FeedbackRecord", "QueryRecord", "QuestionCount", "Stats", "Storage", "open_storage"]
