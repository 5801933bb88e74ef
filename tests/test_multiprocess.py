"""Several processes, one database: `python -m bot run` twice, one shard each, sharing PostgreSQL.

Against one Discord stand-in with two shards: both processes identify (one shard each); a
moderator's fact is answered at once; a process killed with SIGKILL in the middle of a burst of
questions and edits loses no acknowledged edit, and its replacement answers with the latest
version. A /reload (here SIGHUP) in one process reaches the other within TARIKH_PACK_POLL.
The first test runs everywhere (SQLite, in-process); the others skip without PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from discord_standin import DiscordStandin, SentInteraction
from test_discord_bot import embed_of
from test_discord_curation import LIBRARY, MANAGE, NEW_FACT_FILE, command, content, form_defaults, form_id
from test_shutdown import ROOT, START_TIMEOUT, TOKEN, bot_env

from bot.answer import Answerer
from bot.config import DEFAULT_KNOWLEDGE, Settings
from bot.discord_app.client import PACK_REVISION, Services
from bot.knowledge import load_pack
from bot.querylog import QueryLog
from bot.storage import FactVersion, open_storage

SHARDS = 2
PACK_POLL = 0.5  # TARIKH_PACK_POLL for the processes under test (15 s by default)
FORM_TYPING = 0.2  # seconds between a form opening and its submission
NEW_QUESTION = "which fact exists only in the edited copy?"
NOT_FOUND = "Not in my sources"

# The server's own facts the burst edits: (form values, a question that finds the fact).
FACTS = [
    (LIBRARY, "did the qadi have a library?"),
    (
        {
            "title": "The reading group's copy of the chronicle",
            "answer": "Our reading group owns a printed copy of Ibn Abd al-Hakam's chronicle.",
            "excerpt": "",
            "when": "",
            "questions": "Does the reading group own the chronicle?\nWhich chronicle does the group own?",
        },
        "does the reading group own the chronicle?",
    ),
    (
        {
            "title": "The Kairouan map in the server",
            "answer": "A member drew the map of Kairouan pinned in this server's maps channel.",
            "excerpt": "",
            "when": "",
            "questions": "Who drew the Kairouan map?\nWhere is the map of Kairouan?",
        },
        "who drew the kairouan map?",
    ),
]


MINI_FACT_FILE = """\
chapter: Later
facts:
  - id: the-retreat
    title: The retreat from Oldport
    answer: The river clans retreated from Oldport once the relief fleet had come.
    excerpt: Arlo was killed during the retreat.
    source: chronicle
    when: "{when}"
    questions:
      - Did the river clans retreat?
      - When did the clans retreat from Oldport?
"""


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    """A copy of the shipped knowledge folder (TARIKH_KNOWLEDGE), which the tests change."""
    dest = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, dest)
    return dest


# -- 1. the pack_revision row, in process (SQLite: runs without PostgreSQL too) --------------------


async def test_a_reload_is_announced_and_each_other_process_follows_once(
    tmp_path: Path, mini_pack_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    knowledge, answerer = mini_pack_dir, Answerer(load_pack(mini_pack_dir))
    settings = Settings(database=tmp_path / "shared.db", knowledge=knowledge, pack_poll=0.05)
    one, two = Services(settings, answerer), Services(settings, answerer)
    off = Services(replace(settings, pack_poll=0), answerer)
    for services in (one, two, off):
        await services.storage.open()
        await services.start_pack_watch()
    try:
        assert off._pack_watch is None  # TARIKH_PACK_POLL=0: never checks
        new_file = knowledge / "facts" / "03-later.yaml"

        # refused: nothing is announced, everyone keeps the pack they have
        new_file.write_text(MINI_FACT_FILE.format(when="the day after tomorrow"), encoding="utf-8")
        assert await one.reload_knowledge(by="test")
        assert await one.storage.get_meta(PACK_REVISION) is None

        # accepted: announced; the other process reloads on its next check, the first does not
        new_file.write_text(MINI_FACT_FILE.format(when="0740"), encoding="utf-8")
        assert await one.reload_knowledge(by="test") == []
        revision = await one.storage.get_meta(PACK_REVISION)
        assert revision and "the-retreat" in one.answerer.pack.facts
        deadline = time.monotonic() + 5
        while "the-retreat" not in two.answerer.pack.facts:
            assert time.monotonic() < deadline, "the other process did not follow the reload"
            await asyncio.sleep(0.02)
        assert two.answerer.ask("did the river clans retreat?").fact_id == "the-retreat"
        assert "the-retreat" in two.curator.base.facts
        assert not await one.check_pack_revision() and not await two.check_pack_revision()

        # the other process's folder is broken when it follows: it keeps its pack, once
        await two.stop_pack_watch()  # (checked by hand from here)
        new_file.write_text(MINI_FACT_FILE.format(when="0741"), encoding="utf-8")
        assert await one.reload_knowledge(by="test") == []
        new_file.write_text("facts: [", encoding="utf-8")
        caplog.clear()
        assert await two.check_pack_revision()
        assert "reload refused" in caplog.text and "the-retreat" in two.answerer.pack.facts
        assert not await two.check_pack_revision()  # not again every poll

        # a process started after a reload starts current: nothing to follow
        late = Services(settings, answerer)
        await late.storage.open()
        await late.start_pack_watch()
        assert not await late.check_pack_revision()
        await late.stop_pack_watch()
        await late.storage.close()
    finally:
        for services in (one, two, off):
            await services.stop_pack_watch()
            await services.storage.close()


async def test_processes_starting_together_on_an_empty_database_agree(pg_url: str) -> None:
    """Two processes of `docker compose --profile scale up` start at the same moment: neither
    fails creating the tables, and both hash user ids with the same salt."""
    stores = [open_storage(pg_url) for _ in range(6)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        logs = [QueryLog(store) for store in stores]
        await asyncio.gather(*(log.start() for log in logs))
        assert len({log.user_key(42) for log in logs}) == 1
        assert await stores[0].get_meta("user_salt") and await stores[0].schema_version() >= 2
        for log in logs:
            await log.close()
    finally:
        for store in stores:
            await store.close()


# -- processes -----------------------------------------------------------------------------------


@dataclass
class BotProcess:
    shard: int
    proc: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class Cluster:
    """`python -m bot run` processes, one shard each, against one stand-in and one database."""

    def __init__(self, standin: DiscordStandin, tmp_path: Path, pg_url: str, knowledge: Path) -> None:
        self.standin, self.tmp_path, self.pg_url, self.knowledge = standin, tmp_path, pg_url, knowledge
        self.procs: list[BotProcess] = []

    async def start(self, shard: int) -> BotProcess:
        n = len(self.procs)
        env = bot_env(self.standin, self.tmp_path)
        env.update(
            TARIKH_DATABASE_URL=self.pg_url,
            SHARD_COUNT=str(SHARDS),
            SHARD_IDS=str(shard),
            TARIKH_KNOWLEDGE=str(self.knowledge),
            TARIKH_HEALTH_FILE=str(self.tmp_path / f"health-{n}.json"),
            TARIKH_PACK_POLL=str(PACK_POLL),
            TARIKH_COOLDOWN="1000/60",
        )
        log_path = self.tmp_path / f"bot-{n}-shard{shard}.log"
        with log_path.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run",
                cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        bot = BotProcess(shard, proc, log_path)
        self.procs.append(bot)
        return bot

    async def wait(self, check: Callable[[], object], what: str, timeout: float = 10.0) -> None:
        """Until ``check()`` is true; fails at once if a process that should be running died."""
        deadline = time.monotonic() + timeout
        while not check():
            for bot in self.procs:
                if bot.proc.returncode is not None and bot.proc.returncode != -signal.SIGKILL:
                    pytest.fail(f"shard {bot.shard}'s process exited ({bot.proc.returncode}):\n{bot.log()}")
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- shard {b.shard} ---\n{b.log()[-3000:]}" for b in self.procs)
                pytest.fail(f"timed out waiting for {what}\n{logs}")
            await asyncio.sleep(0.05)

    def identified(self, shard: int) -> int:
        return sum(1 for i in self.standin.identifies if i.get("shard") == [shard, SHARDS])

    async def stop(self, bot: BotProcess) -> int:
        bot.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(bot.proc.wait(), 12)

    async def close(self) -> None:
        for bot in self.procs:
            if bot.proc.returncode is None:
                bot.proc.kill()
                await bot.proc.wait()


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path, pg_url: str, knowledge: Path
) -> AsyncIterator[tuple[Cluster, list[BotProcess]]]:
    """Two processes, shard 0 and shard 1 of two, both identified; killed if still alive after."""
    async with DiscordStandin(token=TOKEN, shard_count=SHARDS) as standin:
        group = Cluster(standin, tmp_path, pg_url, knowledge)
        try:
            bots = [await group.start(shard) for shard in range(SHARDS)]
            await group.wait(lambda: all(group.identified(s) for s in range(SHARDS)), "both IDENTIFYs",
                             timeout=START_TIMEOUT + 10)  # fmt: skip
            await standin.wait_until_ready()
            yield group, bots
        finally:
            await group.close()


async def ask(standin: DiscordStandin, question: str) -> dict[str, object]:
    sent = await standin.slash_command("ask", {"question": question})
    return embed_of(await standin.wait_for_response(sent))


async def open_edit(standin: DiscordStandin, fid: str) -> tuple[str, dict[str, str]]:
    opened = await command(standin, "fact", {"id": fid}, sub="edit")
    cid = form_id(opened)
    return cid, form_defaults(standin, cid)


def assert_clean(bot: BotProcess) -> None:
    log = bot.log()
    assert "Traceback" not in log and "[ERROR" not in log, log


# -- 2. a process killed in a burst ------------------------------------------------------------------


async def test_a_killed_shard_process_loses_no_acknowledged_edit_and_its_replacement_answers(
    tmp_path: Path, pg_url: str, knowledge: Path
) -> None:
    async with cluster(tmp_path, pg_url, knowledge) as (group, bots):
        standin = group.standin
        assert sorted(tuple(i["shard"]) for i in standin.identifies) == [(0, SHARDS), (1, SHARDS)]
        owner = standin.guild_shard(shard_count=SHARDS)  # Discord sends the server's events there
        owning, other = bots[owner], bots[1 - owner]

        # a moderator's fact, answered at once
        fids: list[str] = []
        for values, question in FACTS:
            opened = await command(standin, "fact", sub="add")
            await asyncio.sleep(FORM_TYPING)
            added = await standin.wait_for_response(
                await standin.submit_modal(form_id(opened), values, permissions=MANAGE)
            )
            assert "Added" in content(added) and "version 1" in content(added), added.json
            fids.append(re.search(r"\(`([a-z0-9-]+)`", content(added)).group(1))  # type: ignore[union-attr]
            embed = await ask(standin, question)
            assert embed["title"] == values["title"] and embed["description"] == values["answer"]

        # a burst: one moderator per fact editing it again and again, and members asking
        submitted: list[tuple[str, str, SentInteraction]] = []  # (fact id, answer, the form's submit)
        asked: list[SentInteraction] = []

        stopped = asyncio.Event()  # (3.11's wait_for can swallow a cancel: the loops check this too)

        async def edits(fid: str) -> None:
            for n in itertools.count(1):
                if stopped.is_set():
                    return
                cid, defaults = await open_edit(standin, fid)
                # a moderator types for a moment: discord.py registers the form only once its
                # own HTTP request opening it has returned, which may be after the stand-in saw it
                await asyncio.sleep(FORM_TYPING)
                answer = f"Edit {n} of {fid}: the text a moderator saved at {time.time():.6f}."
                sent = await standin.submit_modal(cid, dict(defaults, answer=answer), permissions=MANAGE)
                submitted.append((fid, answer, sent))
                assert "Saved" in content(await standin.wait_for_response(sent))

        async def questions(offset: int) -> None:
            for n in itertools.count(offset):
                if stopped.is_set():
                    return
                await asyncio.sleep(0.02)
                sent = await standin.slash_command("ask", {"question": FACTS[n % len(FACTS)][1]})
                asked.append(sent)
                await standin.wait_for_response(sent)

        def acknowledged() -> list[tuple[str, str, int]]:
            out = []
            for fid, answer, sent in submitted:
                replies = standin.responses_for(sent)
                if replies:
                    version = re.search(r"version (\d+)", content(replies[0]))
                    assert version, replies[0].json
                    out.append((fid, answer, int(version.group(1))))
            return out

        burst = [asyncio.create_task(edits(fid)) for fid in fids]
        burst += [asyncio.create_task(questions(i)) for i in range(2)]
        try:

            def enough() -> bool:
                done = [f for f, _, _ in acknowledged()]
                return all(done.count(f) >= 3 for f in fids) or any(t.done() for t in burst)

            await group.wait(enough, "three acknowledged edits of each fact")
            for task in burst:
                if task.done():
                    task.result()  # a failure in the burst, before the kill
            # one more question on its way as the process dies (the burst has others in flight)
            asked.append(await standin.slash_command("ask", {"question": FACTS[0][1]}))
            owning.proc.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(owning.proc.wait(), 5) == -signal.SIGKILL
        finally:
            stopped.set()
            for task in burst:
                task.cancel()
            await asyncio.wait(burst, timeout=10)
        acked = acknowledged()
        in_flight = [s for _, _, s in submitted if not standin.responses_for(s)]
        in_flight += [s for s in asked if not standin.responses_for(s)]
        assert in_flight, "nothing was in flight when the process was killed"
        answered_questions = sum(1 for s in asked if standin.responses_for(s))
        assert answered_questions and len(acked) >= 3 * len(fids)

        # every acknowledged edit is in PostgreSQL, and the history is whole
        store = open_storage(pg_url)
        await store.open()
        try:
            latest: dict[str, FactVersion] = {}
            current = await store.current_facts(standin.guild_id)
            assert sorted(current) == sorted(fids)
            revision = await store.guild_revision(standin.guild_id)
            for fid in fids:
                history = await store.fact_history(standin.guild_id, fid)
                assert [v.version for v in history] == list(range(1, len(history) + 1))
                assert history[0].action == "add" and all(v.action == "edit" for v in history[1:])
                mine = [(answer, v) for f, answer, v in acked if f == fid]
                tried = [answer for f, answer, _ in submitted if f == fid]
                for answer, version in mine:
                    assert history[version - 1].data is not None
                    assert history[version - 1].data["answer"] == answer, (fid, version)
                # at most the one edit in flight was written without its reply reaching Discord
                assert max(v for _, v in mine) <= len(history) <= max(v for _, v in mine) + 1
                assert [v.data["answer"] for v in history[1:]] == tried[: len(history) - 1]  # type: ignore[index]
                assert all(v.data and v.data["title"] for v in history)
                assert current[fid] == history[-1]
                latest[fid] = history[-1]
            assert revision >= sum(v.version for v in latest.values())
            stats = await store.stats(guild_id=standin.guild_id)  # the query log reads back too
            assert stats.total <= len(asked) + len(FACTS) and stats.answered == stats.total
            assert await store.writable()
        finally:
            await store.close()

        # the replacement for the killed shard reads the server's facts from the database
        before = group.identified(owner)
        replacement = await group.start(owner)
        await group.wait(lambda: group.identified(owner) > before, "the replacement's IDENTIFY",
                         timeout=START_TIMEOUT + 5)  # fmt: skip
        await standin.wait_until_ready()
        for (values, question), fid in zip(FACTS, fids, strict=True):
            embed = await ask(standin, question)
            assert embed["title"] == values["title"], embed
            assert embed["description"] == latest[fid].data["answer"]  # type: ignore[index]
        for bot in (other, replacement):
            assert await group.stop(bot) == 0, bot.log()
            assert_clean(bot)
        assert "shut down cleanly" in replacement.log()


# -- 3. /reload (SIGHUP) in one process reaches the other ------------------------------------------


async def test_sighup_in_one_process_reloads_the_other_within_its_poll_interval(
    tmp_path: Path, pg_url: str, knowledge: Path
) -> None:
    async with cluster(tmp_path, pg_url, knowledge) as (group, bots):
        standin = group.standin
        owner = standin.guild_shard(shard_count=SHARDS)
        answering, signalled = bots[owner], bots[1 - owner]  # /ask reaches the guild's shard only
        values, question = FACTS[0]
        opened = await command(standin, "fact", sub="add")
        await asyncio.sleep(FORM_TYPING)
        added = await standin.wait_for_response(
            await standin.submit_modal(form_id(opened), values, permissions=MANAGE)
        )
        assert "Added" in content(added)
        assert (await ask(standin, NEW_QUESTION))["title"] == NOT_FOUND
        new_file = knowledge / "facts" / "99-reload-test.yaml"

        # a broken folder: the signalled process refuses, announces nothing; the other stays as is
        new_file.write_text(NEW_FACT_FILE.format(when="the day after tomorrow"), encoding="utf-8")
        signalled.proc.send_signal(signal.SIGHUP)
        await group.wait(lambda: "reload refused" in signalled.log(), "the refused reload")
        await asyncio.sleep(PACK_POLL * 3)
        assert "another process reloaded" not in answering.log()
        assert (await ask(standin, NEW_QUESTION))["title"] == NOT_FOUND

        # fixed: the signalled process reloads; the other follows within its poll interval
        new_file.write_text(NEW_FACT_FILE.format(when="0740"), encoding="utf-8")
        signalled.proc.send_signal(signal.SIGHUP)
        await group.wait(lambda: "reloaded the knowledge pack (SIGHUP)" in signalled.log(), "the reload")
        reloaded_at = time.monotonic()
        followed = "reloaded the knowledge pack (reload in another process)"
        await group.wait(lambda: followed in answering.log(), "the other process to follow",
                         timeout=PACK_POLL + 8)  # fmt: skip
        took = time.monotonic() - reloaded_at
        embed = await ask(standin, NEW_QUESTION)
        assert embed["title"] == "The reload test fact", embed
        # the server's own fact is still served, on top of the new pack
        assert (await ask(standin, question))["description"] == values["answer"]

        store = open_storage(pg_url)
        await store.open()
        try:
            revision = await store.get_meta(PACK_REVISION)
        finally:
            await store.close()
        assert revision and f"-{signalled.proc.pid}-" in revision

        await asyncio.sleep(PACK_POLL * 3)  # each follows once: no echo back and forth
        for bot in bots:
            assert await group.stop(bot) == 0, bot.log()
            assert_clean(bot)
        assert answering.log().count(followed) == 1 and "reload in another process" not in signalled.log()
        assert signalled.log().count("reloaded the knowledge pack (") == 1
        assert took < PACK_POLL + 5, took  # a poll, then validating the folder (about a second)
