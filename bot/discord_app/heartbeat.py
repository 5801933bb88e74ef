"""A small JSON file the running bot rewrites every few seconds, read by `python -m bot health`.

The file says whether the gateway is connected right now; a file that stops changing means the
process is stuck or gone. Written atomically (temporary file + rename), never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

log = logging.getLogger(__name__)

INTERVAL = 15.0  # seconds between writes; `health` calls a file older than 60 s stale
EVENTS = ("on_ready", "on_resumed", "on_connect", "on_disconnect")  # write at once on these


def gateway_open(bot: discord.Client) -> bool:
    """Every gateway websocket of the bot (each shard's, for the auto-sharded bot) is open."""
    shards = getattr(bot, "shards", None)
    if isinstance(shards, Mapping):
        return bool(shards) and not any(shard.is_closed() for shard in shards.values())
    ws = getattr(bot, "ws", None)
    return ws is not None and bool(ws.open)


def snapshot(bot: discord.Client) -> dict[str, Any]:
    connected = bot.is_ready() and not bot.is_closed() and gateway_open(bot)
    latency = bot.latency
    return {
        "connected": connected,
        "latency": round(latency, 4) if math.isfinite(latency) else None,
        "guilds": len(bot.guilds),
        "ts": time.time(),
        "pid": os.getpid(),
    }


class Heartbeat:
    def __init__(self, bot: commands.Bot, path: Path, interval: float = INTERVAL) -> None:
        self.bot = bot
        self.path = path
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._failed = False

    def write(self, state: dict[str, Any] | None = None) -> None:
        state = snapshot(self.bot) if state is None else state
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(state), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            if not self._failed:  # say it once, not every 15 s
                log.warning("cannot write the health file %s: %s", self.path, exc)
            self._failed = True
            with contextlib.suppress(OSError):
                tmp.unlink()
        else:
            self._failed = False

    async def _on_event(self, *_: object) -> None:
        self.write()

    async def _loop(self) -> None:
        while True:
            self.write()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is not None:
            return
        for event in EVENTS:
            self.bot.add_listener(self._on_event, event)
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="tarikh-heartbeat")

    async def stop(self) -> None:
        """Stop writing; the last word is "disconnected", so health fails at once, not in 60 s."""
        if self._task is None:
            return
        for event in EVENTS:
            self.bot.remove_listener(self._on_event, event)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        state = snapshot(self.bot)
        state.update(connected=False, stopped=True)
        self.write(state)
