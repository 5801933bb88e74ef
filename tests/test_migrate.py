"""`python -m bot migrate`: SQLite -> PostgreSQL, every row accounted for."""

from __future__ import annotations

import time
from pathlib import Path

from bot.cli import main
from bot.curation import Curator
from bot.storage import FactChange, FeedbackRecord, QueryRecord, open_storage


async def _fill(path: Path) -> None:
    store = open_storage(path)
    await store.open()
    now = time.time()
    queries = [
        QueryRecord(f"{i:020x}", now, f"q{i}?", "slash", i % 3 == 0, guild_id=10**18) for i in range(250)
    ]
    await store.write_batch(queries, [FeedbackRecord(queries[0].id, now, "u", True)])
    for i in range(5):
        await store.write_fact_changes(
            42, [FactChange(f"f{i}", "add", {"id": f"f{i}", "title": "T"})], author_id=1, author_name="m"
        )
    await store.write_fact_changes(42, [FactChange("f0", "remove", None)], author_id=1, author_name="m")
    await store.set_moderator_role(42, 10**18 + 5)
    await store.set_meta("user_salt", "s")
    await store.audit(42, 1, "fact.add", "f0 v1")
    await store.close()


async def test_migrate_copies_every_row(tmp_path: Path, pg_url: str, capsys, pack, answerer) -> None:
    db = tmp_path / "t.db"
    await _fill(db)
    assert await _run_migrate(db, pg_url) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "every row accounted for" in out
    assert "queries              250 ->      250  ok" in out
    pg = open_storage(pg_url)
    await pg.open()
    try:
        current = await pg.current_facts(42)
        assert set(current) == {f"f{i}" for i in range(5)} and current["f0"].removed
        assert (await pg.guild_settings(42)).moderator_role_id == 10**18 + 5
        assert (await pg.stats()).helpful == 1
        # sequences continue after the copied ids: a new version can be written
        await pg.write_fact_changes(
            42, [FactChange("f1", "edit", {"id": "f1"})], author_id=2, author_name="n"
        )
        assert [v.version for v in await pg.fact_history(42, "f1")] == [1, 2]
        assert Curator(pack, pg, answerer) is not None
    finally:
        await pg.close()
    # a second migration into the same, now non-empty, database is refused
    assert await _run_migrate(db, pg_url) == 1


async def _run_migrate(db: Path, url: str) -> int:
    import asyncio

    return await asyncio.to_thread(main, ["migrate", "--from", str(db), "--to", url])
