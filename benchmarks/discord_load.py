"""Load test: concurrent /ask interactions through the local Discord stand-in, Tarikh vs a baseline bot.

    .venv/bin/python benchmarks/discord_load.py [--n 500] [--concurrency 50] [--timeout 10]

Two runs, one after the other in this process, each against a fresh ``DiscordStandin``
(tests/discord_standin.py: REST + gateway on 127.0.0.1, same configuration both times, Discord's
3 s deadline for the initial response enforced) and with the same discord.py client settings
(intents, allowed mentions, token, commands synced to the test guild, endpoints set with the
bot's own ``configure_endpoints``):

* **Tarikh** -- ``create_bot(settings, answerer)`` with the shipped knowledge pack and the real
  SQLite query log in a temporary directory; cooldown set high enough not to interfere.
* **baseline** -- a minimal ``commands.Bot`` whose ``/ask`` replies with one constant embed.

``--n`` interactions are sent with at most ``--concurrency`` awaiting their reply at any time;
each comes from a different user and asks the next question of benchmarks/questions.yaml
(cycled). Latency is measured from just before the stand-in sends INTERACTION_CREATE on the
gateway to the moment the stand-in receives the bot's interaction callback. Throughput is replies
received per second from the first send to the last reply. A few warm-up interactions (not
counted) precede each run.

Target: every reply received, and Tarikh's throughput at least 0.8 x the baseline's. The script
says clearly when the target is missed but always exits 0 (it is a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import discord  # noqa: E402
from discord import app_commands  # noqa: E402
from discord.ext import commands  # noqa: E402
from discord.gateway import DiscordWebSocket  # noqa: E402
from discord.http import Route  # noqa: E402
from discord_standin import DiscordStandin, RecordedRequest, running_bot  # noqa: E402

from bot.answer import Answerer  # noqa: E402
from bot.config import DEFAULT_KNOWLEDGE, Settings  # noqa: E402
from bot.discord_app.client import configure_endpoints, create_bot, intents  # noqa: E402
from bot.discord_app.render import NO_PINGS  # noqa: E402
from bot.knowledge import load_pack  # noqa: E402

TOKEN = "tarikh-load-token"
QUESTIONS = ROOT / "benchmarks" / "questions.yaml"
TARGET_RATIO = 0.8
QUESTION_MAX = 300  # /ask's option limit (bot.discord_app.cogs.ask.QUESTION_MAX)
STARTUP_TIMEOUT = 20.0


# -- the baseline bot -----------------------------------------------------------------------------

BASELINE_EMBED = discord.Embed(
    title="Great Berber Revolt",
    description="The Berber Revolt of 739/740–743 AD took place during the reign of the Umayyad "
    "Caliph Hisham ibn Abd al-Malik.",
    colour=0x8B5A2B,
).add_field(name="Source", value="Wikipedia: Berber Revolt", inline=False)
BASELINE_EMBED.set_footer(text="baseline")


@app_commands.command(name="ask", description="Ask a question about the topic")
@app_commands.describe(question="Your question, in your own words")
async def baseline_ask(
    interaction: discord.Interaction[Any], question: app_commands.Range[str, 1, QUESTION_MAX]
) -> None:
    await interaction.response.send_message(embed=BASELINE_EMBED, allowed_mentions=NO_PINGS)


class BaselineBot(commands.Bot):
    """The same client settings as TarikhBot, one constant-reply /ask, nothing else."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=NO_PINGS,
            help_command=None,
        )
        self.guild_id = guild_id

    async def setup_hook(self) -> None:
        self.tree.add_command(baseline_ask)
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    name: str
    planned: int
    sent: int = 0
    received: int = 0  # callbacks the stand-in accepted (2xx)
    rejected: int = 0  # callbacks the stand-in refused (e.g. after the 3 s deadline)
    missing: int = 0  # no callback within --timeout
    latencies: list[float] = field(default_factory=list)  # seconds, accepted callbacks only
    elapsed: float = 0.0  # first send -> last accepted callback
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log_warnings: int = 0
    log_errors: int = 0

    @property
    def throughput(self) -> float:
        return self.received / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
        return ordered[int(rank) - 1] * 1000


class CallbackWatcher:
    """One task that follows ``standin.requests`` and hands each interaction its first callback.

    (``standin.wait_for_response`` per interaction would rescan the whole request list for every
    waiter on every request: quadratic stand-in work that would swamp what is being measured.)
    """

    def __init__(self, standin: DiscordStandin) -> None:
        self.standin = standin
        self._seen = len(standin.requests)
        self._waiting: dict[int, asyncio.Future[RecordedRequest]] = {}
        self._arrived: dict[int, RecordedRequest] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="callback-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def callback(self, interaction_id: int, timeout: float) -> RecordedRequest:
        """The first interaction callback for ``interaction_id`` (TimeoutError after ``timeout``)."""
        if interaction_id in self._arrived:
            return self._arrived.pop(interaction_id)
        fut: asyncio.Future[RecordedRequest] = asyncio.get_running_loop().create_future()
        self._waiting[interaction_id] = fut
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop(interaction_id, None)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await self.standin.wait_for_request(lambda _r: True, timeout=1.0, since=self._seen)
            new = self.standin.requests[self._seen :]
            self._seen += len(new)
            for rec in new:
                if rec.kind != "interaction_callback" or rec.interaction_id is None:
                    continue
                fut = self._waiting.pop(rec.interaction_id, None)
                if fut is not None:
                    if not fut.done():
                        fut.set_result(rec)
                else:
                    self._arrived.setdefault(rec.interaction_id, rec)


class LogCounter(logging.Handler):
    """Counts WARNING+ records (and keeps the first few) while a run is going on."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = 0
        self.errors = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.first) < 5:
            self.first.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")


@contextlib.contextmanager
def counting_logs(result: RunResult) -> Any:
    handler = LogCounter()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        result.log_warnings, result.log_errors = handler.warnings, handler.errors
        result.problems.extend(f"logged: {line}" for line in handler.first)


async def drive(
    standin: DiscordStandin,
    result: RunResult,
    questions: list[str],
    *,
    concurrency: int,
    timeout: float,
    warmup: int,
    budget: float,
) -> None:
    """Send ``result.planned`` /ask interactions, ``concurrency`` in flight at most."""
    users = [standin.make_user(f"asker{i}", in_guild=False) for i in range(result.planned + warmup)]
    question_cycle = itertools.cycle(questions)
    watcher = CallbackWatcher(standin)
    watcher.start()
    try:
        # Warm-up: a few sequential interactions, not counted.
        for i in range(warmup):
            sent = await standin.slash_command("ask", {"question": next(question_cycle)}, user=users[i])
            with contextlib.suppress(TimeoutError):
                await watcher.callback(sent.id, timeout)

        counter = itertools.count()
        started = time.monotonic()
        stop_sending_at = started + budget
        last_reply = started

        async def worker() -> None:
            nonlocal last_reply
            while (i := next(counter)) < result.planned:
                if time.monotonic() > stop_sending_at:
                    return  # over the time budget: leave the rest unsent
                question = next(question_cycle)
                user = users[warmup + i]
                t0 = time.monotonic()
                try:
                    sent = await standin.slash_command("ask", {"question": question}, user=user)
                except TimeoutError as exc:
                    result.problems.append(f"could not send interaction {i}: {exc}")
                    return
                result.sent += 1
                try:
                    rec = await watcher.callback(sent.id, timeout)
                except TimeoutError:
                    result.missing += 1
                    continue
                if rec.ok:
                    result.received += 1
                    result.latencies.append(rec.at - t0)
                    last_reply = max(last_reply, rec.at)
                else:
                    result.rejected += 1
                    if result.rejected <= 3:
                        result.problems.append(f"callback refused: {rec.status} {rec.response}")

        workers = [asyncio.create_task(worker(), name=f"load-worker-{k}") for k in range(concurrency)]
        # Every wait in a worker is bounded; this outer bound is a last resort.
        done, pending = await asyncio.wait(workers, timeout=budget + timeout + 15)
        for task in pending:
            task.cancel()
        if pending:
            result.problems.append(f"{len(pending)} worker(s) cancelled at the outer time limit")
        for task in done:
            if task.exception() is not None:
                result.problems.append(f"worker failed: {task.exception()!r}")
        result.elapsed = last_reply - started
    finally:
        await watcher.stop()
    if standin.errors:
        result.problems.extend(f"stand-in: {e}" for e in standin.errors[:3])
    if standin.unhandled:
        result.problems.append(f"stand-in: {len(standin.unhandled)} unhandled REST request(s)")


@contextlib.asynccontextmanager
async def discord_endpoints() -> AsyncIterator[None]:
    """configure_endpoints() changes discord.py globals; put them back afterwards."""
    old = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old


async def run_one(
    name: str,
    make_bot: Callable[[DiscordStandin, Settings], commands.Bot],
    after: Callable[[commands.Bot, RunResult], None] | None,
    args: argparse.Namespace,
    questions: list[str],
    tmp: Path,
) -> RunResult:
    result = RunResult(name, planned=args.n)
    gc.collect()
    with counting_logs(result):
        async with DiscordStandin(token=TOKEN) as standin, discord_endpoints():
            settings = Settings(
                discord_token=TOKEN,
                guild_id=standin.guild_id,
                database=tmp / f"{name.lower()}.db",
                api_base=standin.api_base,
                gateway_url=standin.gateway_url,
                cooldown_rate=1_000_000_000,
                cooldown_per=1.0,
            )
            configure_endpoints(settings)
            bot = make_bot(standin, settings)
            async with running_bot(
                bot, standin, token=TOKEN, patch=False, wait_for_on_ready=False, timeout=STARTUP_TIMEOUT
            ):
                await drive(
                    standin,
                    result,
                    questions,
                    concurrency=args.concurrency,
                    timeout=args.timeout,
                    warmup=args.warmup,
                    budget=args.budget,
                )
            if after is not None:
                after(bot, result)
    return result


def tarikh_notes(bot: commands.Bot, result: RunResult) -> None:
    querylog = bot.querylog  # type: ignore[attr-defined]
    result.notes.append(
        f"query log: {querylog.written} record(s) written to SQLite, {querylog.dropped} dropped"
    )


def load_questions(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    qs = [str(item["q"]).strip()[:QUESTION_MAX] for item in data["questions"]]
    return [q for q in qs if q]


def fmt_ms(value: float) -> str:
    return "–" if value != value else f"{value:.1f}"  # NaN -> dash


def report(results: list[RunResult], args: argparse.Namespace, n_questions: int, load_s: float) -> None:
    tarikh, baseline = results
    ratio = tarikh.throughput / baseline.throughput if baseline.throughput > 0 else 0.0
    print(
        f"machine: Python {platform.python_version()} ({platform.python_implementation()}), "
        f"discord.py {discord.__version__}, {os.cpu_count()} CPU(s), {platform.system()} {platform.machine()}"
    )
    print(
        f"load: {args.n} /ask interactions per bot, concurrency {args.concurrency}, "
        f"{n_questions} distinct questions cycled, one user per interaction, "
        f"{args.warmup} warm-up each, reply timeout {args.timeout:g} s; "
        f"knowledge pack loaded in {load_s:.1f} s (not timed)"
    )
    print()
    print("| bot | replies received / sent | p50 latency (ms) | p99 latency (ms) | throughput (replies/s) |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.received} / {r.sent} | {fmt_ms(r.percentile(50))} | "
            f"{fmt_ms(r.percentile(99))} | {r.throughput:.1f} |"
        )
    print()
    print(f"Throughput ratio Tarikh / baseline: **{ratio:.2f}**")
    print()
    for r in results:
        detail = [f"{r.rejected} callback(s) refused", f"{r.missing} without a callback"]
        if r.sent < r.planned:
            detail.append(f"{r.planned - r.sent} not sent (time budget)")
        detail.append(f"{r.log_warnings} warning(s) / {r.log_errors} error(s) logged")
        print(" ".join([f"- {r.name}: " + ", ".join(detail) + ".", *r.notes]))
        for p in r.problems:
            print(f"  - {p}")
    all_received = all(r.received == r.planned for r in results)
    ratio_ok = ratio >= TARGET_RATIO
    print()
    print(f"Target: all replies received (both bots) and throughput ratio >= {TARGET_RATIO}.")
    if all_received and ratio_ok:
        print("Target MET.")
    else:
        why = []
        if not all_received:
            why.append(
                "not all replies received ("
                + ", ".join(f"{r.name} {r.received}/{r.planned}" for r in results)
                + ")"
            )
        if not ratio_ok:
            why.append(f"ratio {ratio:.2f} < {TARGET_RATIO}")
        print("**TARGET MISSED**: " + "; ".join(why) + ".")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Concurrent /ask load through the local Discord stand-in: Tarikh vs a constant-reply "
        "baseline bot. Prints a markdown table; always exits 0.",
    )
    parser.add_argument("--n", type=int, default=500, help="interactions per bot (default 500)")
    parser.add_argument(
        "--concurrency", type=int, default=50, help="interactions awaiting a reply at once (default 50)"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each reply (default 10)"
    )
    parser.add_argument(
        "--warmup", type=int, default=10, help="uncounted interactions before each run (default 10)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=45.0,
        help="seconds per run after which no new interactions are sent (default 45)",
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="YAML with questions[].q")
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_KNOWLEDGE, help="knowledge pack directory")
    args = parser.parse_args(argv)
    if args.n < 1 or args.concurrency < 1 or args.timeout <= 0 or args.warmup < 0 or args.budget <= 0:
        parser.error("--n and --concurrency must be >= 1, --timeout and --budget > 0, --warmup >= 0")
    return args


async def main_async(args: argparse.Namespace) -> None:
    questions = load_questions(args.questions)
    t0 = time.perf_counter()
    answerer = Answerer(load_pack(args.knowledge))
    load_s = time.perf_counter() - t0

    def tarikh_bot(_standin: DiscordStandin, settings: Settings) -> commands.Bot:
        return create_bot(settings, answerer)

    def baseline_bot(standin: DiscordStandin, _settings: Settings) -> commands.Bot:
        return BaselineBot(standin.guild_id)

    with tempfile.TemporaryDirectory(prefix="tarikh-load-") as tmp:
        results = [
            await run_one("Tarikh", tarikh_bot, tarikh_notes, args, questions, Path(tmp)),
            await run_one("baseline", baseline_bot, None, args, questions, Path(tmp)),
        ]
    report(results, args, len(set(questions)), load_s)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # WARNING+ from the bots and discord.py go to stderr (and are counted in the report).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # No voice here: skip discord.py's one-time "PyNaCl / davey is not installed" warnings.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
