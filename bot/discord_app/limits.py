"""Discord's limits, and text helpers that respect them (truncate cleanly, never error)."""

from __future__ import annotations

import discord

EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
EMBED_TOTAL = 6000
BUTTON_LABEL = 80
BUTTONS_PER_ROW = 5
CUSTOM_ID = 100
LINK_URL = 512
CHOICES = 25
CHOICE_NAME = 100
CONTENT = 2000
MODAL_TITLE = 45


def clip(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis when ``text`` is over ``limit`` characters."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def safe_user_text(text: str, limit: int = 256) -> str:
    """User text quoted back: no pings (@everyone, roles, users), no markdown, bounded."""
    text = discord.utils.escape_markdown(text)
    text = discord.utils.escape_mentions(text)
    return clip(text, limit)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Trim an embed to Discord's limits: per part first, then the 6000-character total."""
    if embed.title:
        embed.title = clip(embed.title, EMBED_TITLE)
    if embed.description:
        embed.description = clip(embed.description, EMBED_DESCRIPTION)
    fields = embed.fields[:EMBED_FIELDS]
    embed.clear_fields()
    for f in fields:
        embed.add_field(
            name=clip(f.name or "", FIELD_NAME) or "\u200b",
            value=clip(f.value or "", FIELD_VALUE) or "\u200b",
            inline=bool(f.inline),
        )
    if embed.footer and embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL and embed.description:
        over = len(embed) - EMBED_TOTAL
        embed.description = clip(embed.description, max(len(embed.description) - over - 1, 1))
    return embed
