"""Buttons: persistent "ask next" and feedback buttons, the invoker-only timeline pager, and the
moderators' fact form, confirm and gap buttons."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.answer import Reply
from bot.discord_app.limits import BUTTON_LABEL, BUTTONS_PER_ROW, MODAL_TITLE, clip
from bot.discord_app.render import LINK_EMOJI, NO_PINGS, link_targets, timeline_embed
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

    EMOJI = "❔"

    def __init__(self, fact_id: str, label: str, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=clip(label, BUTTON_LABEL),
                custom_id=self.custom_id_for(fact_id),
                style=discord.ButtonStyle.secondary,
                emoji=self.EMOJI,
                row=row,
            )
        )
        self.fact_id = fact_id

    @staticmethod
    def custom_id_for(fact_id: str) -> str:
        return f"tarikh:ask:{fact_id}"

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
    LABELS: ClassVar[dict[bool, tuple[str, str]]] = {True: ("Helpful", "👍"), False: ("Not helpful", "👎")}

    def __init__(self, query_id: str, helpful: bool, row: int | None = None) -> None:
        label, emoji = self.LABELS[helpful]
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=self.custom_id_for(query_id, helpful),
                row=row,
            )
        )
        self.query_id = query_id
        self.helpful = helpful

    @staticmethod
    def custom_id_for(query_id: str, helpful: bool) -> str:
        return f"tarikh:fb:{query_id}:{int(helpful)}"

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


def _button(style: discord.ButtonStyle, label: str, emoji: str, **target: str) -> dict[str, Any]:
    """One button as Discord's JSON, exactly as ``discord.ui.Button(...).to_component_dict()``
    writes it (``target``: ``custom_id=`` or ``url=``)."""
    return {
        "type": 2,
        "style": style.value,
        "disabled": False,
        "label": label,
        **target,
        "emoji": {"name": emoji, "id": None},
    }


class ReplyComponents(discord.ui.View):
    """The buttons under an answer, written directly as Discord's component JSON.

    Nothing in them is handled by this object: link buttons need nothing, and clicks on the
    "ask next" and feedback buttons are routed by their custom ids to the AskButton and
    FeedbackButton DynamicItems the bot registers at start-up (so they keep working after a
    restart, and nothing is kept per message). discord.py's item objects (a ``Button``, its
    component, its emoji, a ``DynamicItem`` wrapper each, a view that places and validates them,
    then registers it in the view store) would cost several times more than the JSON they
    produce, on every reply; the JSON written here is identical.
    """

    def __init__(self, rows: list[list[dict[str, Any]]]) -> None:
        super().__init__(timeout=None)
        self.component_rows = [row for row in rows if row]
        self.stop()  # never listens: discord.py need not track it (see above)

    def to_components(self) -> list[dict[str, Any]]:
        return [{"type": 1, "components": row} for row in self.component_rows]

    def is_dispatchable(self) -> bool:
        return False


def reply_view(reply: Reply, query_id: str | None) -> ReplyComponents | None:
    """Row 0: reading links; row 1: ask-next or did-you-mean; row 2: feedback."""
    secondary = discord.ButtonStyle.secondary
    links = [
        _button(discord.ButtonStyle.link, label, LINK_EMOJI, url=url) for label, url in link_targets(reply)
    ]
    nexts = reply.related if reply.answered else reply.suggestions
    asks = [
        _button(
            secondary,
            clip(ref.title, BUTTON_LABEL),
            AskButton.EMOJI,
            custom_id=AskButton.custom_id_for(ref.fact_id),
        )
        for ref in nexts[:3]
    ]
    feedback = []
    if reply.answered and query_id:
        for helpful in (True, False):
            label, emoji = FeedbackButton.LABELS[helpful]
            custom_id = FeedbackButton.custom_id_for(query_id, helpful)
            feedback.append(_button(secondary, label, emoji, custom_id=custom_id))
    view = ReplyComponents([links, asks, feedback])
    return view if view.component_rows else None


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
