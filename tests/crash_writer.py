"""Writes to a Tarikh database through the real SQLite storage until it is killed.

Used by tests/test_curation_robustness.py, which SIGKILLs it mid-burst and then checks the file.

    python tests/crash_writer.py facts DB NAME     fact changes, two per transaction
    python tests/crash_writer.py queries DB NAME   the query log (QueryLog and its writer task)

Every line on stdout is flushed at once. ``ack JSON`` (facts) and ``commit`` (queries) are
printed only after the transaction has committed: what the database acknowledged. ``begin JSON``
(queries) is printed before a batch is written, so the test knows the batch that may be cut off.
"""

from __future__ import annotations

import asyncio
import json
import sys


async def write_facts(path: str, name: str) -> None:
    from bot.storage import FactChange
    from bot.storage.sqlite import SQLiteStorage

    store = SQLiteStorage(path)
    await store.open()
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        changes = [
            FactChange(f"{name}-{i % 5}", "edit", {"answer": f"{name} wrote {i}", "i": i}),
            FactChange("shared", "edit", {"answer": f"{name} shared {i}", "i": i}),
        ]
        written = await store.write_fact_changes(7, changes, author_id=i, author_name=name)
        print("ack", json.dumps([[v.fact_id, v.version, v.data] for v in written]), flush=True)


async def write_queries(path: str, name: str) -> None:
    from bot.answer import Reply
    from bot.querylog import QueryLog
    from bot.storage import FeedbackRecord, QueryRecord
    from bot.storage.sqlite import SQLiteStorage

    class AckingStorage(SQLiteStorage):
        async def write_batch(self, queries: list[QueryRecord], feedback: list[FeedbackRecord]) -> None:
            ids = {"queries": [q.id for q in queries], "feedback": [f.query_id for f in feedback]}
            print("begin", json.dumps(ids), flush=True)
            await super().write_batch(queries, feedback)
            print("commit", flush=True)

    store = AckingStorage(path)
    await store.open()
    qlog = QueryLog(store, salt="crash-test")
    await qlog.start()
    print("ready", flush=True)
    i = 0
    while True:
        for _ in range(50):
            i += 1
            reply = Reply(question=f"{name} question {i}", answered=i % 2 == 0, latency_ms=1.0)
            qid = qlog.log_reply(reply, via="cli", guild_id=7, user_id=i)
            if i % 3 == 0:
                qlog.log_feedback(qid, user_id=i, helpful=i % 2 == 0)
        await asyncio.sleep(0.002)


if __name__ == "__main__":
    kind, db_path, writer = sys.argv[1:4]
    asyncio.run({"facts": write_facts, "queries": write_queries}[kind](db_path, writer))
