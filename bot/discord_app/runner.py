"""Starting, syncing and stopping the Discord bot (signals handled for a clean shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import discord

from bot.answer import Answerer
from bot.config import Settings
from bot.discord_app.client import EXTENSIONS, configure_endpoints, create_bot, settle_heap
from bot.knowledge import PackError, load_pack

log = logging.getLogger("tarikh")

# What the bot needs in a channel: see it, send, embed links, reply (read history), threads.
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    read_message_history=True,
    add_reactions=True,
)


def _load(settings: Settings) -> Answerer | None:
    try:
        return Answerer(load_pack(settings.knowledge))
    except PackError as exc:
        print(f"error: the knowledge pack in {settings.knowledge} is invalid:", file=sys.stderr)
        for p in exc.problems:
            print(str(p), file=sys.stderr)
        return None


async def _run(settings: Settings, answerer: Answerer) -> int:
    configure_endpoints(settings)
    bot = create_bot(settings, answerer)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def _stop(signame: str) -> None:
        if not stopping.is_set():
            log.info("received %s: finishing replies in flight and shutting down", signame)
            stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no signal handlers
            loop.add_signal_handler(sig, _stop, sig.name)
    services = bot.services  # type: ignore[attr-defined]
    reloads: set[asyncio.Task[list[str]]] = set()

    def _reload() -> None:
        """SIGHUP: what /reload does (re-validate the knowledge folder; keep the old pack on problems)."""
        log.info("received SIGHUP: reloading the knowledge pack")
        task = loop.create_task(services.reload_knowledge(by="SIGHUP"))
        reloads.add(task)
        task.add_done_callback(_reloaded)

    def _reloaded(task: asyncio.Task[list[str]]) -> None:
        reloads.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("reloading the knowledge pack failed", exc_info=task.exception())

    sighup = getattr(signal, "SIGHUP", None)
    if sighup is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sighup, _reload)
    runner = asyncio.create_task(bot.start(settings.discord_token or ""))
    waiter = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if runner in done:
        waiter.cancel()
        exc = runner.exception()
        if isinstance(exc, discord.LoginFailure):
            log.error("Discord refused the token (DISCORD_TOKEN): check it in the developer portal")
            await bot.close()
            return 1
        if exc is not None:
            log.error("the bot stopped with an error", exc_info=exc)
            await bot.close()
            return 1
        return 0
    try:
        await asyncio.wait_for(bot.close(), timeout=9)
    except TimeoutError:
        log.warning("shutdown took too long; exiting anyway")
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await runner
    log.info("shut down cleanly")
    return 0


def run_bot(settings: Settings) -> int:
    answerer = _load(settings)
    if answerer is None:
        return 1
    settle_heap()
    return asyncio.run(_run(settings, answerer))


async def _sync(settings: Settings, answerer: Answerer, guild_id: int | None) -> int:
    configure_endpoints(settings)
    bot = create_bot(settings, answerer)
    try:
        await bot.login(settings.discord_token or "")
        for ext in EXTENSIONS:
            await bot.load_extension(ext)
        if guild_id:
            guild = discord.Object(guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
            print(f"synced {len(synced)} command(s) to guild {guild_id}")
        else:
            synced = await bot.tree.sync()
            print(f"synced {len(synced)} global command(s) (they can take up to an hour to appear)")
    except discord.LoginFailure:
        print("error: Discord refused the token (DISCORD_TOKEN)", file=sys.stderr)
        return 1
    finally:
        await bot.http.close()
    return 0


def sync_commands(settings: Settings, guild_id: int | None) -> int:
    answerer = _load(settings)
    if answerer is None:
        return 1
    return asyncio.run(_sync(settings, answerer, guild_id))


def invite_url(client_id: int) -> str:
    return discord.utils.oauth_url(
        client_id, permissions=BOT_PERMISSIONS, scopes=("bot", "applications.commands")
    )
