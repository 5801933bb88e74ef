"""How the bot talks to Discord: its intents, allowed mentions and endpoints.

Kept apart from the client (and light to import) so that a comparison bot, such as the
baseline of benchmarks/discord_load.py, can connect with exactly the same settings without
loading the engine.
"""

from __future__ import annotations

import discord
import yarl

from bot.config import Settings

NO_PINGS = discord.AllowedMentions.none()


def intents() -> discord.Intents:
    """The least the bot needs: guilds, and messages (to see mentions and DMs). Nothing privileged."""
    it = discord.Intents.none()
    it.guilds = True
    it.guild_messages = True
    it.dm_messages = True
    return it


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at another Discord-compatible server (or a local test server)."""
    if settings.api_base:
        discord.http.Route.BASE = settings.api_base.rstrip("/")
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
