"""Load test: concurrent /ask interactions through the local Discord stand-in, Tarikh vs a baseline bot.

    .venv/bin/python benchmarks/discord_load.py [--n 500] [--concurrency 50] [--rounds 1]
        [--timeout 10] [--profile DIR]

How it is measured
------------------
A run starts a fresh ``DiscordStandin`` (tests/discord_standin.py: REST + gateway on 127.0.0.1,
the same configuration every time, Discord's 3 s deadline for the initial response enforced, the
bot's replies echoed back as MESSAGE_CREATE as Discord does) in *this* process, together with the
load generator, and starts the bot in a **separate Python process** (this script with
``--serve NAME``), which connects to the stand-in over TCP exactly as it would to Discord:
endpoints set with the bot's own ``configure_endpoints``, the same token, intents and allowed
mentions (``bot.discord_app.connection``), commands synced to the test guild. So, as with the real
Discord, the bot's process pays for everything the bot does (gateway frames, discord.py's parsing
and dispatch, its answer, its HTTP request, parsing the callback response and the echoed
MESSAGE_CREATE) and nothing the server side does (building, checking and encoding payloads). A
round is a Tarikh run, then a baseline run; both get the same treatment:

* **Tarikh** -- ``bot.discord_app.runner.run_bot(settings)``, the code path of ``python -m bot run``:
  it loads and validates the shipped knowledge pack, settles the heap (``settle_heap``: gc.freeze
  and a higher young-generation threshold), starts, and on SIGTERM
  finishes replies in flight, flushes the query log and exits. The real SQLite query log (in a
  temporary directory): its row count is checked afterwards (warm-up included), and its mean
  ``latency_ms`` is shown as the engine's time per question. The cooldown is enforced, set high
  enough (10^9 per second) not to refuse anyone.
* **baseline** -- a minimal ``commands.Bot`` whose ``/ask`` replies with one constant embed; its
  process imports discord.py and the connection settings only (no engine, no pack).

``--n`` interactions are sent with at most ``--concurrency`` awaiting their reply at any time;
each comes from a different user and asks the next question of benchmarks/questions.yaml
(cycled). A few sequential warm-up interactions (not counted) precede each run. Latency is
measured from just before the stand-in sends INTERACTION_CREATE on the gateway to the moment the
stand-in has received the bot's interaction callback; throughput is replies received per second
from the first send to the last reply. The table also shows the CPU time the bot's process used
in the timed part per reply (from /proc, Linux only), and how busy this process (stand-in + load
generator) was, so that one can tell whether the bot or the harness was the limit. The ratio of
the two bots' CPU per reply is printed as well: it is the throughput ratio to expect when each
bot's process is the limit, and it moves much less than throughput when other programs share the
machine.

Target: every reply received, and Tarikh's throughput at least 0.8 x the baseline's (the median
over ``--rounds``). The script says clearly when the target is missed but always exits 0 (it is a
benchmark, not a test). ``--profile DIR`` writes a cProfile (CPU time) of each bot process's
timed part to DIR/<bot>.prof (DIR/<bot>-<round>.prof with several rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import logging
import os
import platform
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# Only what the bot processes need is imported here (the baseline's process stays a minimal
# discord.py bot); the stand-in and the engine are imported where they are used.
import discord  # noqa: E402
from discord import app_commands  # noqa: E402
from discord.ext import commands  # noqa: E402

from bot.config import DEFAULT_KNOWLEDGE, Settings  # noqa: E402
from bot.discord_app.connection import NO_PINGS, configure_endpoints, intents  # noqa: E402

if TYPE_CHECKING:
    from discord_standin import DiscordStandin, RecordedRequest

TOKEN = "tarikh-load-token"
QUESTIONS = ROOT / "benchmarks" / "questions.yaml"
TARGET_RATIO = 0.8
QUESTION_MAX = 300  # /ask's option limit (bot.discord_app.cogs.ask.QUESTION_MAX)
STARTUP_TIMEOUT = 60.0  # the bot's process loads the knowledge pack before it connects
SHUTDOWN_TIMEOUT = 30.0
BOTS = ("Tarikh", "baseline")
RESULT_PREFIX = "LOAD-RESULT "  # the bot process's last stdout line: its notes as JSON


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


# -- the bot's process ----------------------------------------------------------------------------


class LogCounter(logging.Handler):
    """Counts WARNING+ records (and keeps the first few)."""

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


def bot_settings(args: argparse.Namespace) -> Settings:
    return Settings(
        discord_token=TOKEN,
        guild_id=args.guild_id,
        database=args.database,
        knowledge=args.knowledge,
        api_base=args.api_base,
        gateway_url=args.gateway_url,
        cooldown_rate=1_000_000_000,
        cooldown_per=1.0,
    )


async def run_baseline(settings: Settings) -> int:
    """The baseline's whole life: start, answer until SIGTERM, close."""
    configure_endpoints(settings)
    assert settings.guild_id is not None
    bot = BaselineBot(settings.guild_id)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    runner = asyncio.create_task(bot.start(TOKEN), name="baseline-bot")
    waiter = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    await asyncio.wait_for(bot.close(), SHUTDOWN_TIMEOUT / 2)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(runner, 5)
    if runner in done and runner.exception() is not None:
        logging.getLogger("baseline").error("the bot stopped: %r", runner.exception())
        return 1
    return 0


def query_log_summary(database: Path) -> tuple[int, float]:
    """Rows in the query log, and the mean time the engine took per question (its latency_ms)."""
    with contextlib.closing(sqlite3.connect(database)) as con:
        rows, mean_ms = con.execute("SELECT COUNT(*), AVG(latency_ms) FROM queries").fetchone()
    return int(rows), float(mean_ms or 0.0)


def serve(args: argparse.Namespace) -> int:
    """The bot's process: run one bot against the stand-in until SIGTERM, then print its notes
    (as JSON, the last stdout line). Tarikh runs exactly as ``python -m bot run`` does
    (``run_bot``: load and validate the pack, settle the heap, start, finish replies in flight
    and flush the query log on SIGTERM). With ``--profile-out``, SIGUSR1 turns a cProfile of this
    process's CPU time on and off (the parent sends it around the timed part)."""
    counter = LogCounter()
    logging.getLogger().addHandler(counter)
    settings = bot_settings(args)
    profiler = None
    if args.profile_out is not None:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)  # CPU time: other processes do not inflate it
        profiling = [False]

        def toggle(_signum: int, _frame: Any) -> None:
            if profiling[0]:
                profiler.disable()
            else:
                profiler.enable()
            profiling[0] = not profiling[0]

        signal.signal(signal.SIGUSR1, toggle)
    if args.serve == "Tarikh":
        from bot.discord_app.runner import run_bot

        code = run_bot(settings)
    else:
        code = asyncio.run(run_baseline(settings))
    notes: dict[str, Any] = {"exit": code}
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile_out)
    if args.serve == "Tarikh":
        try:
            notes["query_log_rows"], notes["engine_ms"] = query_log_summary(settings.database)
        except sqlite3.Error as exc:
            logging.getLogger("tarikh-load").error("cannot read the query log: %s", exc)
    notes.update(warnings=counter.warnings, errors=counter.errors, first=counter.first)
    print(RESULT_PREFIX + json.dumps(notes), flush=True)
    return 0


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    name: str
    planned: int
    round: int = 1
    sent: int = 0
    received: int = 0  # callbacks the stand-in accepted (2xx)
    rejected: int = 0  # callbacks the stand-in refused (e.g. after the 3 s deadline)
    missing: int = 0  # no callback within --timeout
    latencies: list[float] = field(default_factory=list)  # seconds, accepted callbacks only
    elapsed: float = 0.0  # first send -> last accepted callback
    bot_cpu: float | None = None  # seconds of CPU the bot's process used in the timed part
    query_log_rows: int | None = None  # Tarikh: rows in its query log after it stopped
    harness_cpu: float = 0.0  # seconds of CPU this process (stand-in + load) used in the timed part
    timed: float = 0.0  # wall seconds of the timed part (first send -> all workers done)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log_warnings: int = 0
    log_errors: int = 0

    @property
    def throughput(self) -> float:
        return self.received / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def cpu_per_reply(self) -> float | None:
        """Milliseconds of the bot process's CPU per reply received (None without /proc)."""
        if self.bot_cpu is None or not self.received:
            return None
        return self.bot_cpu * 1000 / self.received

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


@contextlib.contextmanager
def counting_logs(result: RunResult) -> Any:
    """WARNING+ logged in this process (the stand-in) while a run is going on."""
    handler = LogCounter()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        result.log_warnings += handler.warnings
        result.log_errors += handler.errors
        result.problems.extend(f"stand-in logged: {line}" for line in handler.first)


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds used so far by process ``pid`` (None where /proc is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    standin: DiscordStandin,
    result: RunResult,
    questions: list[str],
    *,
    concurrency: int,
    timeout: float,
    warmup: int,
    budget: float,
    bot_pid: int | None = None,
    profile_bot: bool = False,
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
        if bot_pid is not None and profile_bot:
            with contextlib.suppress(ProcessLookupError):
                os.kill(bot_pid, signal.SIGUSR1)  # the bot process's profiler starts now
        bot_cpu0 = process_cpu(bot_pid) if bot_pid is not None else None
        harness_cpu0 = time.process_time()
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
        result.timed = time.monotonic() - started
        result.harness_cpu = time.process_time() - harness_cpu0
        bot_cpu1 = process_cpu(bot_pid) if bot_pid is not None else None
        if bot_pid is not None and profile_bot:
            with contextlib.suppress(ProcessLookupError):
                os.kill(bot_pid, signal.SIGUSR1)  # ... and stops
        if bot_cpu0 is not None and bot_cpu1 is not None:
            result.bot_cpu = bot_cpu1 - bot_cpu0
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


async def start_bot_process(
    name: str, standin: DiscordStandin, args: argparse.Namespace, tmp: Path, rnd: int
) -> asyncio.subprocess.Process:
    """Start ``--serve name`` and wait until it is connected to the stand-in's gateway."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        name,
        "--api-base",
        standin.api_base,
        "--gateway-url",
        standin.gateway_url,
        "--guild-id",
        str(standin.guild_id),
        "--database",
        str(tmp / f"{name.lower()}-{rnd}.db"),
        "--knowledge",
        str(args.knowledge),
    ]
    if args.profile is not None:
        suffix = f"-{rnd}" if args.rounds > 1 else ""
        cmd += ["--profile-out", str(args.profile / f"{name.lower()}{suffix}.prof")]
    # The bot's WARNING+ lines go straight to this process's stderr (and are counted there).
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
    )
    ready = asyncio.create_task(standin.wait_until_ready(STARTUP_TIMEOUT))
    exited = asyncio.create_task(proc.wait())
    try:
        done, _ = await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            raise RuntimeError(f"the {name} bot process exited ({proc.returncode}) before it was ready")
        ready.result()  # TimeoutError if it never connected
    except BaseException:
        ready.cancel()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    finally:
        exited.cancel()
    return proc


async def stop_bot_process(proc: asyncio.subprocess.Process, result: RunResult) -> None:
    """SIGTERM, then read the notes the bot process prints as it exits."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), SHUTDOWN_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        result.problems.append("the bot process did not stop after SIGTERM; killed")
        return
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.startswith(RESULT_PREFIX)]
    if not lines:
        result.problems.append(f"the bot process exited ({proc.returncode}) without its notes")
        return
    notes = json.loads(lines[-1][len(RESULT_PREFIX) :])
    result.log_warnings += notes["warnings"]
    result.log_errors += notes["errors"]
    result.problems.extend(f"bot logged: {line}" for line in notes["first"])
    if notes["exit"] != 0:
        result.problems.append(f"the bot process's run ended with {notes['exit']}")
    if "query_log_rows" in notes:
        result.query_log_rows = notes["query_log_rows"]
        result.notes.append(
            f"query log: {notes['query_log_rows']} row(s) in its SQLite database; the engine "
            f"(Answerer.ask, its latency_ms) took {notes['engine_ms']:.2f} ms per question on average."
        )


async def run_one(
    name: str, args: argparse.Namespace, questions: list[str], tmp: Path, rnd: int = 1
) -> RunResult:
    from discord_standin import DiscordStandin

    result = RunResult(name, planned=args.n, round=rnd)
    gc.collect()
    with counting_logs(result):
        async with DiscordStandin(token=TOKEN) as standin:
            proc = await start_bot_process(name, standin, args, tmp, rnd)
            try:
                await drive(
                    standin,
                    result,
                    questions,
                    concurrency=args.concurrency,
                    timeout=args.timeout,
                    warmup=args.warmup,
                    budget=args.budget,
                    bot_pid=proc.pid,
                    profile_bot=args.profile is not None,
                )
            finally:
                await stop_bot_process(proc, result)
    expected = result.sent + args.warmup
    if result.query_log_rows is not None and result.query_log_rows != expected:
        result.problems.append(f"query log: {result.query_log_rows} row(s), expected {expected}")
    return result


def load_questions(path: Path) -> list[str]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    qs = [str(item["q"]).strip()[:QUESTION_MAX] for item in data["questions"]]
    return [q for q in qs if q]


def fmt_ms(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.1f}"  # None / NaN -> dash


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def report(rounds: list[tuple[RunResult, RunResult]], args: argparse.Namespace, n_questions: int) -> None:
    results = [r for pair in rounds for r in pair]
    ratios = [t.throughput / b.throughput if b.throughput > 0 else 0.0 for t, b in rounds]
    ratio = median(ratios)
    cpu_ratios = [
        b.cpu_per_reply / t.cpu_per_reply
        for t, b in rounds
        if t.cpu_per_reply is not None and b.cpu_per_reply is not None and t.cpu_per_reply > 0
    ]
    print(
        f"machine: Python {platform.python_version()} ({platform.python_implementation()}), "
        f"discord.py {discord.__version__}, {os.cpu_count()} CPU(s), {platform.system()} {platform.machine()}"
    )
    print(
        f"load: {args.n} /ask interactions per bot, concurrency {args.concurrency}, "
        f"{n_questions} distinct questions cycled, one user per interaction, "
        f"{args.warmup} warm-up each, reply timeout {args.timeout:g} s; each bot in its own process, "
        f"stand-in and load generator in this one; {len(rounds)} round(s) of Tarikh then baseline"
    )
    print()
    print(
        "| bot | replies received / sent | p50 latency (ms) | p99 latency (ms) | throughput (replies/s) "
        "| bot process CPU per reply (ms) | stand-in + load process busy |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        busy = f"{r.harness_cpu / r.timed:.0%}" if r.timed > 0 else "–"
        label = r.name if len(rounds) == 1 else f"{r.name} (round {r.round})"
        print(
            f"| {label} | {r.received} / {r.sent} | {fmt_ms(r.percentile(50))} | "
            f"{fmt_ms(r.percentile(99))} | {r.throughput:.1f} | {fmt_ms(r.cpu_per_reply)} | {busy} |"
        )
    print()
    each = f" (median of {', '.join(f'{x:.2f}' for x in ratios)})" if len(ratios) > 1 else ""
    print(f"Throughput ratio Tarikh / baseline: **{ratio:.2f}**{each}")
    if cpu_ratios:
        print(
            f"Bot process CPU per reply, baseline / Tarikh: {median(cpu_ratios):.2f} (the throughput "
            "ratio to expect when each bot's process is the limit, e.g. with a free core for each)"
        )
    print()
    for r in results:
        detail = [f"{r.rejected} callback(s) refused", f"{r.missing} without a callback"]
        if r.sent < r.planned:
            detail.append(f"{r.planned - r.sent} not sent (time budget)")
        detail.append(f"{r.log_warnings} warning(s) / {r.log_errors} error(s) logged")
        label = r.name if len(rounds) == 1 else f"{r.name} (round {r.round})"
        print(" ".join([f"- {label}: " + ", ".join(detail) + ".", *r.notes]))
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
        "baseline bot, each in its own process. Prints a markdown table; always exits 0.",
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
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="Tarikh-then-baseline pairs to run; the ratio reported is the median (default 1)",
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="YAML with questions[].q")
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_KNOWLEDGE, help="knowledge pack directory")
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a cProfile of each bot process to DIR/<bot>.prof"
    )
    # Internal: run one bot against a stand-in started by the parent process.
    parser.add_argument("--serve", choices=BOTS, help=argparse.SUPPRESS)
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    parser.add_argument("--gateway-url", help=argparse.SUPPRESS)
    parser.add_argument("--guild-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        if not (args.api_base and args.gateway_url and args.guild_id and args.database):
            parser.error("--serve needs --api-base, --gateway-url, --guild-id and --database")
        return args
    if (
        args.n < 1
        or args.concurrency < 1
        or args.rounds < 1
        or args.timeout <= 0
        or args.warmup < 0
        or args.budget <= 0
    ):
        parser.error("--n, --concurrency, --rounds must be >= 1, --timeout and --budget > 0, --warmup >= 0")
    return args


async def main_async(args: argparse.Namespace) -> None:
    questions = load_questions(args.questions)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    rounds: list[tuple[RunResult, RunResult]] = []
    with tempfile.TemporaryDirectory(prefix="tarikh-load-") as tmp:
        for rnd in range(1, args.rounds + 1):
            tarikh, baseline = [await run_one(name, args, questions, Path(tmp), rnd) for name in BOTS]
            rounds.append((tarikh, baseline))
    report(rounds, args, len(set(questions)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # WARNING+ from the bots and discord.py go to stderr (and are counted in the report).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # No voice here: skip discord.py's one-time "PyNaCl / davey is not installed" warnings.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    if args.serve is not None:
        return serve(args)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
