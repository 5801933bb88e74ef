"""SQLite backend (aiosqlite): WAL mode, versioned migrations, one transaction per batch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from bot.storage.base import (
    FactChange,
    FactVersion,
    FeedbackRecord,
    GuildSettings,
    QueryRecord,
    QuestionCount,
    Stats,
    Storage,
)

log = logging.getLogger(__name__)

LOCK_PATIENCE = 30.0  # seconds a write waits for other connections' writes before it fails

# Each migration runs once, in order, in its own transaction; never edit a released one.
MIGRATIONS: list[str] = [
    # 1: query log and feedback
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE queries (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        guild_id INTEGER,
        channel_id INTEGER,
        user_key TEXT,
        question TEXT NOT NULL,
        via TEXT NOT NULL,
        fact_id TEXT,
        score REAL,
        answered INTEGER NOT NULL,
        latency_ms REAL
    );
    CREATE INDEX queries_ts ON queries (ts);
    CREATE INDEX queries_answered ON queries (answered, guild_id);
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        query_id TEXT NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
        ts REAL NOT NULL,
        user_key TEXT,
        helpful INTEGER NOT NULL,
        UNIQUE (query_id, user_key)
    );
    """,
    # 2: moderators' facts, per-guild settings, audit log
    """
    CREATE TABLE fact_versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guild_id INTEGER NOT NULL,
        fact_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        action TEXT NOT NULL,
        data TEXT,
        author_id INTEGER,
        author_name TEXT NOT NULL,
        ts REAL NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        UNIQUE (guild_id, fact_id, version)
    );
    CREATE INDEX fact_versions_guild ON fact_versions (guild_id, fact_id, version);
    CREATE TABLE guild_settings (
        guild_id INTEGER PRIMARY KEY,
        moderator_role_id INTEGER
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        guild_id INTEGER,
        user_id INTEGER,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    """,
]


class SQLiteStorage(Storage):
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._tx_lock = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    async def open(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self.db.execute("PRAGMA busy_timeout=5000")
        # several processes opening a new file at once: SQLite refuses some at once (waiting
        # could deadlock), so those try again
        await self._execute_when_unlocked("PRAGMA journal_mode=WAL", patience=5.0)
        await self.db.execute("PRAGMA synchronous=NORMAL")
        await self.db.execute("PRAGMA foreign_keys=ON")
        await self._migrate()

    async def _execute_when_unlocked(self, sql: str, *, patience: float = LOCK_PATIENCE) -> None:
        """Run a statement that only takes a lock (BEGIN IMMEDIATE, a journal mode change),
        trying again while another connection holds it. SQLite's busy handler waits at most
        busy_timeout and polls, so a process writing one transaction after another can keep
        another out past it ("database is locked"), refusing a change only because it was busy."""
        deadline = time.monotonic() + patience
        while True:
            try:
                await self.db.execute(sql)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            log.debug("%s: the database is locked by another connection; trying again", sql)
            await asyncio.sleep(random.uniform(0.005, 0.03))

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def schema_version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        for version, script in enumerate(MIGRATIONS, start=1):
            if version <= await self.schema_version():
                continue
            statements = [s.strip() for s in script.split(";") if s.strip()]
            await self._execute_when_unlocked("BEGIN IMMEDIATE")
            try:
                # again, holding the write lock: another process may have migrated meanwhile
                if version <= await self.schema_version():
                    await self.db.execute("COMMIT")
                    continue
                log.info("migrating %s to schema version %d", self.path, version)
                for statement in statements:
                    await self.db.execute(statement)
                await self.db.execute(f"PRAGMA user_version = {version}")
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on this connection (coroutines share it)."""
        async with self._tx_lock:
            await self._execute_when_unlocked("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def get_meta(self, key: str) -> str | None:
        async with self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def write_batch(self, queries: list[QueryRecord], feedback: list[FeedbackRecord]) -> None:
        if not queries and not feedback:
            return
        async with self._transaction():
            await self.db.executemany(
                f"INSERT OR IGNORE INTO queries ({QueryRecord.COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [q.row() for q in queries],
            )
            await self.db.executemany(
                "INSERT INTO feedback (query_id, ts, user_key, helpful) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM queries WHERE id = ?) "
                "ON CONFLICT (query_id, user_key) DO UPDATE SET helpful = excluded.helpful, ts = excluded.ts",
                [(f.query_id, f.ts, f.user_key, int(f.helpful), f.query_id) for f in feedback],
            )

    async def stats(
        self, *, since: float | None = None, guild_id: int | None = None, limit: int = 10
    ) -> Stats:
        where, args = ["1 = 1"], []
        if since is not None:
            where.append("q.ts >= ?")
            args.append(since)
        if guild_id is not None:
            where.append("q.guild_id = ?")
            args.append(guild_id)
        cond = " AND ".join(where)
        async with self.db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM queries q WHERE {cond}", args
        ) as cur:
            total, answered = await cur.fetchone()  # type: ignore[misc]
        async with self.db.execute(
            "SELECT COALESCE(SUM(f.helpful), 0), COALESCE(SUM(1 - f.helpful), 0) "
            f"FROM feedback f JOIN queries q ON q.id = f.query_id WHERE {cond}",
            args,
        ) as cur:
            helpful, not_helpful = await cur.fetchone()  # type: ignore[misc]

        async def top(extra: str) -> list[QuestionCount]:
            sql = (
                "SELECT LOWER(TRIM(question)) AS qn, COUNT(*) AS n FROM queries q "
                f"WHERE {cond} {extra} GROUP BY qn ORDER BY n DESC, MAX(ts) DESC LIMIT ?"
            )
            async with self.db.execute(sql, [*args, limit]) as cur:
                return [QuestionCount(row[0], row[1]) async for row in cur]

        return Stats(
            total=total,
            answered=answered,
            helpful=helpful,
            not_helpful=not_helpful,
            top_questions=await top(""),
            top_unanswered=await top("AND answered = 0"),
        )

    async def prune(self, before: float) -> int:
        async with self._transaction():
            cur = await self.db.execute("DELETE FROM queries WHERE ts < ?", (before,))
        return cur.rowcount

    # -- moderators' facts -----------------------------------------------------------------------

    async def write_fact_changes(
        self, guild_id: int, changes: list[FactChange], *, author_id: int | None, author_name: str
    ) -> list[FactVersion]:
        written: list[FactVersion] = []
        now = time.time()
        async with self._transaction():
            for change in changes:
                async with self.db.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM fact_versions WHERE guild_id = ? AND fact_id = ?",
                    (guild_id, change.fact_id),
                ) as cur:
                    row = await cur.fetchone()
                current = int(row[0]) if row else 0
                version = change.on_top_of(current, guild_id, author_id, author_name, now)
                await self.db.execute(
                    f"INSERT INTO fact_versions ({FactVersion.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    version.row(),
                )
                written.append(version)
        return written

    async def fact_history(self, guild_id: int, fact_id: str) -> list[FactVersion]:
        async with self.db.execute(
            f"SELECT {FactVersion.COLUMNS} FROM fact_versions"
            " WHERE guild_id = ? AND fact_id = ? ORDER BY version",
            (guild_id, fact_id),
        ) as cur:
            return [FactVersion.from_row(row) async for row in cur]

    async def guild_revision(self, guild_id: int) -> int:
        async with self.db.execute(
            "SELECT COALESCE(MAX(id), 0) FROM fact_versions WHERE guild_id = ?", (guild_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def current_facts(self, guild_id: int) -> dict[str, FactVersion]:
        sql = (
            f"SELECT {FactVersion.COLUMNS} FROM fact_versions v WHERE guild_id = ? AND version = "
            "(SELECT MAX(version) FROM fact_versions w"
            " WHERE w.guild_id = v.guild_id AND w.fact_id = v.fact_id) "
            "ORDER BY id"
        )
        async with self.db.execute(sql, (guild_id,)) as cur:
            return {v.fact_id: v async for v in (FactVersion.from_row(row) async for row in cur)}

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        async with self.db.execute(
            "SELECT moderator_role_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
        ) as cur:
            row = await cur.fetchone()
        return GuildSettings(guild_id, row[0] if row else None)

    async def set_moderator_role(self, guild_id: int, role_id: int | None) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, moderator_role_id) VALUES (?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET moderator_role_id = excluded.moderator_role_id",
                (guild_id, role_id),
            )

    async def audit(self, guild_id: int | None, user_id: int | None, action: str, detail: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO audit_log (ts, guild_id, user_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                (time.time(), guild_id, user_id, action, detail[:2000]),
            )


def check_writable(path: Path | str, timeout: float = 5.0) -> str | None:
    """None if a write to the existing database would succeed now, else the reason why not.

    For health checks from another process: never creates the file, and rolls its write back.
    """
    path = Path(path)
    if not path.is_file():
        return f"{path} does not exist (the bot creates it when it starts)"
    try:
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout, isolation_level=None
        )
    except sqlite3.Error as exc:
        return f"cannot open {path}: {exc}"
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('health', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(time.time()),),
            )
        finally:
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return f"cannot write to {path}: {exc}"
    finally:
        db.close()
    return None
