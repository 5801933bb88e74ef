"""Storage on both backends in one run: query-log write throughput and moderator-edit latency.

    python benchmarks/storage.py [--queries 20000] [--edits 300]

SQLite is a file in a temporary folder; PostgreSQL is a throw-away server started here on
127.0.0.1 (the tests' helper; needs the Debian `postgresql` package). The query log is written
the way the bot writes it: QueryLog's batched background writer, timed until everything is
committed. A moderator edit is Curator.edit (validation + one version row) followed by the
first question in that server, which rebuilds the server's view.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bot.answer import Answerer  # noqa: E402
from bot.curation import Curator  # noqa: E402
from bot.knowledge import load_pack  # noqa: E402
from bot.querylog import QueryLog  # noqa: E402
from bot.storage import open_storage  # noqa: E402


async def measure(target: str | Path, n_queries: int, n_edits: int, answerer: Answerer) -> dict[str, float]:
    store = open_storage(target)
    await store.open()
    try:
        log = QueryLog(store)
        await log.start()
        reply = answerer.ask("who was maysara?")
        start = time.perf_counter()
        for i in range(n_queries):
            log.log_reply(reply, via="slash", guild_id=1, channel_id=2, user_id=i)
        await log.flush()
        write_s = time.perf_counter() - start
        await log.close()

        curator = Curator(answerer.pack, store, answerer)
        fact = await curator.add(
            7,
            {"title": "Benchmark fact", "answer": "A fact edited over and over.",
             "questions": ["What is the benchmark fact?", "Tell me the benchmark fact"]},
            author_id=1, author_name="bench",
        )  # fmt: skip
        edit_ms, rebuild_ms = [], []
        for i in range(n_edits):
            t = time.perf_counter()
            await curator.edit(
                7, fact.fact_id,
                {"title": "Benchmark fact", "answer": f"A fact edited over and over ({i}).",
                 "questions": ["What is the benchmark fact?", "Tell me the benchmark fact"]},
                author_id=1, author_name="bench",
            )  # fmt: skip
            edit_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            answered = (await curator.answerer_for(7)).ask("what is the benchmark fact?")
            rebuild_ms.append((time.perf_counter() - t) * 1000)
            assert answered.answer and f"({i})" in answered.answer
        edit_ms.sort()
        rebuild_ms.sort()
        return {
            "rows_per_s": n_queries / write_s,
            "edit_p50": statistics.median(edit_ms),
            "edit_p99": edit_ms[int(len(edit_ms) * 0.99) - 1],
            "visible_p50": statistics.median(rebuild_ms),
        }
    finally:
        await store.close()


async def main_async(args: argparse.Namespace) -> None:
    answerer = Answerer(load_pack(ROOT / "knowledge"))
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(
            ("SQLite (WAL)", await measure(Path(tmp) / "bench.db", args.queries, args.edits, answerer))
        )
    try:
        from pgserver import PostgresServer, find_bin_dir
    except ImportError:
        find_bin_dir = None  # type: ignore[assignment]
    if find_bin_dir is not None and find_bin_dir() is not None:
        server = PostgresServer().start()
        try:
            url = server.create_database("bench")
            rows.append(("PostgreSQL (local)", await measure(url, args.queries, args.edits, answerer)))
        finally:
            server.stop()
    else:
        print("PostgreSQL binaries not found: only SQLite measured (apt-get install postgresql)")
    print(f"python {platform.python_version()}, {__import__('os').cpu_count()} cores; "
          f"{args.queries:,} logged questions, {args.edits} edits\n")  # fmt: skip
    print(
        "| backend | query log writes | moderator edit p50 | p99 | edit visible to the next question (p50) |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, m in rows:
        print(
            f"| {name} | {m['rows_per_s']:,.0f} rows/s | {m['edit_p50']:.1f} ms | {m['edit_p99']:.1f} ms "
            f"| {m['visible_p50']:.0f} ms |"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--edits", type=int, default=100)
    asyncio.run(main_async(ap.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
