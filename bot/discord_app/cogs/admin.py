"""/config moderator-role (Manage Server) and /reload (the bot's owner)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.moderators import MANAGE_GUILD, audit, require_manager, require_owner
from bot.discord_app.render import NO_PINGS, problems_embed

if TYPE_CHECKING:
    from bot.discord_app.client import TarikhBot

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    config = app_commands.Group(
        name="config",
        description="Tarikh's settings for this server (Manage Server)",
        guild_only=True,
        default_permissions=MANAGE_GUILD,
    )

    def __init__(self, bot: TarikhBot) -> None:
        self.bot = bot

    @config.command(name="moderator-role", description="Let a role change this server's facts")
    @app_commands.describe(role="Members with this role count as moderators; leave it out to clear")
    async def moderator_role(
        self, interaction: discord.Interaction[Any], role: discord.Role | None = None
    ) -> None:
        if not await require_manager(interaction, "config moderator-role"):
            return
        assert interaction.guild_id is not None  # require_manager refuses DMs
        if role is not None and role.is_default():
            await interaction.response.send_message(
                "@everyone can't be the moderator role: that would let every member change the facts.",
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        await self.bot.services.storage.set_moderator_role(interaction.guild_id, role.id if role else None)
        await audit(interaction, "config.moderator-role", str(role.id) if role else "cleared")
        if role is None:
            text = "Cleared: only members with Manage Server can change this server's facts now."
        else:
            text = f"Done: members with {role.mention} can change this server's facts (as can Manage Server)."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="reload", description="Bot owner: re-read and re-check the knowledge folder")
    @app_commands.default_permissions(manage_guild=True)
    async def reload(self, interaction: discord.Interaction[Any]) -> None:
        if not await require_owner(interaction, "reload"):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        who = f"/reload by {interaction.user} ({interaction.user.id})"
        problems = await self.bot.services.reload_knowledge(by=who)
        if problems:
            await audit(interaction, "reload.refused", f"{len(problems)} problem(s)")
            embed = problems_embed(
                "Reload refused: still answering from the previous pack",
                problems,
                footer=f"{len(problems)} problem(s) in {self.bot.settings.knowledge}",
            )
            await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        pack = self.bot.answerer.pack
        await audit(interaction, "reload", f"{len(pack.facts)} facts")
        await interaction.followup.send(
            f"Reloaded: {len(pack.facts)} facts, {len(pack.entities)} people, places and groups. "
            "Every server sees the new pack (with its own facts) from its next question.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


async def setup(bot: TarikhBot) -> None:
    await bot.add_cog(Admin(bot))
