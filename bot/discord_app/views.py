"""Buttons: persistent "ask next" and feedback buttons, the invoker-only timeline pager, and the
moderators' fact form, confirm and gap buttons."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.answer import Reply
from bot.discord_app.limits import BUTTON_LABEL, BUTTONS_PER_ROW, MODAL_TITLE, clip
from bot.discord_app.render import NO_PINGS, link_buttons, timeline_embed
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


# -- moderators' forms and buttons --------------------------------------------------------------

FormValues = dict[str, str]
OnForm = Callable[[discord.Interaction[Any], FormValues], Awaitable[None]]
OnClick = Callable[[discord.Interaction[Any]], Awaitable[None]]
OnConfirm = Callable[[discord.Interaction[Any]], Awaitable[bool]]  # True when done (False: refused)

# key, label (45 max), description (100 max), paragraph?, required?, max length
FORM_FIELDS: tuple[tuple[str, str, str, bool, bool, int], ...] = (
    ("title", "Title", "A short heading, e.g. “The qadi's library”", False, True, 100),
    ("answer", "Answer", "In your own words, one to three sentences", True, True, 600),
    ("excerpt", "Excerpt from the article (optional)",
     "Copied word for word from the source article; leave empty if there is none", True, False, 500),
    ("when", "Date (optional)", "EDTF such as 0741-10~ (about October 741) or a plain year such as 741",
     False, False, 40),
    ("questions", "Sample questions, one per line",
     "At least two ways members might ask for this fact", True, True, 2000),
)  # fmt: skip


class FactForm(discord.ui.Modal):
    """The five fields of a fact a moderator writes (Discord modals hold five inputs);
    the rest of a fact (people, places, tags, links) is kept as it was or left out."""

    def __init__(self, heading: str, values: FormValues, on_values: OnForm, *, timeout: float = 900) -> None:
        super().__init__(title=clip(heading, MODAL_TITLE), timeout=timeout)
        self._on_values = on_values
        self.inputs: dict[str, discord.ui.TextInput[Any]] = {}
        for key, label, description, paragraph, required, limit in FORM_FIELDS:
            default = (values.get(key) or "")[:limit]
            text_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
                custom_id=key,
                style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short,
                required=required,
                max_length=limit,
                default=default or None,
            )
            self.inputs[key] = text_input
            self.add_item(discord.ui.Label(text=label, description=description, component=text_input))

    def values(self) -> FormValues:
        return {key: text_input.value for key, text_input in self.inputs.items()}

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self._on_values(interaction, self.values())

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception) -> None:
        await _bot(interaction).report_error(interaction, error)


class InvokerView(discord.ui.View):
    """Buttons only the person who ran the command can press; disabled when it times out."""

    def __init__(self, owner_id: int, origin: discord.Interaction[Any], *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.origin = origin  # its token edits the (possibly ephemeral) message for 15 minutes
        self.expired_text: str | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the moderator who ran this command can use these buttons.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        return False

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        kwargs: dict[str, Any] = {"view": self, "allowed_mentions": NO_PINGS}
        if self.expired_text is not None:
            kwargs.update(content=self.expired_text, view=None)
        try:
            await self.origin.edit_original_response(**kwargs)
        except discord.HTTPException:
            log.debug("could not update an expired message (gone, or the token expired)")

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await _bot(interaction).report_error(interaction, error)


class CallbackButton(discord.ui.Button[InvokerView]):
    def __init__(self, label: str, on_click: OnClick, *, style: discord.ButtonStyle, emoji: str | None = None,
                 row: int | None = None) -> None:  # fmt: skip
        super().__init__(label=clip(label, BUTTON_LABEL), style=style, emoji=emoji, row=row)
        self._on_click = on_click

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await self._on_click(interaction)


class ConfirmView(InvokerView):
    """Confirm or cancel a change; pressing either (or waiting) ends it."""

    def __init__(self, owner_id: int, origin: discord.Interaction[Any], on_confirm: OnConfirm, *,
                 confirm_label: str, timeout: float = 60) -> None:  # fmt: skip
        super().__init__(owner_id, origin, timeout=timeout)
        self.expired_text = "Timed out: nothing was changed."
        self._on_confirm = on_confirm
        self.add_item(CallbackButton(confirm_label, self._confirm, style=discord.ButtonStyle.danger))
        self.add_item(CallbackButton("Cancel", self._cancel, style=discord.ButtonStyle.secondary))

    async def _confirm(self, interaction: discord.Interaction[Any]) -> None:
        if await self._on_confirm(interaction):
            self.stop()

    async def _cancel(self, interaction: discord.Interaction[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled: nothing was changed.", embed=None, view=None, allowed_mentions=NO_PINGS
        )


class ButtonsView(InvokerView):
    """A few buttons, each with its own action (the /stats gaps, "try again" after a refusal)."""

    def __init__(self, owner_id: int, origin: discord.Interaction[Any],
                 buttons: list[tuple[str, OnClick]], *, timeout: float = 600) -> None:  # fmt: skip
        super().__init__(owner_id, origin, timeout=timeout)
        for i, (label, on_click) in enumerate(buttons[: BUTTONS_PER_ROW * 4]):
            self.add_item(
                CallbackButton(label, on_click, style=discord.ButtonStyle.primary, row=i // BUTTONS_PER_ROW)
            )
