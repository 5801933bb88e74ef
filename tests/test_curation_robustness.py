"""Moderators' facts under stress: many moderators at once, killed processes, fuzzed input.

1. Concurrency: 100 adds and edits at once, from one process or two (two Curators, each with its
   own connection to the same SQLite file, or PostgreSQL database): nothing acknowledged is lost,
   every history is 1..n, stale edits are refused with VersionConflict, and every process answers
   from the last version. Several processes can create and migrate a new SQLite file at once.
2. Crash safety: writer subprocesses (tests/crash_writer.py) are SIGKILLed mid-burst; the file
   is intact and every acknowledged (committed) change or query-log batch is in it.
3. Fuzzing (hypothesis, derandomised): modal-like fields for add/edit and import files; only
   CurationError with messages, limits enforced, nothing invalid or partial is stored, and a valid
   import round-trips through export.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import bot.curation as curation
from bot.curation import (
    ALLOWED_KEYS,
    MAX_IMPORT_BYTES,
    CurationError,
    Curator,
    clean_fields,
    split_lines,
)
from bot.knowledge import KnowledgePack
from bot.knowledge.loader import LIMITS, MIN_QUESTIONS, validate_pack
from bot.storage import FactVersion, Storage, VersionConflict, open_storage
from bot.storage.sqlite import MIGRATIONS, SQLiteStorage

ROOT = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).resolve().parent / "crash_writer.py"
GUILD = 4242
MODERATORS = [(101, "Amina"), (102, "Bilal"), (103, "Chen"), (104, "Dawit"), (105, "Elif")]
SHIPPED_BLIND = "battle-of-bagdoura"  # overridden by edits without expected_version
SHIPPED_CHECKED = "berber-revolt-begins-in-tangier"  # edited with expected_version=0
ENTITY_IDS = ["abd-al-malik-ibn-katan-al-fihri", "abd-al-rahman-ibn-habib-al-fihri", "no-such-person"]
FACT_IDS = [SHIPPED_BLIND, SHIPPED_CHECKED, "no-such-fact"]
SOURCE_ID = "wikipedia-berber-revolt"


def fact_fields(title: str, answer: str) -> dict[str, Any]:
    return {"title": title, "answer": answer, "questions": [f"What is {title}?", f"Tell me about {title}"]}


async def audit_rows(store: Storage) -> int:
    if isinstance(store, SQLiteStorage):
        async with store.db.execute("SELECT COUNT(*) FROM audit_log") as cur:
            return (await cur.fetchone())[0]
    return await store.count("audit_log")  # type: ignore[attr-defined]  # PostgresStorage


# --- 1. concurrency -------------------------------------------------------------------------


@pytest.mark.parametrize("processes", [1, 2])
async def test_concurrent_moderators_lose_nothing(
    storage_target, pack: KnowledgePack, answerer, processes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite (one file) and PostgreSQL: the same guarantees."""
    monkeypatch.setattr(curation, "REVISION_POLL", 0.2)  # another process's change is seen within this
    stores = [open_storage(storage_target) for _ in range(processes)]
    for store in stores:
        await store.open()
    curators = [Curator(pack, store, answerer) for store in stores]
    try:
        await _run_concurrent_moderators(curators)
    finally:
        for store in stores:
            await store.close()


async def _run_concurrent_moderators(curators: list[Curator]) -> None:
    acks: list[FactVersion] = []
    for k in range(5):  # seeded one after another: seed-0 .. seed-4 at version 1
        acks.append(
            await curators[0].add(
                GUILD,
                dict(fact_fields(f"Seed {k}", f"Seed answer {k}."), id=f"seed-{k}"),
                author_id=100,
                author_name="seeder",
            )
        )
    for curator in curators:  # every process has a cached view before the load starts
        assert SHIPPED_BLIND in (await curator.answerer_for(GUILD)).pack.facts

    # 40 adds (titles 0-9 twice, at once: the same id is wanted twice), 30 edits without a
    # version check, 30 edits that expect the version they saw (only one per fact can win)
    ops: list[tuple[str, str, int | None]] = [("add", f"Note {k}", None) for k in [*range(30), *range(10)]]
    blind_targets = ["seed-0", "seed-1", "seed-2", SHIPPED_BLIND]
    checked_targets = {"seed-3": 1, "seed-4": 1, SHIPPED_CHECKED: 0}
    ops += [("edit", blind_targets[k % 4], None) for k in range(30)]
    ops += [("checked", t, v) for k, (t, v) in zip(range(30), itertools.cycle(checked_targets.items()))]
    random.Random(7).shuffle(ops)
    assert len(ops) == 100

    async def run(i: int, kind: str, target: str, expected: int | None) -> FactVersion:
        curator = curators[i % len(curators)]
        author_id, name = MODERATORS[i % len(MODERATORS)]
        await asyncio.sleep(0)
        answer = f"{name} wrote op {i}."
        if kind == "add":
            return await curator.add(
                GUILD, fact_fields(target, answer), author_id=author_id, author_name=name
            )
        fields = dict(fact_fields(f"Edited {target}", answer))
        return await curator.edit(
            GUILD, target, fields, author_id=author_id, author_name=name, expected_version=expected
        )

    async def look(k: int) -> None:  # questions keep arriving while moderators write
        await asyncio.sleep(0.02 * k)
        await curators[k % len(curators)].answerer_for(GUILD)

    started = time.perf_counter()
    results = await asyncio.gather(
        *(run(i, *op) for i, op in enumerate(ops)),
        *(look(k) for k in range(len(curators))),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - started
    results = results[: len(ops)]
    assert elapsed < 60, f"100 concurrent changes took {elapsed:.1f} s"

    refused_markers: list[str] = []
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for i, ((kind, target, expected), result) in enumerate(zip(ops, results, strict=True)):
        by_kind[kind].append((target, result))
        if isinstance(result, FactVersion):
            assert result.author_name == MODERATORS[i % len(MODERATORS)][1]
            acks.append(result)
            continue
        # only a stale expected_version may be refused, and only as a VersionConflict
        assert kind == "checked" and isinstance(result, VersionConflict), "".join(
            traceback.format_exception(result)
        )
        assert result.expected == expected and result.actual > expected and result.fact_id == target
        refused_markers.append(f"wrote op {i}.")

    added = [r for _, r in by_kind["add"]]
    assert all(isinstance(r, FactVersion) for r in added), "an add was refused"
    assert len({r.fact_id for r in added}) == 40
    for k in range(10):  # the same title added twice at once: both kept, under two ids
        assert sorted(r.fact_id for r in added if r.data["title"] == f"Note {k}") == [
            f"note-{k}",
            f"note-{k}-2",
        ]
    assert all(isinstance(r, FactVersion) for _, r in by_kind["edit"])
    wins = Counter(t for t, r in by_kind["checked"] if isinstance(r, FactVersion))
    assert wins == dict.fromkeys(checked_targets, 1), "exactly one edit per version wins"

    # every acknowledged change is there, nothing else is, and each history is 1..n
    acked_by_fact: dict[str, dict[int, FactVersion]] = defaultdict(dict)
    for v in acks:
        assert v.version not in acked_by_fact[v.fact_id], f"{v.fact_id} v{v.version} acknowledged twice"
        acked_by_fact[v.fact_id][v.version] = v
    last: dict[str, FactVersion] = {}
    for fid, acked in acked_by_fact.items():
        history = await curators[-1].history(GUILD, fid)
        assert [h.version for h in history] == list(range(1, len(history) + 1)), fid
        assert {h.version for h in history} == set(acked), f"{fid}: stored versions differ from acknowledged"
        for h in history:
            a = acked[h.version]
            assert (h.action, h.data, h.author_id, h.author_name) == (
                a.action,
                a.data,
                a.author_id,
                a.author_name,
            )
            assert not any(m in json.dumps(h.data) for m in refused_markers)
        last[fid] = history[-1]
    assert len(last) == 5 + 40 + 2
    assert await audit_rows(curators[0].storage) == len(acks), "an audit entry is missing"

    # every process answers from the last version of every fact, a change by another process
    # included (seen within REVISION_POLL): each caches its view, then the last one edits once more
    for curator in curators:
        await curator.answerer_for(GUILD)
    last["seed-0"] = await curators[-1].edit(
        GUILD, "seed-0", fact_fields("Edited seed-0", "The very last word."), author_id=9, author_name="last"
    )
    await asyncio.sleep(curation.REVISION_POLL + 0.05)
    for curator in curators:
        view = (await curator.answerer_for(GUILD)).pack.facts
        for fid, v in last.items():
            assert view[fid].answer == v.data["answer"], f"{fid}: a stale view"
        reply = (await curator.answerer_for(GUILD)).ask("What is Edited seed-0?")
        assert reply.fact_id == "seed-0" and reply.answer == "The very last word."


async def test_processes_opening_a_new_database_at_once_all_start(tmp_path: Path) -> None:
    """Several connections create, switch to WAL and migrate one new file at the same moment."""
    for attempt in range(10):
        stores = [SQLiteStorage(tmp_path / f"new-{attempt}.db") for _ in range(6)]
        try:
            await asyncio.gather(*(s.open() for s in stores))
            assert {await s.schema_version() for s in stores} == {len(MIGRATIONS)}
            async with stores[0].db.execute("PRAGMA journal_mode") as cur:
                assert (await cur.fetchone())[0] == "wal"
        finally:
            for s in stores:
                await s.close()


# --- 2. crash safety ------------------------------------------------------------------------


def _spawn(kind: str, db: Path, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WRITER), kind, str(db), name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def _kill_mid_burst(
    procs: list[subprocess.Popen[str]], acks: Callable[[list[str]], int], want: int
) -> list[list[str]]:
    """Collect each writer's stdout; SIGKILL them all once each has acknowledged ``want`` writes,
    or at least one on a slow machine after 6 s (the test stays under 10 s: it fails at 8.5 s)."""
    outputs: list[list[str]] = [[] for _ in procs]

    def read(proc: subprocess.Popen[str], out: list[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line.rstrip("\n"))

    readers = [
        threading.Thread(target=read, args=pair, daemon=True) for pair in zip(procs, outputs, strict=True)
    ]
    for r in readers:
        r.start()
    started = time.monotonic()
    try:
        while True:
            counts = [acks(list(out)) for out in outputs]
            waited = time.monotonic() - started
            if min(counts) >= want or (waited > 6 and min(counts) >= 1):
                break
            for proc in procs:
                if proc.poll() is not None:
                    err = proc.stderr.read() if proc.stderr else ""
                    pytest.fail(f"a writer exited on its own ({proc.returncode}):\n{err}")
            if waited > 8.5:
                pytest.fail(f"the writers acknowledged nothing in {waited:.1f} s: {counts}")
            time.sleep(0.005)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
        for proc in procs:
            proc.wait(timeout=5)
        for r in readers:
            r.join(timeout=5)
        for proc in procs:
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
    for proc in procs:
        assert proc.returncode == -signal.SIGKILL
    return outputs


def _assert_intact(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    return con


def test_killed_fact_writers_keep_every_acknowledged_change(tmp_path: Path) -> None:
    db = tmp_path / "crash-facts.db"  # both processes create and migrate it at once
    names = ["alpha", "beta"]
    outputs = _kill_mid_burst(
        [_spawn("facts", db, n) for n in names], lambda out: sum(x.startswith("ack") for x in out), 40
    )
    con = _assert_intact(db)
    rows = con.execute("SELECT fact_id, version, data, author_id, author_name FROM fact_versions").fetchall()
    stored = {(fid, ver): (json.loads(data), aid, name) for fid, ver, data, aid, name in rows}
    versions: dict[str, list[int]] = defaultdict(list)
    for fid, ver in stored:
        versions[fid].append(ver)
    for fid, vs in versions.items():  # no gaps, no duplicates, even for the fact both wrote
        assert sorted(vs) == list(range(1, len(vs) + 1)), fid
    for name, out in zip(names, outputs, strict=True):
        acked_batches: set[int] = set()
        for line in out:
            if not line.startswith("ack "):
                continue
            for fid, ver, data in json.loads(line[4:]):
                assert stored[(fid, ver)] == (data, data["i"], name), f"acknowledged {fid} v{ver} is lost"
                acked_batches.add(data["i"])
        assert acked_batches
        batches = Counter(aid for (_, aid, who) in stored.values() if who == name)
        assert set(batches.values()) == {2}, "a transaction was half written"
        # at most the one batch that was committed but not yet acknowledged when it was killed
        assert set(batches) - acked_batches <= {max(acked_batches) + 1}
    con.close()


def test_killed_query_log_keeps_every_committed_batch(tmp_path: Path) -> None:
    db = tmp_path / "crash-queries.db"
    [out] = _kill_mid_burst([_spawn("queries", db, "asker")], lambda out: sum(x == "commit" for x in out), 8)
    con = _assert_intact(db)
    queries = {row[0] for row in con.execute("SELECT id FROM queries")}
    feedback = {row[0] for row in con.execute("SELECT query_id FROM feedback")}
    committed: list[dict[str, list[str]]] = []
    pending: dict[str, list[str]] | None = None
    for line in out:
        if line.startswith("begin "):
            assert pending is None
            pending = json.loads(line[6:])
        elif line == "commit":
            assert pending is not None
            committed.append(pending)
            pending = None
    assert committed
    for batch in committed:
        assert set(batch["queries"]) <= queries, "a committed query-log batch is missing"
        assert set(batch["feedback"]) <= feedback
    expected_queries = set().union(*(b["queries"] for b in committed))
    expected_feedback = set().union(*(b["feedback"] for b in committed))
    if pending is not None:  # the batch it was writing when killed: all of it or none of it
        cut = set(pending["queries"]) | set(pending["feedback"])
        if cut & (queries | feedback):  # committed, but killed before it could say so
            expected_queries |= set(pending["queries"])
            expected_feedback |= set(pending["feedback"])
    assert queries == expected_queries, "query rows from a batch that never committed, or half a batch"
    assert feedback == expected_feedback, "feedback rows from a batch that never committed, or half a batch"
    con.close()


# --- 3. fuzzing -----------------------------------------------------------------------------

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
ODD = "".join(chr(c) for c in [*range(32), 127, 0x85, 0xA0, 0x200B, 0x2028, 0xFEFF, 0x3000])


def visible(text: str) -> bool:
    """Text a reader would see: the validator refuses spaces and control characters alone."""
    return any(ch.isprintable() and not ch.isspace() for ch in text)


short_text = st.text(max_size=40)
odd_text = st.text(alphabet=st.sampled_from([*ODD, "a", "é", "漢", "𓂀", " "]), max_size=20)
huge_text = st.builds(
    lambda c, n: c * n, st.sampled_from(["a", "é", "𓂀", " ", "\x07", "ab "]), st.integers(0, 10_000)
)
texts = st.one_of(short_text, odd_text, huge_text, st.sampled_from(["", " ", "\n\t ", "\u3000"]))
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(
        st.one_of(st.integers(), st.none(), short_text, st.lists(st.integers(), max_size=2)), max_size=4
    ),
    st.dictionaries(short_text, st.one_of(st.integers(), short_text), max_size=3),
)
any_value = st.one_of(texts, texts.map(split_lines), st.lists(texts, max_size=4), wrong_types)


def near(limit: int) -> st.SearchStrategy[str]:
    """Text just under, at and over a length limit."""
    return st.builds(
        lambda c, n: c * n, st.sampled_from(["a", "é", "字", "𓂀"]), st.integers(limit - 2, limit + 2)
    )


nonblank = short_text.filter(visible)
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(
        st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True), st.sampled_from(FACT_IDS)
    ),
    "title": st.one_of(nonblank, near(LIMITS["title"])),
    "answer": st.one_of(nonblank, near(LIMITS["answer"])),
    "questions": st.lists(st.one_of(nonblank, near(LIMITS["question"])), max_size=4),
    "source": st.sampled_from([SOURCE_ID, "no-such-source"]),
    "when": st.one_of(
        st.sampled_from(["0741", "0739/0743", "0740-10", "0741~", "sometime", "0741-13-45", "0743/0739"]),
        st.dates(),
    ),
    "who": st.lists(st.sampled_from(ENTITY_IDS), max_size=3),
    "where": st.lists(st.sampled_from(ENTITY_IDS), max_size=2),
    "tags": st.lists(nonblank, max_size=3),
    "related": st.lists(st.sampled_from(FACT_IDS), max_size=2),
    "links": st.lists(
        st.fixed_dictionaries(
            {"title": nonblank, "url": st.sampled_from(["https://example.org/a", "ftp://x"])}
        ),
        max_size=2,
    ),
}


@st.composite
def modal_fields(draw: st.DrawFn, source_text: str) -> dict[str, Any]:
    """What a moderator's modal might send: mostly a fact with a few fields changed (often to
    something plausible, sometimes to anything), or any fields with any values."""
    mode = draw(st.sampled_from(["careful"] * 5 + ["sizes"] * 2 + ["wild"]))
    careful = mode != "wild"
    fields: dict[str, Any] = fact_fields("A fuzzed fact", "A fuzzed answer.") if careful else {}
    if mode == "sizes":  # around the limits, and far over them
        sized = st.sampled_from(["title", "answer", "excerpt", "questions"])
        for key in draw(st.lists(sized, min_size=1, unique=True)):
            limit = LIMITS["question" if key == "questions" else key]
            size = draw(st.one_of(st.integers(limit - 2, limit + 2), st.integers(0, 10_000)))
            if key == "excerpt":
                start = draw(st.integers(0, len(source_text) - size)) if size < len(source_text) else 0
                fields.update(excerpt=source_text[start : start + size], source=SOURCE_ID)
            elif key == "questions":
                fields[key] = ["Is this short?", draw(st.sampled_from(["q", "é", " x"])) * size]
            else:
                fields[key] = draw(st.sampled_from(["a", "é", "字", "𓂀", "a "])) * size
        return fields
    extra = [*ALLOWED_KEYS, "note", "Title"]
    keys = draw(st.lists(st.sampled_from(extra), unique=True, max_size=3 if careful else 6))
    for key in keys:
        if key == "excerpt":
            start = draw(st.integers(0, len(source_text) - 1))
            quoted = source_text[start : start + draw(st.integers(1, 700))]
            fields[key] = draw(st.one_of(st.just(quoted), st.just(quoted), any_value))
            if "source" not in keys and draw(st.integers(0, 3)) > 0:
                fields["source"] = SOURCE_ID
        elif key in GOOD and (not careful or draw(st.integers(0, 3)) > 0):
            fields[key] = draw(GOOD[key])
        else:
            fields[key] = draw(any_value)
    return fields


class FuzzEnv:
    """One database and Curator for a whole hypothesis test, driven from sync code."""

    def __init__(self, runner: asyncio.Runner, curator: Curator, db: Path) -> None:
        self.runner, self.curator, self.db = runner, curator, db
        self.guilds = itertools.count(10_000)
        self.source_text = curator.base.sources[SOURCE_ID].text
        self.excerpts = sorted({f.excerpt for f in curator.base.facts.values() if f.excerpt})[:30]

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "FuzzEnv()"

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.runner.run(coro)

    def rows(self) -> tuple[int, int]:
        """Committed fact versions and audit entries, read through a separate connection."""
        with contextlib.closing(sqlite3.connect(self.db)) as con:
            facts = con.execute("SELECT COUNT(*) FROM fact_versions").fetchone()[0]
            audit = con.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        return facts, audit


@pytest.fixture
def fuzz(tmp_path: Path, pack: KnowledgePack, answerer):
    db = tmp_path / "fuzz.db"
    with asyncio.Runner() as runner:
        store = open_storage(db)
        runner.run(store.open())
        curator = Curator(pack, store, answerer)
        env = FuzzEnv(runner, curator, db)
        env.run(
            curator.add(
                GUILD,
                dict(fact_fields("Fuzz target", "Before."), id="fuzz-target"),
                author_id=1,
                author_name="seed",
            )
        )
        try:
            yield env
        finally:
            runner.run(store.close())


def assert_reasons(exc: CurationError) -> None:
    assert exc.problems, "a refusal without a reason"
    assert all(isinstance(p, str) and p.strip() for p in exc.problems), exc.problems


def attempt(fuzz: FuzzEnv, call: Coroutine[Any, Any, Any], what: str) -> tuple[Any, CurationError | None]:
    """One curator call: (its result, None), or (None, the refusal), which must give its reasons
    and leave the store as it was."""
    before = fuzz.rows()
    try:
        result = fuzz.run(call)
    except CurationError as exc:
        event("refused")
        assert_reasons(exc)
        assert fuzz.rows() == before, f"a refused {what} stored something"
        return None, exc
    event("stored")
    return result, None


def over_limits(cleaned: dict[str, Any]) -> list[str]:
    """The fields of a cleaned submission that break a size limit."""
    over = [
        k
        for k in ("title", "answer", "excerpt")
        if isinstance(cleaned.get(k), str) and len(cleaned[k].strip()) > LIMITS[k]
    ]
    questions = cleaned.get("questions")
    if isinstance(questions, list) and any(
        isinstance(q, str) and len(q) > LIMITS["question"] for q in questions
    ):
        over.append("questions")
    return over


def limit_reported(key: str, problems: list[str]) -> bool:
    if key == "questions":
        return any(f"longer than {LIMITS['question']} characters" in p for p in problems)
    return any(f"field '{key}' is " in p and f"the limit is {LIMITS[key]}" in p for p in problems)


def assert_storable(env: FuzzEnv, guild: int, data: dict[str, Any] | None) -> None:
    """A stored version is a fact the validator accepts, within every limit."""
    assert data is not None
    assert set(data) <= set(ALLOWED_KEYS)
    assert not over_limits(data)
    for key in ("title", "answer"):
        assert isinstance(data[key], str) and data[key] == data[key].strip() and data[key]
    assert isinstance(data["questions"], list) and len(data["questions"]) >= MIN_QUESTIONS
    known = env.run(env.curator._known_ids(guild)) | {data["id"]}
    assert env.curator.validate(dict(data), known_ids=known) == []
    assert json.loads(json.dumps(data)) == data


@FUZZ
@given(data=st.data())
def test_fuzzed_modal_add(fuzz: FuzzEnv, data: st.DataObject) -> None:
    fields = data.draw(modal_fields(fuzz.source_text))
    cleaned, over = clean_fields(fields), over_limits(clean_fields(fields))
    for key in over:
        event(f"over the {key} limit")
    before = fuzz.rows()
    v, refused = attempt(fuzz, fuzz.curator.add(GUILD, fields, author_id=7, author_name="fuzzer"), "add")
    if refused is not None:
        if not any("already exists" in p for p in refused.problems):
            assert all(limit_reported(k, refused.problems) for k in over), (over, refused.problems)
        return
    assert not over, f"stored a fact over the limits: {over}"
    assert fuzz.rows() == (before[0] + 1, before[1] + 1)
    [stored] = fuzz.run(fuzz.curator.history(GUILD, v.fact_id))
    assert stored.data == {**cleaned, "id": v.fact_id} == v.data
    assert_storable(fuzz, GUILD, stored.data)


@FUZZ
@given(data=st.data())
def test_fuzzed_modal_edit(fuzz: FuzzEnv, data: st.DataObject) -> None:
    fields = data.draw(modal_fields(fuzz.source_text))
    target = data.draw(st.sampled_from(["fuzz-target", SHIPPED_BLIND, "no-such-fact"]))
    over = over_limits(clean_fields(fields))
    for key in over:
        event(f"over the {key} limit")
    before_rows = fuzz.rows()
    before = fuzz.run(fuzz.curator.fact_data(GUILD, target))
    edit = fuzz.curator.edit(GUILD, target, fields, author_id=7, author_name="fuzzer")
    v, refused = attempt(fuzz, edit, "edit")
    if refused is not None:
        assert fuzz.run(fuzz.curator.fact_data(GUILD, target)) == before
        if before is not None:
            assert all(limit_reported(k, refused.problems) for k in over), (over, refused.problems)
        return
    assert before is not None and target != "no-such-fact"
    assert not over, f"stored a fact over the limits: {over}"
    assert fuzz.rows() == (before_rows[0] + 1, before_rows[1] + 1)
    assert v.data == {**clean_fields(fields), "id": target}
    assert fuzz.run(fuzz.curator.history(GUILD, target))[-1] == v
    assert_storable(fuzz, GUILD, v.data)


yaml_tokens = st.sampled_from(
    [
        *"facts:-[]{}&*!|>#'\",?%@`\n\t abcé0",
        "facts:\n",
        "- ",
        "id: a\n",
        "title: ",
        "\n  ",
        "!!binary ",
        "&x ",
        "*x",
        "!!set ",
        "questions: [",
        "when: 2001-01-01",
        "when: 0741-02-30\n",
        "!!int x",
        "\x00",
        "\ufeff",
        "[" * 200,
    ]
)
yamlish_text = st.one_of(st.lists(yaml_tokens, max_size=60).map("".join), st.text(max_size=200))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), short_text, st.dates()
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def fact_like(draw: st.DrawFn) -> dict[str, Any]:
    fact = dict(fact_fields(draw(st.sampled_from(["One", "Two"])), "An imported answer."))
    fact["id"] = draw(st.sampled_from(["imp-a", "imp-b", "imp-c", SHIPPED_BLIND]))  # duplicates too
    for key in draw(st.lists(st.sampled_from([*ALLOWED_KEYS, "nope"]), unique=True, max_size=3)):
        good = key in GOOD and draw(st.integers(0, 2)) > 0
        fact[key] = draw(GOOD[key] if good else junk)
    if draw(st.integers(0, 9)) == 0:
        del fact["questions"]
    return fact


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def dump_exactly(data: Any) -> str:
    """YAML that reads back as ``data`` (PyYAML mangles a raw U+0085 in single quotes; escaped,
    as it is without allow_unicode, it reads back)."""
    odd_breaks = any(c in json.dumps(data, ensure_ascii=False) for c in "\x85\u2028\u2029")
    return yaml.safe_dump(data, sort_keys=False) if odd_breaks else dump(data)


def test_a_pack_with_a_date_yaml_cannot_build_is_reported_with_its_line(mini_pack_dir: Path) -> None:
    """The pack loader shares the YAML reader: 0741-02-30 unquoted is a problem, not a crash."""
    path = mini_pack_dir / "facts" / "01-siege.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    [n] = [i for i, line in enumerate(lines) if line.strip().startswith("when:")][:1]
    lines[n] = "    when: 0741-02-30\n"
    path.write_text("".join(lines), encoding="utf-8")
    pack, problems = validate_pack(mini_pack_dir)
    assert pack is None
    assert [(p.line, "day is out of range" in p.message) for p in problems] == [(n + 1, True)]


VALID_ONE = "facts:\n- id: imp-a\n  title: One\n  answer: An answer.\n  questions: [x?, y?]\n"
unquoted_dates = st.builds(  # YAML reads these as dates, or fails to (0741-02-30)
    lambda y, m, d: f"{VALID_ONE}  when: {y:04d}-{m:02d}-{d:02d}\n",
    st.integers(0, 2100),
    st.integers(0, 13),
    st.integers(0, 32),
)
import_files = st.one_of(
    yamlish_text,
    unquoted_dates,
    st.lists(st.one_of(fact_like(), fact_like(), junk), max_size=5).map(lambda f: dump({"facts": f})),
    st.lists(fact_like(), min_size=1, max_size=4).map(lambda f: dump({"chapter": "x", "facts": f})),
    st.lists(fact_like(), min_size=1, max_size=3, unique_by=lambda f: repr(f.get("id"))).map(
        lambda f: dump({"facts": f})
    ),
    junk.map(dump),  # no facts key, a list or a scalar at the top, ...
    st.lists(fact_like(), max_size=2).map(lambda f: dump({"fact": f})),
    st.lists(fact_like(), max_size=3).map(lambda f: dump({"facts": f, "extra": 1})),
)


@FUZZ
@given(text=import_files, oversize=st.sampled_from([0] * 9 + [1, 2]), pad=st.integers(1, 64))
@example(text=VALID_ONE, oversize=0, pad=1)
@example(text=VALID_ONE, oversize=2, pad=1)  # over the limit in bytes, not in characters
@example(text=VALID_ONE + VALID_ONE.removeprefix("facts:\n"), oversize=0, pad=1)  # duplicate ids
@example(text=VALID_ONE + "  when: 0741-02-30\n", oversize=0, pad=1)  # a date YAML cannot build
@example(text=VALID_ONE + "  when: 0741-02-03\n", oversize=0, pad=1)  # a date, not EDTF text
@example(text=VALID_ONE + "- 7\n- [a]\n- just text\n", oversize=0, pad=1)  # not mappings
@example(text="chapter: no facts here\n", oversize=0, pad=1)
@example(text="facts:\n" + "[" * 5000, oversize=0, pad=1)  # nested too deeply
@example(text="facts:\n- &f {id: imp-a, title: t, answer: a, questions: [x, y]}\n- *f\n", oversize=0, pad=1)
def test_fuzzed_import_is_all_or_nothing(fuzz: FuzzEnv, text: str, oversize: int, pad: int) -> None:
    if oversize:  # a comment that pushes the file just over the limit (in bytes: é is two)
        filler = "é" if oversize == 2 else "x"
        room = MAX_IMPORT_BYTES - len(text.encode()) - 3 + pad
        text += "\n# " + filler * (room // len(filler.encode()) + 1)
        assert len(text.encode()) > MAX_IMPORT_BYTES
    guild = next(fuzz.guilds)
    before = fuzz.rows()
    written, refused = attempt(
        fuzz, fuzz.curator.import_yaml(guild, text, author_id=7, author_name="fuzzer"), "import"
    )
    if refused is not None:
        assert fuzz.run(fuzz.curator.current(guild)) == {}
        if oversize:
            assert refused.problems == [f"import.yaml: the file is larger than {MAX_IMPORT_BYTES // 1024} KB"]
        return
    assert not oversize
    assert fuzz.rows() == (before[0] + len(written), before[1] + len(written))
    items = yaml.safe_load(text)["facts"]
    assert [v.data for v in written] == [clean_fields(dict(x)) for x in items]
    assert len({v.fact_id for v in written}) == len(written)
    for v in written:
        assert_storable(fuzz, guild, v.data)


@st.composite
def valid_import(draw: st.DrawFn, excerpts: list[str]) -> list[dict[str, Any]]:
    ids = draw(
        st.lists(
            st.from_regex(r"rt-[a-z0-9]{1,6}(-[a-z0-9]{1,6})?", fullmatch=True),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    facts = []
    for fid in ids:
        fact: dict[str, Any] = {
            "id": fid,
            "title": draw(st.text(min_size=1, max_size=60).filter(visible)),
            "answer": draw(st.text(min_size=1, max_size=120).filter(visible)),
            "questions": draw(
                st.lists(st.text(min_size=1, max_size=60).filter(visible), min_size=2, max_size=4)
            ),
        }
        if draw(st.booleans()):
            fact.update(excerpt=draw(st.sampled_from(excerpts)), source=SOURCE_ID)
        optional = {
            "when": st.sampled_from(["0741", "0739/0743", "0740-10", "0741~", "0742?"]),
            "who": st.lists(st.sampled_from(ENTITY_IDS[:2]), min_size=1, max_size=2, unique=True),
            "tags": st.lists(st.text(min_size=1, max_size=20).filter(visible), min_size=1, max_size=3),
            "related": st.lists(st.sampled_from([*FACT_IDS[:2], *ids]), min_size=1, max_size=2, unique=True),
            "links": st.lists(
                st.fixed_dictionaries({"title": nonblank, "url": st.just("https://example.org/x")}),
                min_size=1,
                max_size=2,
            ),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                fact[key] = draw(strategy)
        facts.append(fact)
    return facts


@FUZZ
@given(data=st.data())
def test_valid_import_round_trips_through_export(fuzz: FuzzEnv, data: st.DataObject) -> None:
    facts = data.draw(valid_import(fuzz.excerpts))
    first, second = next(fuzz.guilds), next(fuzz.guilds)
    written = fuzz.run(
        fuzz.curator.import_yaml(first, dump_exactly({"facts": facts}), author_id=1, author_name="m")
    )
    assert [v.data for v in written] == [clean_fields(f) for f in facts]
    exported = fuzz.run(fuzz.curator.export_yaml(first))
    again = fuzz.run(fuzz.curator.import_yaml(second, exported, author_id=2, author_name="m2"))
    assert [v.data for v in again] == [v.data for v in written]
    assert fuzz.run(fuzz.curator.export_yaml(second)) == exported
