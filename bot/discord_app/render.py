"""Reply objects to Discord embeds and components (no network; unit-tested)."""

from __future__ import annotations

from typing import Any

import discord

from bot.answer import Reply
from bot.curation import changed_fields
from bot.discord_app.connection import NO_PINGS as NO_PINGS  # re-exported: the views and cogs use it
from bot.discord_app.limits import (
    BUTTON_LABEL,
    BUTTONS_PER_ROW,
    EMBED_DESCRIPTION,
    LINK_URL,
    clip,
    fit_embed,
    safe_user_text,
)
from bot.knowledge.models import Entity, KnowledgePack
from bot.storage import FactVersion, QuestionCount, Stats
from bot.timeline import Timeline, TimelinePage

ACCENT = discord.Colour.from_rgb(196, 140, 60)
DECLINE = discord.Colour.from_rgb(120, 120, 130)
LINK_EMOJI = "📖"


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
    # a declined reply may carry its own heading ("Who do you mean?"); most are not found
    embed = discord.Embed(title=reply.title or "Not in my sources", description=desc, colour=DECLINE)
    if reply.question:
        embed.set_footer(text=clip(f"Asked: {reply.question}", 300))
    return fit_embed(embed)


def link_targets(reply: Reply) -> list[tuple[str, str]]:
    """(label, url) for the people and places of a reply and its further reading: the first
    five distinct usable urls, labels clipped to fit a button."""
    targets: list[tuple[str, str]] = []
    seen: set[str] = set()
    candidates = [(e.name, e.link) for e in reply.entities if e.link]
    candidates += [(lk.title, lk.url) for lk in reply.links]
    for label, url in candidates:
        if not url or url in seen or len(url) > LINK_URL:
            continue
        seen.add(url)
        targets.append((clip(label, BUTTON_LABEL), url))
        if len(targets) >= BUTTONS_PER_ROW:
            break
    return targets


def link_buttons(reply: Reply) -> list[discord.ui.Button[discord.ui.View]]:
    """Link buttons for the people and places of a reply and its further reading (max 5)."""
    return [discord.ui.Button(label=label, url=url, emoji=LINK_EMOJI) for label, url in link_targets(reply)]


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


# -- moderators --------------------------------------------------------------------------------


def problems_embed(title: str, problems: list[str], footer: str = "") -> discord.Embed:
    """Why something was refused: every reason, one per line, clipped to fit."""
    lines = [f"• {discord.utils.escape_markdown(p)}" for p in problems] or ["• refused"]
    shown: list[str] = []
    used = 0
    budget = EMBED_DESCRIPTION - 200
    for line in lines:
        line = clip(line, 600)
        if used + len(line) + 1 > budget:
            break
        shown.append(line)
        used += len(line) + 1
    if len(shown) < len(lines):
        shown.append(f"… and {len(lines) - len(shown)} more")
    embed = discord.Embed(title=title, description="\n".join(shown), colour=DECLINE)
    if footer:
        embed.set_footer(text=footer)
    return fit_embed(embed)


def history_embed(
    fact_id: str,
    title: str | None,
    versions: list[FactVersion],
    shipped: dict[str, Any] | None,
) -> discord.Embed:
    """Every version of one fact on this server: number, action, who, when, what changed."""
    lines: list[str] = []
    if shipped is not None:
        lines.append("**v0** · as shipped (`/fact revert` to version 0 restores it)")
    previous = shipped
    for v in versions:
        who = safe_user_text(v.author_name or "someone", 60)
        head = f"**v{v.version}** · {v.action} · {who} · <t:{int(v.ts)}:R>"
        if v.note:
            head += f" · {safe_user_text(v.note, 80)}"
        if v.data is None:
            detail = "hidden from this server"
        elif previous is None:
            detail = "the whole fact" if v.action != "add" else "new fact"
        else:
            changed = changed_fields(previous, v.data)
            detail = "changed: " + (", ".join(f"`{c}`" for c in changed) if changed else "nothing")
        lines.append(f"{head}\n    {detail}")
        previous = v.data if v.data is not None else previous
    budget = EMBED_DESCRIPTION - 100
    dropped = 0
    while sum(len(line) + 1 for line in lines) > budget and len(lines) > 1:
        lines.pop(1 if shipped is not None else 0)
        dropped += 1
    if dropped:
        lines.insert(0, f"… {dropped} older version(s) not shown")
    if not versions:
        lines.append("No changes on this server.")
    name = f"History · {clip(title, 200)}" if title else "History"
    embed = discord.Embed(title=name, description="\n".join(lines), colour=ACCENT)
    embed.set_footer(text=f"{fact_id} · {len(versions)} version(s)")
    return fit_embed(embed)


def stats_embed(stats: Stats, guild_facts: int) -> discord.Embed:
    """This server's questions: answer rate, busiest questions, the gaps."""
    embed = discord.Embed(title="Questions on this server", colour=ACCENT)
    rate = f"{stats.answer_rate:.0%}" if stats.total else "—"
    embed.add_field(name="Asked", value=str(stats.total), inline=True)
    embed.add_field(name="Answered", value=f"{stats.answered} ({rate})", inline=True)
    embed.add_field(name="Feedback", value=f"👍 {stats.helpful} · 👎 {stats.not_helpful}", inline=True)
    embed.add_field(name="This server's own facts", value=str(guild_facts), inline=True)

    def listing(counts: list[QuestionCount]) -> str:
        lines = [f"{i}. {safe_user_text(c.question, 120)} ×{c.count}" for i, c in enumerate(counts, 1)]
        return "\n".join(lines)

    if stats.top_questions:
        embed.add_field(name="Most asked", value=listing(stats.top_questions[:5]), inline=False)
    if stats.top_unanswered:
        gaps = listing(stats.top_unanswered[:5])
        embed.add_field(name="Most asked, not answered (gaps)", value=gaps, inline=False)
    else:
        embed.add_field(name="Gaps", value="No unanswered questions yet.", inline=False)
    return fit_embed(embed)
