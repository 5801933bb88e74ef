"""Unit tests (no network) for Discord limits, rendering and views."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest

from bot.answer import Answerer, DateRef, EntityRef, FactRef, LinkRef, Reply, SourceRef
from bot.discord_app import limits
from bot.discord_app.limits import clip, fit_embed, safe_user_text
from bot.discord_app.render import (
    ACCENT,
    DECLINE,
    entity_embed,
    link_buttons,
    quote_block,
    reply_embed,
    timeline_embed,
)
from bot.discord_app.views import AskButton, FeedbackButton, reply_view
from bot.knowledge import KnowledgePack
from bot.timeline import Timeline, TimelinePage

SOURCE = SourceRef(
    id="wikipedia-berber-revolt",
    title="Berber Revolt",
    url="https://en.wikipedia.org/wiki/Berber_Revolt",
    licence="CC BY-SA 4.0",
    licence_url="https://creativecommons.org/licenses/by-sa/4.0/",
)


def answered(**overrides: Any) -> Reply:
    fields: dict[str, Any] = {
        "question": "who started the revolt?",
        "answered": True,
        "answer": "Maysara al-Matghari led it at first.",
        "excerpt": "was led initially by Maysara al-Matghari",
        "source": SOURCE,
        "fact_id": "berber-revolt-begins-in-tangier",
        "title": "The revolt began in Tangier in 740",
        "score": 1.0,
        "date": DateRef(edtf="0740", ce="740 CE", ah="122–123 AH"),
        "entities": [
            EntityRef("maysara", "Maysara al-Matghari", "person", "https://en.wikipedia.org/wiki/Maysara"),
            EntityRef("tangier", "Tangier", "place", "https://en.wikipedia.org/wiki/Tangier"),
        ],
        "links": [LinkRef("Kharijites", "https://en.wikipedia.org/wiki/Kharijites")],
        "related": [
            FactRef("berber-revolt-spreads", "The revolt spread", "How far did it spread?"),
            FactRef("battle-of-the-nobles", "The Battle of the Nobles", "What was it?"),
        ],
    }
    fields.update(overrides)
    return Reply(**fields)


def declined(**overrides: Any) -> Reply:
    fields: dict[str, Any] = {
        "question": "best pizza in naples?",
        "answered": False,
        "message": "I couldn't find that in my sources, so I won't guess.",
        "suggestions": [
            FactRef("berber-revolt-begins-in-tangier", "The revolt began in Tangier", "Who started it?"),
            FactRef("battle-of-the-nobles", "The Battle of the Nobles", "What was it?"),
        ],
    }
    fields.update(overrides)
    return Reply(**fields)


def embed_total(embed: discord.Embed) -> int:
    return len(embed)


# -- clip ---------------------------------------------------------------------------------------


def test_clip_leaves_short_text_alone_but_strips_it() -> None:
    assert clip("  short text  ", 20) == "short text"
    assert clip("exactly ten", 11) == "exactly ten"


def test_clip_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    text = "The Berber revolt began in Tangier in 740 and spread quickly across the Maghreb"
    out = clip(text, 40)
    assert len(out) <= 40
    assert out.endswith("…")
    assert text.startswith(out[:-1])
    assert out[:-1] == out[:-1].rstrip()  # no dangling space
    assert text[len(out) - 1] == " "  # the cut fell between words
    assert out == "The Berber revolt began in Tangier in…"


def test_clip_hard_cuts_a_single_long_word() -> None:
    out = clip("x" * 500, 100)
    assert len(out) == 100 and out.endswith("…")


def test_clip_drops_trailing_punctuation_before_the_ellipsis() -> None:
    out = clip("one, two, three, four, five, six", 12)
    assert out == "one, two…"


@pytest.mark.parametrize("limit", [1, 2, 5, 80, 100, 256])
def test_clip_never_exceeds_the_limit(limit: int) -> None:
    for text in ["a " * 300, "word" * 300, "é" * 1000, "x"]:
        assert len(clip(text, limit)) <= limit


# -- fit_embed ----------------------------------------------------------------------------------


def test_fit_embed_trims_oversize_title_description_and_footer() -> None:
    embed = discord.Embed(title="t " * 200, description="d " * 3000)
    embed.set_footer(text="f " * 1500)
    fit_embed(embed)
    assert embed.title and len(embed.title) <= limits.EMBED_TITLE and embed.title.endswith("…")
    assert embed.description and len(embed.description) <= limits.EMBED_DESCRIPTION
    assert embed.footer.text and len(embed.footer.text) <= limits.FOOTER
    assert embed_total(embed) <= limits.EMBED_TOTAL


def test_fit_embed_trims_fields_and_keeps_at_most_25() -> None:
    embed = discord.Embed(title="Fields")
    for i in range(30):
        embed.add_field(name=f"name {i} " + "n" * 300, value="v " * 800, inline=i % 2 == 0)
    fit_embed(embed)
    assert len(embed.fields) <= limits.EMBED_FIELDS
    for f in embed.fields:
        assert f.name and len(f.name) <= limits.FIELD_NAME
        assert f.value and len(f.value) <= limits.FIELD_VALUE
    assert embed_total(embed) <= limits.EMBED_TOTAL
    # the first fields are kept, in order, with their inline flags
    assert embed.fields[0].name.startswith("name 0 ") and embed.fields[0].inline
    assert embed.fields[1].name.startswith("name 1 ") and not embed.fields[1].inline


def test_fit_embed_drops_last_fields_then_shortens_description_to_6000() -> None:
    embed = discord.Embed(title="Big", description="word " * 820)  # 4096 after clipping
    for i in range(3):
        embed.add_field(name=f"field {i}", value="v" * 1000)
    fit_embed(embed)
    assert embed_total(embed) <= limits.EMBED_TOTAL
    assert [f.name for f in embed.fields] == ["field 0"]  # the tail goes first

    only_text = discord.Embed(title="t" * 256, description="d" * 4096)
    only_text.set_footer(text="f" * 2048)
    fit_embed(only_text)
    assert embed_total(only_text) <= limits.EMBED_TOTAL
    assert only_text.description and only_text.description.endswith("…")
    assert only_text.footer.text == "f" * 2048


def test_fit_embed_never_leaves_a_field_empty() -> None:
    embed = discord.Embed(title="Empty")
    embed.add_field(name="", value="")
    embed.add_field(name="   ", value="   ")
    fit_embed(embed)
    for f in embed.fields:
        assert f.name and f.value  # Discord rejects empty field names and values


def test_fit_embed_leaves_a_small_embed_unchanged() -> None:
    embed = discord.Embed(title="Small", description="Nothing to trim.")
    embed.add_field(name="When", value="740 CE", inline=True)
    before = embed.to_dict()
    assert fit_embed(embed).to_dict() == before


# -- safe_user_text -----------------------------------------------------------------------------

ROLE = "<@&123456789012345678>"
USER = "<@123456789012345678>"
NICK = "<@!123456789012345678>"


@pytest.mark.parametrize("ping", ["@everyone", "@here", ROLE, USER, NICK])
def test_safe_user_text_defuses_mentions(ping: str) -> None:
    out = safe_user_text(f"hey {ping} look")
    assert ping not in out
    assert "\u200b" in out  # escaped with a zero-width space, still readable


def test_safe_user_text_escapes_markdown() -> None:
    out = safe_user_text("**bold** __under__ `code` ~~gone~~ ||spoiler||")
    assert "**" not in out.replace("\\*", "")
    assert out.startswith("\\*\\*bold\\*\\*")
    assert "\\`code\\`" in out and "\\|\\|spoiler\\|\\|" in out


def test_safe_user_text_is_bounded() -> None:
    out = safe_user_text("@everyone " * 100, 50)
    assert len(out) <= 50 and out.endswith("…")
    assert "@everyone" not in out


# -- reply_embed --------------------------------------------------------------------------------


def test_quote_block_prefixes_every_line() -> None:
    assert quote_block("one\n\ntwo") == "> one\n>\n> two"
    assert quote_block("") == ">"


def test_reply_embed_for_an_answer() -> None:
    embed = reply_embed(answered())
    assert embed.title == "The revolt began in Tangier in 740"
    assert embed.colour == ACCENT
    assert embed.description == (
        "Maysara al-Matghari led it at first.\n\n> was led initially by Maysara al-Matghari"
    )
    fields = {f.name: f for f in embed.fields}
    assert fields["When"].value == "740 CE · 122–123 AH" and fields["When"].inline
    assert fields["Source"].value == (
        "[Berber Revolt](https://en.wikipedia.org/wiki/Berber_Revolt) · "
        "[CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/)"
    )
    assert fields["Ask next"].value == "• The revolt spread\n• The Battle of the Nobles"
    assert not fields["Ask next"].inline
    assert embed.footer.text == "Asked: who started the revolt?"


def test_reply_embed_escapes_markdown_in_the_excerpt_and_quotes_every_line() -> None:
    embed = reply_embed(answered(excerpt="a *starred* line\nand a second __one__"))
    assert embed.description
    quote = embed.description.split("\n\n", 1)[1]
    assert quote == "> a \\*starred\\* line\n> and a second \\_\\_one\\_\\_"


def test_reply_embed_variants() -> None:
    bare = reply_embed(answered(excerpt=None, date=None, source=None, related=[], title=None))
    assert bare.title == "Answer"
    assert bare.description == "Maysara al-Matghari led it at first."
    assert bare.fields == []

    guild = reply_embed(answered(source=None, origin="guild"))
    assert {f.name: f.value for f in guild.fields}["Source"] == "Added by the moderators of this server"

    plain_licence = reply_embed(answered(source=SourceRef("s", "A book", "https://example.org/b", "PD")))
    assert {f.name: f.value for f in plain_licence.fields}["Source"] == "[A book](https://example.org/b) · PD"

    corrected = reply_embed(answered(corrections={"maisara": "maysara"}))
    assert corrected.footer.text == "Asked: who started the revolt? · read as: maisara→maysara"


def test_reply_embed_for_an_oversize_answer_fits() -> None:
    embed = reply_embed(
        answered(
            question="q" * 600,
            title="T " * 300,
            answer="word " * 1000,
            excerpt="quote " * 1000,
            related=[FactRef(f"f{i}", "r " * 200, "?") for i in range(3)],
        )
    )
    assert embed.title and len(embed.title) <= limits.EMBED_TITLE
    assert embed.description and len(embed.description) <= limits.EMBED_DESCRIPTION
    assert embed.footer.text and len(embed.footer.text) <= 300
    assert embed_total(embed) <= limits.EMBED_TOTAL
    assert all(len(f.value or "") <= limits.FIELD_VALUE for f in embed.fields)


def test_reply_embed_for_a_decline() -> None:
    embed = reply_embed(declined())
    assert embed.title == "Not in my sources"
    assert embed.colour == DECLINE
    assert embed.description == (
        "I couldn't find that in my sources, so I won't guess.\n\n"
        "**Did you mean:**\n• The revolt began in Tangier\n• The Battle of the Nobles"
    )
    assert embed.footer.text == "Asked: best pizza in naples?"
    assert embed.fields == []

    nothing = reply_embed(declined(suggestions=[], question=""))
    assert nothing.description == "I couldn't find that in my sources, so I won't guess."
    assert not nothing.footer.text


def test_a_question_back_renders_under_its_own_heading(answerer: Answerer) -> None:
    from bot.answer import Conversation

    conv = Conversation()
    answerer.ask("what was the battle of bagdoura", conv)
    reply = answerer.ask("when did he die?", conv)
    embed = reply_embed(reply)
    assert embed.title == "Who do you mean?" and embed.colour == DECLINE
    assert embed.description is not None and embed.description.startswith("Who do you mean by “he”?")
    assert "**Did you mean:**" in embed.description


def test_real_replies_render_within_limits(answerer: Answerer) -> None:
    for question in ["who started the berber revolt?", "what's the best pizza in naples?", "x" * 500]:
        embed = reply_embed(answerer.ask(question))
        assert embed.title and embed.description
        assert embed_total(embed) <= limits.EMBED_TOTAL


# -- link buttons ---------------------------------------------------------------------------------


def test_link_buttons_are_links_deduplicated_and_at_most_five() -> None:
    url = "https://en.wikipedia.org/wiki/"
    reply = answered(
        entities=[EntityRef(f"e{i}", f"Entity {i}", "person", f"{url}E{i % 3}") for i in range(6)]
        + [EntityRef("nolink", "No link", "place", None)],
        links=[LinkRef(f"Link {i}", f"{url}L{i}") for i in range(5)] + [LinkRef("Dup", f"{url}E0")],
    )
    got = link_buttons(reply)
    assert len(got) == limits.BUTTONS_PER_ROW
    urls = [b.url for b in got]
    assert len(set(urls)) == len(urls)
    assert urls == [f"{url}E0", f"{url}E1", f"{url}E2", f"{url}L0", f"{url}L1"]
    assert all(b.style is discord.ButtonStyle.link and b.custom_id is None for b in got)


def test_link_buttons_clip_labels_and_skip_overlong_urls() -> None:
    reply = answered(
        entities=[EntityRef("long", "L" * 200, "person", "https://example.org/ok")],
        links=[LinkRef("too long", "https://example.org/" + "x" * 600)],
    )
    got = link_buttons(reply)
    assert [b.url for b in got] == ["https://example.org/ok"]
    assert got[0].label and len(got[0].label) <= limits.BUTTON_LABEL
    assert link_buttons(answered(entities=[], links=[])) == []


# -- views ------------------------------------------------------------------------------------------


def rows(view: discord.ui.View) -> list[list[dict[str, Any]]]:
    return [row["components"] for row in view.to_components()]


async def test_reply_view_rows_for_an_answer() -> None:
    view = reply_view(answered(), "0123456789abcdef0123")
    assert view is not None and view.timeout is None  # persistent
    links_row, ask_row, feedback_row = rows(view)
    assert [b["style"] for b in links_row] == [5, 5, 5]
    assert [b["url"] for b in links_row] == [
        "https://en.wikipedia.org/wiki/Maysara",
        "https://en.wikipedia.org/wiki/Tangier",
        "https://en.wikipedia.org/wiki/Kharijites",
    ]
    assert [b["custom_id"] for b in ask_row] == [
        "tarikh:ask:berber-revolt-spreads",
        "tarikh:ask:battle-of-the-nobles",
    ]
    assert [b["label"] for b in ask_row] == ["The revolt spread", "The Battle of the Nobles"]
    assert [b["custom_id"] for b in feedback_row] == [
        "tarikh:fb:0123456789abcdef0123:1",
        "tarikh:fb:0123456789abcdef0123:0",
    ]
    for row in rows(view):
        assert len(row) <= limits.BUTTONS_PER_ROW
        for b in row:
            assert len(b.get("custom_id", "")) <= limits.CUSTOM_ID
            assert len(b.get("label", "")) <= limits.BUTTON_LABEL


async def test_reply_view_limits_ask_next_to_three_and_needs_a_query_id_for_feedback() -> None:
    related = [FactRef(f"fact-{i}", f"Fact {i}", "?") for i in range(6)]
    view = reply_view(answered(related=related, entities=[], links=[]), None)
    assert view is not None
    (ask_row,) = rows(view)
    assert [b["custom_id"] for b in ask_row] == [
        "tarikh:ask:fact-0",
        "tarikh:ask:fact-1",
        "tarikh:ask:fact-2",
    ]


async def test_reply_view_for_a_decline_offers_suggestions_without_feedback() -> None:
    view = reply_view(declined(), "0123456789abcdef0123")
    assert view is not None
    (ask_row,) = rows(view)
    assert [b["custom_id"] for b in ask_row] == [
        "tarikh:ask:berber-revolt-begins-in-tangier",
        "tarikh:ask:battle-of-the-nobles",
    ]
    assert reply_view(declined(suggestions=[]), "0123456789abcdef0123") is None


def discord_py_rows(reply: Reply, query_id: str | None) -> list[dict[str, Any]]:
    """What the same buttons built from discord.py's own items (a View of Buttons and the
    AskButton / FeedbackButton DynamicItems) serialise to."""
    view = discord.ui.View(timeout=None)
    for button in link_buttons(reply):
        button.row = 0
        view.add_item(button)
    for ref in (reply.related if reply.answered else reply.suggestions)[:3]:
        view.add_item(AskButton(ref.fact_id, ref.title, row=1))
    if reply.answered and query_id:
        view.add_item(FeedbackButton(query_id, True, row=2))
        view.add_item(FeedbackButton(query_id, False, row=2))
    return view.to_components()


async def test_reply_view_json_is_what_discord_py_items_would_send(answerer: Answerer) -> None:
    """The reply's buttons are written as JSON directly (for speed); it must be exactly the JSON
    discord.py's Button / DynamicItem objects produce, and discord.py need not track the view."""
    replies = [answered(), declined(), answered(related=[], entities=[], links=[])]
    replies += [answerer.ask(q) for q in ("who started the revolt?", "battle of the nobles", "pizza")]
    for reply in replies:
        for qid in ("0123456789abcdef0123", None):
            view = reply_view(reply, qid)
            expected = discord_py_rows(reply, qid)
            assert (view.to_components() if view else []) == expected
            if view is not None:
                assert view.is_finished() and not view.is_dispatchable()
                assert not view.has_components_v2()


def test_fit_embed_leaves_an_embed_that_fits_as_it_was() -> None:
    embed = discord.Embed(title="t", description="d").add_field(name="a", value="b", inline=True)
    embed.set_footer(text="f")
    before = embed.to_dict()
    assert fit_embed(embed).to_dict() == before
    bare = fit_embed(discord.Embed(title="t"))
    assert bare.to_dict()["fields"] == []  # as it always was


async def test_every_fact_id_fits_the_persistent_button_template(pack: KnowledgePack) -> None:
    """A fact id the AskButton regex can't match would make its button fail after a restart."""
    template = AskButton.__discord_ui_compiled_template__
    for fact_id in pack.facts:
        button = AskButton(fact_id, pack.facts[fact_id].title)
        assert template.fullmatch(button.custom_id), fact_id
        assert len(button.custom_id) <= limits.CUSTOM_ID
    qid = "0123456789abcdef0123"
    for helpful in (True, False):
        fb = FeedbackButton(qid, helpful)
        match = FeedbackButton.__discord_ui_compiled_template__.fullmatch(fb.custom_id)
        assert match and match["qid"] == qid and match["v"] == str(int(helpful))


# -- other cards --------------------------------------------------------------------------------------


def test_entity_embed_lists_facts_and_fits(pack: KnowledgePack) -> None:
    entity = pack.entities["maysara-al-matghari"]
    embed = entity_embed(pack, entity)
    assert embed.title == "Maysara al-Matghari"
    assert embed.url == entity.link
    facts = pack.facts_about(entity.id)
    listing = {f.name: f.value for f in embed.fields}[f"In {len(facts)} fact(s)"]
    assert listing and listing.startswith(f"• {facts[0].title}")
    if len(facts) > 10:
        assert listing.endswith(f"… and {len(facts) - 10} more")
    assert embed_total(embed) <= limits.EMBED_TOTAL


def test_timeline_embed(pack: KnowledgePack) -> None:
    empty = timeline_embed(TimelinePage([], 0, 1, 0, "From 1900 CE to 1901 CE", "both"))
    assert empty.description == "No dated events in that range."
    page = Timeline(pack).page(calendar="ah")
    embed = timeline_embed(page)
    assert embed.footer.text == f"Page 1 of {page.pages} · {page.total} events"
    assert embed.description
    assert all(re.match(r"\*\*.+ AH\*\* — ", line) for line in embed.description.splitlines())


def test_discord_markup_is_removed_from_questions() -> None:
    from bot.discord_app.cogs.ask import strip_markup

    assert strip_markup("<@123> @everyone @here <@&9> <#5> who was <:x:77> maysara") == "who was maysara"
