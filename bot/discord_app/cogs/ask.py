"""/ask, answering mentions and DMs, and question autocomplete."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer import Answerer
from bot.discord_app.cooldowns import UserCooldowns
from bot.discord_app.limits import CHOICE_NAME, CHOICES, clip
from bot.discord_app.render import NO_PINGS

if TYPE_CHECKING:
    from bot.discord_app.client import TarikhBot

log = logging.getLogger(__name__)
QUESTION_MAX = 300


class Ask(commands.Cog):
    def __init__(self, bot: TarikhBot) -> None:
        self.bot = bot
        s = bot.settings
        # TARIKH_COOLDOWN per user, one allowance for /ask and another for mentions and DMs.
        self._ask_cooldown = UserCooldowns(s.cooldown_rate, s.cooldown_per)
        self._mention_cooldown = UserCooldowns(s.cooldown_rate, s.cooldown_per)

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """/ask's per-user cooldown (the cog's only app command; autocomplete is not checked)."""
        retry = self._ask_cooldown.update(interaction.user.id, interaction.created_at.timestamp())
        if retry is not None:
            raise app_commands.CommandOnCooldown(self._ask_cooldown.cooldown(), retry)
        return True

    @app_commands.command(name="ask", description="Ask a question about the topic")
    @app_commands.describe(question="Your question, in your own words")
    async def ask(
        self,
        interaction: discord.Interaction[Any],
        question: app_commands.Range[str, 1, QUESTION_MAX],
    ) -> None:
        reply, qid = await self.bot.ask(
            strip_markup(question) or question,
            via="slash",
            user_id=interaction.user.id,
            channel_id=interaction.channel_id,
            guild_id=interaction.guild_id,
        )
        await interaction.response.send_message(**self.bot.render(reply, qid))

    @ask.autocomplete("question")
    async def ask_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return question_choices(await self.bot.services.answerer_for(interaction.guild_id), current)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.bot.user is None or not self.bot.accepting:
            return
        is_dm = message.guild is None
        if not is_dm and self.bot.user not in message.mentions:
            return
        question = strip_markup(message.content)
        if not question:
            if is_dm and not message.content:
                return
            await message.reply(
                "Ask me a question after the mention, e.g. “@Tarikh who started the revolt?” or use /ask.",
                mention_author=False,
                allowed_mentions=NO_PINGS,
            )
            return
        if self._mention_cooldown.update(message.author.id) is not None:
            await message.add_reaction("⏳")
            return
        self.bot.track(self._answer_message(message, question))

    async def _answer_message(self, message: discord.Message, question: str) -> None:
        reply, qid = await self.bot.ask(
            question[: QUESTION_MAX * 2],
            via="mention",
            user_id=message.author.id,
            channel_id=message.channel.id,
            guild_id=message.guild.id if message.guild else None,
        )
        try:
            await message.reply(mention_author=False, **self.bot.render(reply, qid))
        except discord.HTTPException:
            log.exception("could not answer message %s", message.id)


_MARKUP = re.compile(r"<@[!&]?\d+>|<#\d+>|<a?:\w+:\d+>|@everyone|@here")


def strip_markup(content: str) -> str:
    """The question without Discord markup: user, role and channel mentions (the bot's own
    included), custom emoji, @everyone and @here say nothing about what is asked."""
    return " ".join(_MARKUP.sub(" ", content).split())


def question_choices(answerer: Answerer, current: str) -> list[app_commands.Choice[str]]:
    """Fact titles and sample questions ranked by the engine (25 at most, 100 chars each), from
    what this server sees (the shipped pack plus its own facts)."""
    pack = answerer.pack
    texts: list[str] = []
    if current.strip():
        result = answerer.engine.search(current, limit=10)
        for hit in result.hits:
            texts.extend([hit.fact.questions[0], hit.fact.title, *hit.fact.questions[1:2]])
    else:
        texts = [f.questions[0] for f in list(pack.facts.values())[:CHOICES]]
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for text in texts:
        name = clip(text, CHOICE_NAME)
        if name.lower() in seen or not name:
            continue
        seen.add(name.lower())
        choices.append(app_commands.Choice(name=name, value=name))
        if len(choices) >= CHOICES:
            break
    return choices


async def setup(bot: TarikhBot) -> None:
    await bot.add_cog(Ask(bot))
