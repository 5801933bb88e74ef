"""/about and /help."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.discord_app.limits import fit_embed
from bot.discord_app.render import ACCENT, NO_PINGS

if TYPE_CHECKING:
    from bot.discord_app.client import TarikhBot

HELP_TEXT = """\
**Ask** — `/ask question:` or mention me: “@Tarikh who started the revolt?”
I answer from a curated fact base, quote the source word for word, give the date in
the Common Era and the Hijri calendar, and say so when I don't know.
Follow-ups work: “when did he die?”, “what happened next?”.

**Browse** — `/timeline [from] [to] [calendar]` (years like `741` or `123 AH`),
`/who name:` for people and groups, `/where place:` for places, states and battles.

**About** — `/about` for the sources, their licence and what I know.

**Moderators** — `/fact add`, `edit`, `remove`, `history`, `revert`, `export`, `import` change what
I know on this server; `/stats` shows what members ask and what I couldn't answer. For members
with Manage Server or the role set with `/config moderator-role`."""


class Meta(commands.Cog):
    def __init__(self, bot: TarikhBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="How to use Tarikh")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        embed = discord.Embed(title="Tarikh — how to ask", description=HELP_TEXT, colour=ACCENT)
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    @app_commands.command(name="about", description="Sources, licence and what Tarikh knows")
    async def about(self, interaction: discord.Interaction[Any]) -> None:
        pack = self.bot.answerer.pack
        embed = discord.Embed(
            title=f"Tarikh {__version__} · {pack.info.name}", description=pack.info.description, colour=ACCENT
        )
        embed.add_field(name="Facts", value=str(len(pack.facts)), inline=True)
        embed.add_field(name="Dated events", value=str(len(pack.dated_facts())), inline=True)
        embed.add_field(name="People, places, groups", value=str(len(pack.entities)), inline=True)
        for src in pack.sources.values():
            licence = f"[{src.licence}]({src.licence_url})" if src.licence_url else src.licence
            text = f"[{src.title}]({src.url}) · {licence}"
            if src.attribution:
                text += f"\n{src.attribution}"
            embed.add_field(name="Source", value=text, inline=False)
        await interaction.response.send_message(embed=fit_embed(embed), allowed_mentions=NO_PINGS)


async def setup(bot: TarikhBot) -> None:
    await bot.add_cog(Meta(bot))
