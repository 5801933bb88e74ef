"""The SQLite store and the batched query log: migrations, WAL, batching, feedback, pruning."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot import querylog
from bot.answer import Answerer, Reply
from bot.querylog import QueryLog
from bot.storage import FeedbackRecord, QueryRecord, open_storage
from bot.storage.sqlite import MIGRATIONS


async def test_migrations_and_wal(tmp_path: Path) -> None:
    store = open_storage(tmp_path / "db" / "t.db")
    await store.open()
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()
    await store.open()  # re-opening does not re-run migrations
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()
    con = sqlite3.connect(tmp_path / "db" / "t.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_query_log_batches_and_hashes_users(tmp_path: Path, answerer: Answerer) -> None:
    store = open_storage(tmp_path / "t.db")
    await store.open()
    log = QueryLog(store)
    await log.start()
    reply = answerer.ask("who was maysara?")
    qids = [log.log_reply(reply, via="slash", guild_id=1, channel_id=2, user_id=42) for _ in range(3)]
    log.log_reply(answerer.ask("best pizza?"), via="mention", user_id=43)
    log.log_feedback(qids[0], user_id=42, helpful=True)
    log.log_feedback(qids[0], user_id=42, helpful=False)  # a changed vote replaces the first
    await log.close()
    con = sqlite3.connect(tmp_path / "t.db")
    rows = con.execute("SELECT via, user_key, answered, fact_id FROM queries ORDER BY via").fetchall()
    assert len(rows) == 4
    assert all(r[1] != "42" and len(r[1]) == 24 for r in rows)
    assert rows[0][0] == "mention" and rows[0][2] == 0
    fb = con.execute("SELECT query_id, helpful FROM feedback").fetchall()
    assert fb == [(qids[0], 0)]
    stats = await _stats(tmp_path / "t.db")
    assert stats.total == 4 and stats.answered == 3 and stats.not_helpful == 1
    assert stats.top_unanswered[0].question == "best pizza?"
    await store.close()


async def _stats(path: Path):
    store = open_storage(path)
    await store.open()
    try:
        return await store.stats()
    finally:
        await store.close()


async def test_raw_ids_when_configured(tmp_path: Path, answerer: Answerer) -> None:
    store = open_storage(tmp_path / "t.db")
    await store.open()
    log = QueryLog(store, store_raw_ids=True)
    await log.start()
    log.log_reply(answerer.ask("who was balj?"), via="console", user_id=7)
    await log.close()
    await store.close()
    assert sqlite3.connect(tmp_path / "t.db").execute("SELECT user_key FROM queries").fetchone() == ("7",)


async def test_salt_is_stable_across_restarts(tmp_path: Path) -> None:
    keys = []
    for _ in range(2):
        store = open_storage(tmp_path / "t.db")
        await store.open()
        log = QueryLog(store)
        await log.start()
        keys.append(log.user_key(99))
        await log.close()
        await store.close()
    assert keys[0] == keys[1]


async def test_prune_removes_old_rows_and_their_feedback(tmp_path: Path) -> None:
    store = open_storage(tmp_path / "t.db")
    await store.open()
    old, new = time.time() - 400 * 86400, time.time()
    await store.write_batch(
        [
            QueryRecord("a" * 20, old, "old?", "slash", True),
            QueryRecord("b" * 20, new, "new?", "slash", True),
        ],
        [FeedbackRecord("a" * 20, old, "u", True)],
    )
    assert await store.prune(time.time() - 365 * 86400) == 1
    stats = await store.stats()
    assert stats.total == 1 and stats.helpful == 0
    await store.close()


async def test_feedback_for_unknown_query_is_ignored(tmp_path: Path) -> None:
    store = open_storage(tmp_path / "t.db")
    await store.open()
    await store.write_batch([], [FeedbackRecord("f" * 20, time.time(), "u", True)])
    assert (await store.stats()).helpful == 0
    await store.close()


async def test_query_log_writes_a_full_batch_at_once_and_flushes_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer waits for FLUSH_INTERVAL or a whole batch, whichever comes first, and close()
    writes what is queued without waiting for the interval."""
    monkeypatch.setattr(querylog, "FLUSH_INTERVAL", 60.0)
    store = open_storage(tmp_path / "q.db")
    await store.open()
    log = QueryLog(store, salt="s")
    await log.start()
    reply = Reply(question="q", answered=False, message="no")
    try:
        for _ in range(querylog.BATCH_SIZE + 1):
            log.log_reply(reply, via="slash", user_id=1)
        # the first BATCH_SIZE go at once; the last one waits for the interval (or close)
        for _ in range(200):
            if log.written:
                break
            await asyncio.sleep(0.05)
        assert log.written == querylog.BATCH_SIZE
        started = time.monotonic()
        await log.close(timeout=30)
        assert log.written == querylog.BATCH_SIZE + 1
        assert time.monotonic() - started < 10  # not the 60 s interval
    finally:
        await store.close()
