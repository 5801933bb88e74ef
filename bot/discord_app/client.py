"""The bot: services wired in setup_hook, cogs loaded as extensions, one error path."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
import time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.answer import Answerer, ConversationStore, FactRef, Reply
from bot.config import Settings
from bot.curation import Curator
from bot.discord_app.connection import NO_PINGS, intents
from bot.discord_app.connection import configure_endpoints as configure_endpoints  # (re-exported)
from bot.discord_app.heartbeat import Heartbeat
from bot.discord_app.render import reply_embed
from bot.discord_app.views import AskButton, FeedbackButton, reply_view
from bot.health import shown_database
from bot.knowledge import validate_pack
from bot.querylog import QueryLog
from bot.storage import Storage, open_storage
from bot.timeline import Timeline

log = logging.getLogger("tarikh.bot")

EXTENSIONS = (
    "bot.discord_app.cogs.ask",
    "bot.discord_app.cogs.browse",
    "bot.discord_app.cogs.meta",
    "bot.discord_app.cogs.curate",
    "bot.discord_app.cogs.admin",
)

# The meta row a successful /reload or SIGHUP rewrites; every process sharing the database
# checks it every Settings.pack_poll seconds and, when it changed, reloads its own folder too.
PACK_REVISION = "pack_revision"


class Services:
    """What the cogs share (created in setup_hook, closed in close)."""

    def __init__(self, settings: Settings, answerer: Answerer) -> None:
        self.settings = settings
        self.answerer = answerer
        self.timeline = Timeline(answerer.pack)
        self.conversations = ConversationStore()
        self.storage: Storage = open_storage(settings.storage_target)
        self.querylog = QueryLog(
            self.storage,
            store_raw_ids=settings.store_raw_ids,
            salt=settings.id_salt,
            retention_days=settings.retention_days,
        )
        # The shipped pack plus each server's own facts and overrides.
        self.curator = Curator(answerer.pack, self.storage, answerer)
        self._reload_lock = asyncio.Lock()
        self._pack_revision: str | None = None  # the PACK_REVISION this process's pack is current with
        self._pack_watch: asyncio.Task[None] | None = None

    async def answerer_for(self, guild_id: int | None) -> Answerer:
        """What a server sees: the shipped pack plus its own facts (current at once after a change)."""
        return await self.curator.answerer_for(guild_id)

    async def reload_knowledge(self, *, by: str, announce: bool = True) -> list[str]:
        """Re-validate the knowledge folder and serve it. Returns the problems (empty on success);
        on problems the old pack stays in service. /reload and SIGHUP both come here; a success
        is announced to the other processes sharing the database (``announce``)."""
        problems = await self._reload(by)
        if not problems and announce:
            revision = f"{time.time():.3f}-{os.getpid()}-{secrets.token_hex(4)}"
            self._pack_revision = revision  # this process is current: its own poll skips it
            try:
                await self.storage.set_meta(PACK_REVISION, revision)
            except Exception as exc:  # the reload here stands; only the others miss it
                log.warning("reloaded, but could not tell the other processes (database): %s", exc)
        return problems

    async def check_pack_revision(self) -> bool:
        """Reload when another process reloaded since this one last looked; True if it did."""
        revision = await self.storage.get_meta(PACK_REVISION)
        if revision is None or revision == self._pack_revision:
            return False
        self._pack_revision = revision  # once per change, even when the reload is refused here
        log.info("another process reloaded the knowledge pack (%s): reloading here too", revision)
        await self._reload("reload in another process")
        return True

    async def start_pack_watch(self) -> None:
        """Check PACK_REVISION every ``settings.pack_poll`` seconds (after the storage is open)."""
        if self.settings.pack_poll <= 0 or self._pack_watch is not None:
            return
        self._pack_revision = await self.storage.get_meta(PACK_REVISION)  # the pack just loaded is current
        self._pack_watch = asyncio.get_running_loop().create_task(
            self._watch_pack(), name="tarikh-pack-watch"
        )

    async def stop_pack_watch(self) -> None:
        task, self._pack_watch = self._pack_watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch_pack(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.settings.pack_poll)
            try:
                await self.check_pack_revision()
            except Exception as exc:  # the database is away for a moment: try again next time
                if not failing:  # say it once, not every poll
                    log.warning("cannot check for a reload by another process: %s", exc)
                failing = True
            else:
                failing = False

    async def _reload(self, by: str) -> list[str]:
        async with self._reload_lock:
            folder = self.settings.knowledge
            log.info("reloading the knowledge pack from %s (%s)", folder, by)
            pack, problems = await asyncio.to_thread(validate_pack, folder)
            if pack is None:
                log.warning(
                    "reload refused: %d problem(s) in %s; still serving the old pack", len(problems), folder
                )
                for problem in problems[:20]:
                    log.warning("  %s", problem)
                return [str(p) for p in problems] or ["the knowledge pack could not be loaded"]
            old = len(self.answerer.pack.facts)
            self.curator.replace_base(pack)
            self.answerer = self.curator.base_answerer
            self.timeline = Timeline(pack)
            resettle_heap()
            log.info("reloaded the knowledge pack (%s): %d facts (was %d)", by, len(pack.facts), old)
            return []


class TarikhMixin:
    """Behaviour shared by the single-process and the auto-sharded bot."""

    services: Services
    started_at: float
    accepting: bool
    heartbeat: Heartbeat | None
    _in_flight: set[asyncio.Task[Any]]

    def _init_tarikh(self, services: Services) -> None:
        self.services = services
        self.started_at = time.time()
        self.accepting = True
        self.heartbeat = None
        self._in_flight = set()

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(  # type: ignore[call-arg]  # commands.Bot or AutoShardedBot, next in the MRO
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=NO_PINGS,
            help_command=None,
            **options,
        )
        self._init_tarikh(services)

    async def setup_hook(self) -> None:
        await self._startup_services(self)  # type: ignore[arg-type]

    async def on_ready(self) -> None:
        pack = self.answerer.pack
        log.info(
            "Tarikh %s ready as %s: %d facts loaded, %d guild(s), database %s",
            __version__,
            self.user,
            len(pack.facts),
            len(self.guilds),
            shown_database(self.settings),
        )

    async def close(self) -> None:
        if self.accepting:
            await self._shutdown_services()
        await super().close()  # type: ignore[misc]

    # -- convenience ---------------------------------------------------------------------------

    @property
    def answerer(self) -> Answerer:
        return self.services.answerer

    @property
    def curator(self) -> Curator:
        return self.services.curator

    @property
    def querylog(self) -> QueryLog:
        return self.services.querylog

    @property
    def settings(self) -> Settings:
        return self.services.settings

    # -- shared reply path -----------------------------------------------------------------------

    async def ask(
        self, question: str, *, via: str, user_id: int, channel_id: int | None, guild_id: int | None
    ) -> tuple[Reply, str]:
        answerer = await self.services.answerer_for(guild_id)
        conv = self.services.conversations.get((channel_id, user_id))
        reply = answerer.ask(question, conv)
        qid = self.querylog.log_reply(
            reply, via=via, guild_id=guild_id, channel_id=channel_id, user_id=user_id
        )
        return reply, qid

    def render(self, reply: Reply, qid: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"embed": reply_embed(reply), "allowed_mentions": NO_PINGS}
        view = reply_view(reply, qid)
        if view is not None:
            kwargs["view"] = view
        return kwargs

    async def answer_button(self, interaction: discord.Interaction[Any], fact_id: str) -> None:
        answerer = await self.services.answerer_for(interaction.guild_id)
        fact = answerer.pack.facts.get(fact_id)
        if fact is None:
            await interaction.response.send_message(
                "That fact is no longer in the knowledge base.", ephemeral=True
            )
            return
        question = fact.questions[0] if fact.questions else fact.title
        conv = self.services.conversations.get((interaction.channel_id, interaction.user.id))
        reply = answerer.show(FactRef(fact.id, fact.title, question), conv)
        qid = self.querylog.log_reply(
            reply,
            via="button",
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
        )
        await interaction.response.send_message(ephemeral=True, **self.render(reply, qid))

    async def report_error(self, interaction: discord.Interaction[Any], error: BaseException) -> None:
        """The one place failures become a short, friendly, ephemeral message."""
        original = getattr(error, "original", error)
        if isinstance(error, app_commands.CommandOnCooldown):
            text = f"Easy there — you can ask again in {error.retry_after:.0f} s."
        elif isinstance(error, app_commands.MissingPermissions | app_commands.CheckFailure):
            text = str(error) or "You can't use this command here."
        elif isinstance(original, discord.NotFound):
            log.warning("interaction expired before the reply: %s", original)
            return
        else:
            command = interaction.command.qualified_name if interaction.command else "a component"
            log.error("error in %s", command, exc_info=error)
            text = "Something went wrong on my side. It has been logged; please try again."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
            else:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.debug("could not tell the user about the error", exc_info=True)

    def track(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return task

    async def _startup_services(self, bot: commands.Bot) -> None:
        await self.services.storage.open()
        await self.querylog.start()
        await self.services.start_pack_watch()
        self.heartbeat = Heartbeat(bot, self.settings.heartbeat_path)
        self.heartbeat.start()
        bot.add_dynamic_items(AskButton, FeedbackButton)
        bot.tree.on_error = self._tree_error  # type: ignore[method-assign]
        for ext in EXTENSIONS:
            await bot.load_extension(ext)
        if self.settings.guild_id:
            guild = discord.Object(self.settings.guild_id)
            bot.tree.copy_global_to(guild=guild)
            log.info("DISCORD_GUILD_ID set: syncing commands to guild %s", self.settings.guild_id)
            await bot.tree.sync(guild=guild)

    async def on_command_error(self, context: commands.Context[Any], exception: Exception) -> None:
        # Mentions are questions for the Ask cog, not text commands: don't log each one as an error.
        if isinstance(exception, commands.CommandNotFound):
            return
        await super().on_command_error(context, exception)  # type: ignore[misc]

    async def _tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await self.report_error(interaction, error)

    async def _shutdown_services(self, timeout: float = 8.0) -> None:
        """Stop taking work, finish replies in flight, flush the log, close the database."""
        self.accepting = False
        await self.services.stop_pack_watch()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=timeout / 2)
        await self.querylog.close(timeout=timeout / 2)
        await self.services.storage.close()


class TarikhBot(TarikhMixin, commands.Bot):
    """One process, one gateway connection (or several shards with TarikhShardedBot)."""


class TarikhShardedBot(TarikhMixin, commands.AutoShardedBot):
    """SHARD_COUNT / SHARD_IDS: this process runs just these shards of the bot."""


def create_bot(settings: Settings, answerer: Answerer) -> commands.Bot:
    # Tarikh has no voice features: no start-up warnings that voice libraries are missing.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    services = Services(settings, answerer)
    if settings.shard_count or settings.shard_ids:
        return TarikhShardedBot(services, shard_count=settings.shard_count, shard_ids=settings.shard_ids)
    return TarikhBot(services)


# Young-generation collections every 10,000 (net) allocations of container objects rather than
# CPython's default 700. Nearly everything a reply allocates is freed by reference counting
# before the reply ends; at 700 the collector ran about every five replies under load, and what
# was in flight at that moment was promoted and walked again by the older generations
# (benchmarks/discord_load.py, 1,500 replies: 284 young, 26 middle and 2 full collections at 700;
# 9 young and none older at 10,000). At worst 10,000 objects of cyclic garbage wait a little
# longer to be freed.
GC_THRESHOLD = (10_000, 10, 10)


def settle_heap() -> None:
    """Keep the long-lived heap out of the garbage collector's way (the bot's process, at start).

    The knowledge pack, its search index and the libraries loaded with them live as long as the
    process. Left in the collector's oldest generation, every full collection walks all of them
    again. So collect the garbage of start-up once, then move what is left to the permanent
    generation (``gc.freeze``): reference counting still frees it (the pack has no reference
    cycles), and a reload settles the new pack the same way (:func:`resettle_heap`). Also sets
    :data:`GC_THRESHOLD`. Measured with benchmarks/discord_load.py: the collector's share of a
    reply went from about 0.5 ms of CPU to under 0.1 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def resettle_heap() -> None:
    """After a knowledge reload: settle the new pack too, if this process settled its heap."""
    if gc.get_freeze_count():
        settle_heap()
