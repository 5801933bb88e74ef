"""The storage contract, run against both backends (SQLite and a real PostgreSQL server)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.storage import FactChange, FeedbackRecord, QueryRecord, VersionConflict, open_storage
from bot.storage.sqlite import MIGRATIONS


@pytest.fixture
async def store(storage_target):
    s = open_storage(storage_target)
    await s.open()
    yield s
    await s.close()


async def test_migrations_are_versioned_and_idempotent(storage_target) -> None:
    for _ in range(2):
        s = open_storage(storage_target)
        await s.open()
        assert await s.schema_version() == len(MIGRATIONS)
        await s.close()


async def test_query_log_stats_feedback_and_prune(store) -> None:
    now = time.time()
    queries = [
        QueryRecord(
            f"{i:020x}",
            now - i,
            "who was maysara?" if i % 2 else "pizza?",
            "slash",
            bool(i % 2),
            guild_id=10**17 + 1,
            channel_id=10**18,
            user_key="u",
            fact_id="x",
            score=0.5,
            latency_ms=1.0,
        )
        for i in range(10)
    ]
    old = QueryRecord("f" * 20, now - 400 * 86400, "old?", "mention", True)
    await store.write_batch([*queries, old], [FeedbackRecord(queries[1].id, now, "u", True)])
    await store.write_batch(
        queries[:2], [FeedbackRecord(queries[1].id, now, "u", False)]
    )  # duplicates ignored
    stats = await store.stats()
    assert stats.total == 11 and stats.answered == 6
    assert (stats.helpful, stats.not_helpful) == (0, 1)
    assert stats.top_unanswered[0].question == "pizza?" and stats.top_unanswered[0].count == 5
    assert (await store.stats(guild_id=10**17 + 1)).total == 10
    assert (await store.stats(since=now - 5.5)).total == 6
    assert await store.prune(now - 365 * 86400) == 1
    assert (await store.stats()).total == 10


async def test_meta_and_settings(store) -> None:
    assert await store.get_meta("salt") is None
    await store.set_meta("salt", "a")
    await store.set_meta("salt", "b")
    assert await store.get_meta("salt") == "b"
    assert (await store.guild_settings(5)).moderator_role_id is None
    await store.set_moderator_role(5, 10**18 + 7)
    assert (await store.guild_settings(5)).moderator_role_id == 10**18 + 7
    await store.set_moderator_role(5, None)
    assert (await store.guild_settings(5)).moderator_role_id is None
    await store.audit(5, 6, "refused", "fact add")
    assert await store.writable()


async def test_fact_versions(store) -> None:
    g = 10**17 + 3
    a = await store.write_fact_changes(
        g, [FactChange("f1", "add", {"id": "f1", "title": "A"}, 0)], author_id=1, author_name="m"
    )
    assert a[0].version == 1
    await store.write_fact_changes(
        g, [FactChange("f1", "edit", {"id": "f1", "title": "B"}, 1)], author_id=2, author_name="n"
    )
    with pytest.raises(VersionConflict):
        await store.write_fact_changes(
            g, [FactChange("f1", "edit", {"id": "f1", "title": "C"}, 1)], author_id=3, author_name="o"
        )
    await store.write_fact_changes(g, [FactChange("f1", "remove", None)], author_id=1, author_name="m")
    history = await store.fact_history(g, "f1")
    assert [(v.version, v.action, v.author_name) for v in history] == [
        (1, "add", "m"),
        (2, "edit", "n"),
        (3, "remove", "m"),
    ]
    assert history[1].data == {"id": "f1", "title": "B"}
    current = await store.current_facts(g)
    assert current["f1"].removed and current["f1"].version == 3
    assert await store.current_facts(g + 1) == {}


async def test_a_failed_batch_writes_nothing(store) -> None:
    g = 77
    await store.write_fact_changes(g, [FactChange("x", "add", {"id": "x"})], author_id=1, author_name="m")
    with pytest.raises(VersionConflict):
        await store.write_fact_changes(
            g,
            [FactChange("y", "add", {"id": "y"}), FactChange("x", "edit", {"id": "x"}, expected_version=5)],
            author_id=1,
            author_name="m",
        )
    assert set(await store.current_facts(g)) == {"x"}


async def test_concurrent_writers_get_consecutive_versions(storage_target) -> None:
    """Two connections (as two processes would have) append to the same fact at once."""
    a, b = open_storage(storage_target), open_storage(storage_target)
    await a.open()
    await b.open()
    try:

        async def write(s, i: int) -> None:
            await s.write_fact_changes(
                9, [FactChange("same", "edit", {"i": i})], author_id=i, author_name="m"
            )

        await asyncio.gather(*(write(a if i % 2 else b, i) for i in range(40)))
        versions = [v.version for v in await a.fact_history(9, "same")]
        assert versions == list(range(1, 41))
    finally:
        await a.close()
        await b.close()
