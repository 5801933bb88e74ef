"""PostgreSQL backend (asyncpg) for several bot processes sharing one database.

The schema and its versions mirror the SQLite backend's migrations one for one (same tables,
same columns, types widened where PostgreSQL needs it: Discord ids are BIGINT).
"""

from __future__ import annotations

import logging
import time
from typing import Any

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

MIGRATIONS: list[str] = [
    # 1: query log and feedback
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE queries (
        id TEXT PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        guild_id BIGINT,
        channel_id BIGINT,
        user_key TEXT,
        question TEXT NOT NULL,
        via TEXT NOT NULL,
        fact_id TEXT,
        score DOUBLE PRECISION,
        answered INTEGER NOT NULL,
        latency_ms DOUBLE PRECISION
    );
    CREATE INDEX queries_ts ON queries (ts);
    CREATE INDEX queries_answered ON queries (answered, guild_id);
    CREATE TABLE feedback (
        id BIGSERIAL PRIMARY KEY,
        query_id TEXT NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
        ts DOUBLE PRECISION NOT NULL,
        user_key TEXT,
        helpful INTEGER NOT NULL,
        UNIQUE (query_id, user_key)
    );
    """,
    # 2: moderators' facts, per-guild settings, audit log
    """
    CREATE TABLE fact_versions (
        id BIGSERIAL PRIMARY KEY,
        guild_id BIGINT NOT NULL,
        fact_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        action TEXT NOT NULL,
        data TEXT,
        author_id BIGINT,
        author_name TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        UNIQUE (guild_id, fact_id, version)
    );
    CREATE INDEX fact_versions_guild ON fact_versions (guild_id, fact_id, version);
    CREATE TABLE guild_settings (
        guild_id BIGINT PRIMARY KEY,
        moderator_role_id BIGINT
    );
    CREATE TABLE audit_log (
        id BIGSERIAL PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        guild_id BIGINT,
        user_id BIGINT,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    """,
]


class PostgresStorage(Storage):
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self.min_size, self.max_size = min_size, max_size
        self._pool: Any = None

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise RuntimeError("storage is not open")
        return self._pool

    async def open(self) -> None:
        import asyncpg

        self._pool = await asyncpg.create_pool(self.url, min_size=self.min_size, max_size=self.max_size)
        await self._migrate()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def schema_version(self) -> int:
        async with self.pool.acquire() as con:
            await con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            value = await con.fetchval("SELECT MAX(version) FROM schema_version")
        return int(value or 0)

    async def _migrate(self) -> None:
        async with self.pool.acquire() as con, con.transaction():
            # one process migrates at a time; the others wait here, then see it done (even the
            # CREATE ... IF NOT EXISTS: two at once on an empty database, one fails)
            await con.execute("SELECT pg_advisory_xact_lock(7461726)")
            await con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = int(await con.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
            for version, script in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                log.info("migrating PostgreSQL to schema version %d", version)
                await con.execute(script)
                await con.execute("INSERT INTO schema_version (version) VALUES ($1)", version)

    async def get_meta(self, key: str) -> str | None:
        return await self.pool.fetchval("SELECT value FROM meta WHERE key = $1", key)

    async def set_meta(self, key: str, value: str) -> None:
        await self.pool.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
        )

    async def setdefault_meta(self, key: str, value: str) -> str:
        async with self.pool.acquire() as con:
            await con.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, value
            )
            return str(await con.fetchval("SELECT value FROM meta WHERE key = $1", key))

    async def write_batch(self, queries: list[QueryRecord], feedback: list[FeedbackRecord]) -> None:
        if not queries and not feedback:
            return
        async with self.pool.acquire() as con, con.transaction():
            if queries:
                await con.executemany(
                    f"INSERT INTO queries ({QueryRecord.COLUMNS})"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
                    [q.row() for q in queries],
                )
            for f in feedback:
                await con.execute(
                    "INSERT INTO feedback (query_id, ts, user_key, helpful) SELECT $1, $2, $3, $4"
                    " WHERE EXISTS (SELECT 1 FROM queries WHERE id = $1)"
                    " ON CONFLICT (query_id, user_key)"
                    " DO UPDATE SET helpful = excluded.helpful, ts = excluded.ts",
                    f.query_id,
                    f.ts,
                    f.user_key,
                    int(f.helpful),
                )

    async def stats(
        self, *, since: float | None = None, guild_id: int | None = None, limit: int = 10
    ) -> Stats:
        where, args = ["TRUE"], []
        if since is not None:
            args.append(since)
            where.append(f"q.ts >= ${len(args)}")
        if guild_id is not None:
            args.append(guild_id)
            where.append(f"q.guild_id = ${len(args)}")
        cond = " AND ".join(where)
        async with self.pool.acquire() as con:
            total, answered = await con.fetchrow(
                f"SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM queries q WHERE {cond}", *args
            )
            helpful, not_helpful = await con.fetchrow(
                "SELECT COALESCE(SUM(f.helpful), 0), COALESCE(SUM(1 - f.helpful), 0) "
                f"FROM feedback f JOIN queries q ON q.id = f.query_id WHERE {cond}",
                *args,
            )

            async def top(extra: str) -> list[QuestionCount]:
                rows = await con.fetch(
                    "SELECT LOWER(TRIM(question)) AS qn, COUNT(*) AS n FROM queries q "
                    f"WHERE {cond} {extra} GROUP BY qn ORDER BY n DESC, MAX(ts) DESC LIMIT ${len(args) + 1}",
                    *args,
                    limit,
                )
                return [QuestionCount(r["qn"], int(r["n"])) for r in rows]

            return Stats(
                total=int(total),
                answered=int(answered),
                helpful=int(helpful),
                not_helpful=int(not_helpful),
                top_questions=await top(""),
                top_unanswered=await top("AND answered = 0"),
            )

    async def prune(self, before: float) -> int:
        result = await self.pool.execute("DELETE FROM queries WHERE ts < $1", before)
        return int(result.split()[-1])

    # -- moderators' facts -----------------------------------------------------------------------

    async def write_fact_changes(
        self, guild_id: int, changes: list[FactChange], *, author_id: int | None, author_name: str
    ) -> list[FactVersion]:
        written: list[FactVersion] = []
        now = time.time()
        async with self.pool.acquire() as con, con.transaction():
            for change in changes:
                # serialise writers of the same fact across processes for the rest of the transaction
                await con.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", change.fact_id, guild_id
                )
                current = int(
                    await con.fetchval(
                        "SELECT COALESCE(MAX(version), 0) FROM fact_versions"
                        " WHERE guild_id = $1 AND fact_id = $2",
                        guild_id,
                        change.fact_id,
                    )
                )
                version = change.on_top_of(current, guild_id, author_id, author_name, now)
                await con.execute(
                    f"INSERT INTO fact_versions ({FactVersion.COLUMNS})"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    *version.row(),
                )
                written.append(version)
        return written

    async def fact_history(self, guild_id: int, fact_id: str) -> list[FactVersion]:
        rows = await self.pool.fetch(
            f"SELECT {FactVersion.COLUMNS} FROM fact_versions"
            " WHERE guild_id = $1 AND fact_id = $2 ORDER BY version",
            guild_id,
            fact_id,
        )
        return [FactVersion.from_row(r) for r in rows]

    async def guild_revision(self, guild_id: int) -> int:
        value = await self.pool.fetchval(
            "SELECT COALESCE(MAX(id), 0) FROM fact_versions WHERE guild_id = $1", guild_id
        )
        return int(value)

    async def current_facts(self, guild_id: int) -> dict[str, FactVersion]:
        rows = await self.pool.fetch(
            f"SELECT DISTINCT ON (fact_id) {FactVersion.COLUMNS}, id FROM fact_versions WHERE guild_id = $1"
            " ORDER BY fact_id, version DESC",
            guild_id,
        )
        rows = sorted(rows, key=lambda r: r["id"])
        return {r["fact_id"]: FactVersion.from_row(r) for r in rows}

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        role = await self.pool.fetchval(
            "SELECT moderator_role_id FROM guild_settings WHERE guild_id = $1", guild_id
        )
        return GuildSettings(guild_id, role)

    async def set_moderator_role(self, guild_id: int, role_id: int | None) -> None:
        await self.pool.execute(
            "INSERT INTO guild_settings (guild_id, moderator_role_id) VALUES ($1, $2)"
            " ON CONFLICT (guild_id) DO UPDATE SET moderator_role_id = excluded.moderator_role_id",
            guild_id,
            role_id,
        )

    async def audit(self, guild_id: int | None, user_id: int | None, action: str, detail: str) -> None:
        await self.pool.execute(
            "INSERT INTO audit_log (ts, guild_id, user_id, action, detail) VALUES ($1, $2, $3, $4, $5)",
            time.time(),
            guild_id,
            user_id,
            action,
            detail[:2000],
        )

    # -- migration from SQLite -------------------------------------------------------------------

    async def copy_rows(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        """Bulk-insert rows (used by `python -m bot migrate`); existing rows are kept."""
        if not rows:
            return
        async with self.pool.acquire() as con, con.transaction():
            await con.copy_records_to_table(table, records=rows, columns=columns)

    async def count(self, table: str) -> int:
        return int(await self.pool.fetchval(f"SELECT COUNT(*) FROM {table}"))
