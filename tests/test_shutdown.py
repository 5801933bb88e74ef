"""The real process: `python -m bot run` as a subprocess against the Discord stand-in.

What `docker stop` does -- SIGTERM, then a grace period -- must end with exit code 0, a clean log
line and every question in the SQLite file; while running, the bot keeps its heartbeat file
fresh and `python -m bot health` passes against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from discord_standin import DiscordStandin

from bot.config import Settings
from bot.health import check_gateway

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "tarikh-subprocess-token"
START_TIMEOUT = 15.0  # interpreter start, imports and pack load (about 3 s here)


def bot_env(standin: DiscordStandin, tmp_path: Path) -> dict[str, str]:
    # Every setting set explicitly (empty = default), so a developer's .env changes nothing.
    names = re.findall(r'env(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', (ROOT / "bot" / "config.py").read_text())
    env = dict.fromkeys(names, "")
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        HOME=str(tmp_path),
        NO_COLOR="1",
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_BASE=standin.api_base,
        DISCORD_GATEWAY_URL=standin.gateway_url,
        DISCORD_GUILD_ID=str(standin.guild_id),
        TARIKH_DB=str(tmp_path / "tarikh.db"),
        TARIKH_COOLDOWN="100/60",
    )
    return env


@contextlib.asynccontextmanager
async def bot_process(standin: DiscordStandin, tmp_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run`, yielded once the stand-in saw it IDENTIFY; killed if still alive after."""
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=ROOT, env=bot_env(standin, tmp_path), stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        ready = asyncio.create_task(standin.wait_until_ready(START_TIMEOUT))
        died = asyncio.create_task(proc.wait())
        await asyncio.wait({ready, died}, return_when=asyncio.FIRST_COMPLETED)
        died.cancel()
        if not ready.done() or ready.exception() is not None:
            ready.cancel()
            pytest.fail(f"the bot did not connect (exit code {proc.returncode}):\n{log_path.read_text()}")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def ask(standin: DiscordStandin, question: str) -> str:
    sent = await standin.slash_command("ask", {"question": question})
    reply = await standin.wait_for_response(sent)
    assert reply.callback_type == 4, reply
    return reply.message_data["embeds"][0]["title"]


async def stop(proc: asyncio.subprocess.Process) -> tuple[int, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), 10)
    return code, time.monotonic() - started


async def test_sigterm_finishes_flushes_the_query_log_and_exits_0(tmp_path: Path) -> None:
    questions = [
        "who started the berber revolt?",
        "when was the battle of the nobles",
        "what's the best pizza in naples?",
        "who was maysara?",
    ]
    async with DiscordStandin(token=TOKEN) as standin, bot_process(standin, tmp_path) as proc:
        titles = [await ask(standin, q) for q in questions]
        assert all(titles)
        code, took = await stop(proc)

    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert code == 0, log
    assert took < 10
    assert "received SIGTERM" in log and "shut down cleanly" in log, log
    assert "Traceback" not in log and "[ERROR" not in log and "[WARNING" not in log, log
    assert "\x1b[" not in log  # plain text when not on a terminal (discord.py colours in Docker)
    with contextlib.closing(sqlite3.connect(tmp_path / "tarikh.db")) as db:
        rows = db.execute("SELECT question, via FROM queries ORDER BY ts").fetchall()
    assert rows == [(q, "slash") for q in questions]


async def test_heartbeat_file_is_kept_while_running_and_health_passes(tmp_path: Path) -> None:
    heartbeat = tmp_path / "health.json"  # the default: next to TARIKH_DB
    settings = Settings(database=tmp_path / "tarikh.db")
    async with DiscordStandin(token=TOKEN) as standin, bot_process(standin, tmp_path) as proc:
        # on_ready comes guild_ready_timeout (2 s) after GUILD_CREATE; the heartbeat follows at once.
        deadline = time.monotonic() + 8
        while not (heartbeat.exists() and json.loads(heartbeat.read_text()).get("connected")):
            assert time.monotonic() < deadline, heartbeat.read_text() if heartbeat.exists() else "no file"
            await asyncio.sleep(0.05)
        state = json.loads(heartbeat.read_text())
        assert state["guilds"] == 1 and state["pid"] == proc.pid
        assert abs(time.time() - state["ts"]) < 5

        health = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "health",
            cwd=ROOT, env=bot_env(standin, tmp_path), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(health.communicate(), 15)
        lines = out.decode().splitlines()
        assert health.returncode == 0, lines
        assert len(lines) == 3 and all(line.startswith("ok  ") for line in lines), lines

        # After a dropped connection and its RESUME the heartbeat says connected again.
        assert await ask(standin, "who started the berber revolt?")
        await standin.drop_connection()
        await standin.wait_until_ready()
        assert await ask(standin, "who was maysara?")
        deadline = time.monotonic() + 5
        while not check_gateway(settings).ok:
            assert time.monotonic() < deadline, heartbeat.read_text()
            await asyncio.sleep(0.05)

        code, _ = await stop(proc)
    assert code == 0
    # After a stop the file says so: health fails now, not 60 s later.
    check = check_gateway(settings)
    assert not check.ok and "stopped" in check.detail, check
