"""Reply objects to Discord embeds and components (no network; unit-tested)."""

from __future__ import annotations

import discord

from bot.answer import Reply
from bot.discord_app.limits import (
    BUTTON_LABEL,
    BUTTONS_PER_ROW,
    LINK_URL,
    clip,
    fit_embed,
    safe_user_text,
)
from bot.knowledge.models import Entity, KnowledgePack
from bot.timeline import Timeline, TimelinePage

ACCENT = discord.Colour.from_rgb(196, 140, 60)
DECLINE = discord.Colour.from_rgb(120, 120, 130)
NO_PINGS = discord.AllowedMentions.none()


def quote_block(text: str) -> str:
    """Markdown block quote, every line prefixed (the excerpt is shown verbatim)."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines() or [""])


def reply_embed(reply: Reply) -> discord.Embed:
    if not reply.answered:
        return decline_embed(reply)
    parts = [reply.answer or ""]
    if reply.excerpt:
        parts.append(quote_block(discord.utils.escape_markdown(reply.excerpt)))
    embed = discord.Embed(title=reply.title or "Answer", description="\n\n".join(parts), colour=ACCENT)
    if reply.date:
        embed.add_field(name="When", value=reply.date.short, inline=True)
    if reply.source:
        src = reply.source
        licence = f"[{src.licence}]({src.licence_url})" if src.licence_url else src.licence
        embed.add_field(name="Source", value=f"[{src.title}]({src.url}) · {licence}", inline=True)
    elif reply.origin == "guild":
        embed.add_field(name="Source", value="Added by the moderators of this server", inline=True)
    if reply.related:
        lines = [f"• {clip(r.title, 90)}" for r in reply.related]
        embed.add_field(name="Ask next", value="\n".join(lines), inline=False)
    footer = f"Asked: {reply.question}" if reply.question else ""
    if reply.corrections:
        footer += " · read as: " + ", ".join(f"{a}→{b}" for a, b in reply.corrections.items())
    if footer:
        embed.set_footer(text=clip(footer, 300))
    return fit_embed(embed)


def decline_embed(reply: Reply) -> discord.Embed:
    desc = reply.message
    if reply.suggestions:
        desc += "\n\n**Did you mean:**\n" + "\n".join(f"• {s.title}" for s in reply.suggestions)
    embed = discord.Embed(title="Not in my sources", description=desc, colour=DECLINE)
    if reply.question:
        embed.set_footer(text=clip(f"Asked: {reply.question}", 300))
    return fit_embed(embed)


def link_buttons(reply: Reply) -> list[discord.ui.Button[discord.ui.View]]:
    """Link buttons for the people and places of a reply and its further reading (max 5)."""
    buttons: list[discord.ui.Button[discord.ui.View]] = []
    seen: set[str] = set()
    targets = [(e.name, e.link) for e in reply.entities if e.link]
    targets += [(lk.title, lk.url) for lk in reply.links]
    for label, url in targets:
        if not url or url in seen or len(url) > LINK_URL:
            continue
        seen.add(url)
        buttons.append(discord.ui.Button(label=clip(label, BUTTON_LABEL), url=url, emoji="📖"))
        if len(buttons) >= BUTTONS_PER_ROW:
            break
    return buttons


def entity_embed(pack: KnowledgePack, entity: Entity) -> discord.Embed:
    embed = discord.Embed(title=entity.name, description=entity.description, colour=ACCENT)
    embed.add_field(name="Kind", value=entity.kind, inline=True)
    if entity.when:
        embed.add_field(name="When", value=entity.when.short, inline=True)
    if entity.aliases:
        embed.add_field(name="Also written", value=", ".join(entity.aliases), inline=False)
    facts = pack.facts_about(entity.id)
    if facts:
        lines = [f"• {f.title}" for f in facts[:10]]
        if len(facts) > 10:
            lines.append(f"… and {len(facts) - 10} more")
        embed.add_field(name=f"In {len(facts)} fact(s)", value="\n".join(lines), inline=False)
    if entity.link:
        embed.url = entity.link
    return fit_embed(embed)


def timeline_embed(page: TimelinePage) -> discord.Embed:
    if not page.entries:
        return discord.Embed(title="Timeline", description="No dated events in that range.", colour=DECLINE)
    lines = []
    for fact in page.entries:
        lines.append(f"**{Timeline.date_text(fact, page.calendar)}** — {fact.title}")
    embed = discord.Embed(title=f"Timeline · {page.label}", description="\n".join(lines), colour=ACCENT)
    embed.set_footer(text=f"Page {page.page + 1} of {page.pages} · {page.total} events")
    return fit_embed(embed)


def safe_question(text: str) -> str:
    return safe_user_text(text, 300)
