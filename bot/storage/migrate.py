"""Copy a SQLite database into PostgreSQL, losslessly, verified by counting every table."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SQLiteStorage

# Parents before children (feedback references queries).
TABLES = ("meta", "queries", "feedback", "fact_versions", "guild_settings", "audit_log")
SERIAL_TABLES = ("feedback", "fact_versions", "audit_log")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    destination: int

    @property
    def ok(self) -> bool:
        return self.source == self.destination


async def migrate_sqlite_to_postgres(sqlite_path: Path, url: str) -> list[TableCount]:
    if not sqlite_path.exists():
        raise MigrationError(f"{sqlite_path} does not exist")
    # bring the SQLite file to the current schema first, so both sides have the same tables
    src_store = SQLiteStorage(sqlite_path)
    await src_store.open()
    await src_store.close()
    dest = PostgresStorage(url)
    await dest.open()
    try:
        for table in TABLES:
            if await dest.count(table):
                raise MigrationError(
                    f"the PostgreSQL table '{table}' is not empty; migrate into a new database"
                )
        src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
        try:
            for table in TABLES:
                cur = src.execute(f"SELECT * FROM {table}")
                columns = [d[0] for d in cur.description]
                rows = [tuple(r) for r in cur.fetchall()]
                await dest.copy_rows(table, columns, rows)
            for table in SERIAL_TABLES:
                await dest.pool.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
            counts = [
                TableCount(t, src.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0], await dest.count(t))
                for t in TABLES
            ]
        finally:
            src.close()
    finally:
        await dest.close()
    return counts
