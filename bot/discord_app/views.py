"""Buttons: persistent "ask next" and feedback buttons, and the invoker-only timeline pager."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.answer import Reply
from bot.discord_app.limits import BUTTON_LABEL, clip
from bot.discord_app.render import link_buttons, timeline_embed
from bot.timeline import Timeline, YearBound

if TYPE_CHECKING:
    from bot.discord_app.client import TarikhBot

log = logging.getLogger(__name__)


def _bot(interaction: discord.Interaction[Any]) -> TarikhBot:
    return interaction.client  # type: ignore[return-value]


class AskButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"tarikh:ask:(?P<fact>[a-z0-9-]{1,80})"
):
    """Answers a fact for whoever clicks (ephemeral); survives restarts (the state is the id)."""

    def __init__(self, fact_id: str, label: str, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=clip(label, BUTTON_LABEL),
                custom_id=f"tarikh:ask:{fact_id}",
                style=discord.ButtonStyle.secondary,
                emoji="❔",
                row=row,
            )
        )
        self.fact_id = fact_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str]
    ) -> AskButton:
        return cls(match["fact"], item.label or "Ask")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _bot(interaction).answer_button(interaction, self.fact_id)


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tarikh:fb:(?P<qid>[0-9a-f]{8,32}):(?P<v>[01])",
):
    def __init__(self, query_id: str, helpful: bool, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label="Helpful" if helpful else "Not helpful",
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"tarikh:fb:{query_id}:{int(helpful)}",
                row=row,
            )
        )
        self.query_id = query_id
        self.helpful = helpful

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str]
    ) -> FeedbackButton:
        return cls(match["qid"], match["v"] == "1")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = _bot(interaction)
        bot.querylog.log_feedback(self.query_id, user_id=interaction.user.id, helpful=self.helpful)
        text = "Thanks, noted!" if self.helpful else "Thanks — noted. The moderators review these."
        await interaction.response.send_message(text, ephemeral=True)


class StatelessView(discord.ui.View):
    """Components whose clicks are handled by the registered DynamicItems, not by this object:
    nothing is kept per message, so buttons work after a restart and memory does not grow."""

    def is_dispatchable(self) -> bool:
        return False


def reply_view(reply: Reply, query_id: str | None) -> discord.ui.View | None:
    """Row 0: reading links; row 1: ask-next or did-you-mean; row 2: feedback."""
    view = StatelessView(timeout=None)
    for button in link_buttons(reply):
        button.row = 0
        view.add_item(button)
    nexts = reply.related if reply.answered else reply.suggestions
    for ref in nexts[:3]:
        view.add_item(AskButton(ref.fact_id, ref.title, row=1))
    if reply.answered and query_id:
        view.add_item(FeedbackButton(query_id, True, row=2))
        view.add_item(FeedbackButton(query_id, False, row=2))
    return view if view.children else None


class TimelineView(discord.ui.View):
    """Previous/next pages; only the person who opened it can turn pages."""

    def __init__(
        self,
        timeline: Timeline,
        owner_id: int,
        start: YearBound | None,
        end: YearBound | None,
        calendar: str,
        *,
        timeout: float = 180,
    ) -> None:
        super().__init__(timeout=timeout)
        self.timeline = timeline
        self.owner_id = owner_id
        self.start, self.end, self.calendar = start, end, calendar
        self.page_no = 0
        self.message: discord.InteractionMessage | discord.Message | None = None
        self._sync_buttons()

    def current(self) -> discord.Embed:
        page = self.timeline.page(self.start, self.end, self.calendar, self.page_no)
        self.page_no = page.page
        self.pages = page.pages
        self._sync_buttons()
        return timeline_embed(page)

    def _sync_buttons(self) -> None:
        pages = (
            getattr(self, "pages", None) or self.timeline.page(self.start, self.end, self.calendar, 0).pages
        )
        self.previous.disabled = self.page_no <= 0
        self.next.disabled = self.page_no >= pages - 1

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who opened this timeline can turn its pages; run /timeline for your own.",
            ephemeral=True,
        )
        return False

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]) -> None:
        self.page_no -= 1
        await interaction.response.edit_message(embed=self.current(), view=self)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]) -> None:
        self.page_no += 1
        await interaction.response.edit_message(embed=self.current(), view=self)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                log.debug("could not disable timeline buttons (message gone?)")

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await _bot(interaction).report_error(interaction, error)
