"""/timeline, /who and /where."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.limits import CHOICE_NAME, CHOICES, clip, safe_user_text
from bot.discord_app.render import NO_PINGS, entity_embed
from bot.discord_app.views import TimelineView
from bot.timeline import Timeline, TimelineError, parse_year

if TYPE_CHECKING:
    from bot.discord_app.client import TarikhBot

PEOPLE = ("person", "group", "office")
PLACES = ("place", "polity", "battle", "event")


class Browse(commands.Cog):
    def __init__(self, bot: TarikhBot) -> None:
        self.bot = bot

    @app_commands.command(name="timeline", description="The dated events in order")
    @app_commands.describe(
        start="First year, e.g. 740, 740 CE or 122 AH",
        end="Last year, e.g. 743 or 125 AH",
        calendar="Show dates in the Common Era, the Hijri calendar, or both",
    )
    @app_commands.rename(start="from", end="to")
    @app_commands.choices(
        calendar=[
            app_commands.Choice(name="CE", value="ce"),
            app_commands.Choice(name="AH", value="ah"),
            app_commands.Choice(name="both", value="both"),
        ]
    )
    async def timeline(
        self,
        interaction: discord.Interaction[Any],
        start: app_commands.Range[str, 1, 12] | None = None,
        end: app_commands.Range[str, 1, 12] | None = None,
        calendar: app_commands.Choice[str] | None = None,
    ) -> None:
        cal = calendar.value if calendar else "both"
        default = "ah" if cal == "ah" else "ce"
        try:
            lo = parse_year(start, default) if start else None
            hi = parse_year(end, default) if end else (lo if start else None)
            view = TimelineView(await self._timeline(interaction), interaction.user.id, lo, hi, cal)
            embed = view.current()
        except TimelineError as exc:
            await interaction.response.send_message(
                safe_user_text(str(exc), 300), ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        if view.pages <= 1:
            await interaction.response.send_message(embed=embed, allowed_mentions=NO_PINGS)
            return
        await interaction.response.send_message(embed=embed, view=view, allowed_mentions=NO_PINGS)
        view.message = await interaction.original_response()

    async def _timeline(self, interaction: discord.Interaction[Any]) -> Timeline:
        """The shipped timeline, or this server's (with its own dated facts) if it changed any."""
        answerer = await self.bot.services.answerer_for(interaction.guild_id)
        if answerer is self.bot.answerer:
            return self.bot.services.timeline
        return Timeline(answerer.pack)

    @app_commands.command(name="who", description="A card about a person or group")
    @app_commands.describe(name="Who? (any spelling)")
    async def who(self, interaction: discord.Interaction[Any], name: app_commands.Range[str, 1, 100]) -> None:
        await self._card(interaction, name, PEOPLE, "anyone")

    @app_commands.command(name="where", description="A card about a place, state or battle")
    @app_commands.describe(place="Where? (any spelling)")
    async def where(
        self, interaction: discord.Interaction[Any], place: app_commands.Range[str, 1, 100]
    ) -> None:
        await self._card(interaction, place, PLACES, "anywhere")

    async def _card(
        self, interaction: discord.Interaction[Any], name: str, kinds: tuple[str, ...], nobody: str
    ) -> None:
        answerer = await self.bot.services.answerer_for(interaction.guild_id)
        pack = answerer.pack
        entity = pack.entities.get(name)
        if entity is None:
            found = answerer.entity_search(name, kinds)
            entity = found[0] if found else None
        if entity is None:
            await interaction.response.send_message(
                f"I don't know {nobody} called “{safe_user_text(name, 100)}”.",
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        await interaction.response.send_message(embed=entity_embed(pack, entity), allowed_mentions=NO_PINGS)

    @who.autocomplete("name")
    async def who_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return self._entity_choices(current, PEOPLE)

    @where.autocomplete("place")
    async def where_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return self._entity_choices(current, PLACES)

    def _entity_choices(self, current: str, kinds: tuple[str, ...]) -> list[app_commands.Choice[str]]:
        found = self.bot.answerer.entity_search(current, kinds)
        return [
            app_commands.Choice(name=clip(f"{e.name} ({e.kind})", CHOICE_NAME), value=e.id)
            for e in found[:CHOICES]
        ]


async def setup(bot: TarikhBot) -> None:
    await bot.add_cog(Browse(bot))
