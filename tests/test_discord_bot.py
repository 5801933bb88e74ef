"""End-to-end tests: the real Tarikh bot against the local Discord stand-in.

Nothing in the bot or in discord.py is mocked. Each test starts a fresh stand-in (REST +
gateway on 127.0.0.1), builds the bot with ``create_bot(settings, answerer)``, lets the bot's
own ``configure_endpoints(settings)`` point discord.py at the stand-in (the code path
``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL`` take in production), and asserts on what a user
would see: the REST requests the bot makes.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yarl
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord_standin import DiscordStandin, RecordedRequest, running_bot

from bot.answer import Answerer
from bot.config import Settings
from bot.discord_app.client import configure_endpoints, create_bot
from bot.discord_app.heartbeat import gateway_open

TOKEN = "tarikh-test-token"
EPHEMERAL = 1 << 6
BERBER_REVOLT = "https://en.wikipedia.org/wiki/Berber_Revolt"

JSON = dict[str, Any]
MESSAGE_KINDS = ("interaction_callback", "followup", "create_message")  # requests that post a message


# -- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_log_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """The query log batches for 0.5 s; shutdown would wait that out in every test."""
    monkeypatch.setattr("bot.querylog.FLUSH_INTERVAL", 0.01)


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The bot logs nothing at ERROR level in any of these (normal) conversations."""
    caplog.set_level(logging.WARNING)
    yield
    records = caplog.get_records("setup") + caplog.get_records("call") + caplog.records
    errors = [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]
    assert not errors, errors


@pytest.fixture(autouse=True)
def restore_discord_endpoints() -> Iterator[None]:
    """configure_endpoints() changes discord.py globals; put them back after every test."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandin]:
    # The stand-in insists on the token the settings carry.
    async with DiscordStandin(token=TOKEN) as server:
        yield server


@pytest.fixture
def settings(standin: DiscordStandin, tmp_path: Path) -> Settings:
    return Settings(
        discord_token=TOKEN,
        guild_id=standin.guild_id,  # commands are synced to the test guild, so options get real types
        database=tmp_path / "tarikh.db",
        api_base=standin.api_base,
        gateway_url=standin.gateway_url,
        cooldown_rate=100,
        cooldown_per=60.0,
    )


@contextlib.asynccontextmanager
async def tarikh(
    standin: DiscordStandin, settings: Settings, answerer: Answerer
) -> AsyncIterator[commands.Bot]:
    """The production wiring: configure_endpoints(settings), create_bot(settings, answerer)."""
    configure_endpoints(settings)
    assert standin.api_base == Route.BASE
    assert yarl.URL(standin.gateway_url) == DiscordWebSocket.DEFAULT_GATEWAY
    bot = create_bot(settings, answerer)
    # patch=False: the endpoints come from the bot's own code above. Interactions and
    # messages are handled before on_ready, so don't wait out guild_ready_timeout.
    async with running_bot(
        bot, standin, token=settings.discord_token or "", patch=False, wait_for_on_ready=False
    ):
        yield bot
    # Whatever the test did: no message the bot sent could have pinged anyone.
    for r in standin.requests:
        if r.kind in MESSAGE_KINDS and r.callback_type not in (5, 6, 8, 9):
            assert (r.message_data.get("allowed_mentions") or {}).get("parse") == [], r


@pytest.fixture
async def bot(standin: DiscordStandin, settings: Settings, answerer: Answerer) -> AsyncIterator[commands.Bot]:
    async with tarikh(standin, settings, answerer) as running:
        yield running


async def ask(standin: DiscordStandin, question: str, **kwargs: Any) -> RecordedRequest:
    sent = await standin.slash_command("ask", {"question": question}, **kwargs)
    return await standin.wait_for_response(sent)


async def reply_to_message(standin: DiscordStandin, message: JSON, since: int) -> RecordedRequest:
    """The bot's channel message replying to ``message``."""

    def is_reply(r: RecordedRequest) -> bool:
        if r.kind != "create_message" or not r.ok or not isinstance(r.json, dict):
            return False
        ref = r.json.get("message_reference") or {}
        return str(ref.get("message_id")) == message["id"]

    return await standin.wait_for_request(is_reply, since=since)


def embed_of(rec: RecordedRequest) -> JSON:
    embeds = rec.message_data.get("embeds") or []
    assert len(embeds) == 1, rec.message_data
    return embeds[0]


def field(embed: JSON, name: str) -> str:
    for f in embed.get("fields") or []:
        if f["name"] == name:
            return f["value"]
    raise AssertionError(f"no field {name!r} in {[f['name'] for f in embed.get('fields') or []]}")


def buttons(data: JSON) -> list[JSON]:
    out: list[JSON] = []
    for row in data.get("components") or []:
        assert row["type"] == 1
        out.extend(row["components"])
    return out


def custom_ids(data: JSON, prefix: str = "") -> list[str]:
    return [b["custom_id"] for b in buttons(data) if b.get("custom_id", "").startswith(prefix)]


def flags(rec: RecordedRequest) -> int:
    return int(rec.message_data.get("flags") or 0)


def embed_texts(embed: JSON) -> list[str]:
    texts = [embed.get("title") or "", embed.get("description") or ""]
    for f in embed.get("fields") or []:
        texts += [f["name"], f["value"]]
    texts.append((embed.get("footer") or {}).get("text") or "")
    return texts


def assert_within_limits(embed: JSON) -> None:
    assert len(embed.get("title") or "") <= 256
    assert len(embed.get("description") or "") <= 4096
    assert len(embed.get("fields") or []) <= 25
    for f in embed.get("fields") or []:
        assert len(f["name"]) <= 256 and len(f["value"]) <= 1024
    assert len((embed.get("footer") or {}).get("text") or "") <= 2048
    assert sum(len(t) for t in embed_texts(embed)) <= 6000


def assert_no_pings(data: JSON) -> None:
    """Nothing in a message the bot sends can notify anyone."""
    mentions = data.get("allowed_mentions")
    assert mentions is not None, f"no allowed_mentions in {data}"
    assert mentions.get("parse") == []
    assert not mentions.get("users") and not mentions.get("roles")
    assert not mentions.get("replied_user")
    content = data.get("content") or ""
    assert "@everyone" not in content and "@here" not in content


def assert_no_failures(standin: DiscordStandin) -> None:
    failed = [f"{r.method} {r.path} -> {r.status} {r.response}" for r in standin.requests if not r.ok]
    assert not failed, failed
    assert not standin.unhandled
    assert not standin.errors


def old_message(standin: DiscordStandin, *button_ids: str) -> JSON:
    """A message the bot sent in an earlier life, carrying buttons with these custom_ids."""
    row = [{"type": 2, "style": 2, "label": cid.split(":")[1], "custom_id": cid} for cid in button_ids]
    return {
        "id": str(standin.snowflake()),
        "channel_id": str(standin.channel_id),
        "guild_id": str(standin.guild_id),
        "author": standin.bot_user,
        "content": "",
        "embeds": [],
        "components": [{"type": 1, "components": row}],
        "type": 0,
        "flags": 0,
        "timestamp": "2024-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "pinned": False,
    }


# -- 1. /ask -------------------------------------------------------------------------------


async def test_ask_answers_with_quote_source_date_and_buttons(
    standin: DiscordStandin, bot: commands.Bot
) -> None:
    rec = await ask(standin, "who started the berber revolt?")
    assert rec.callback_type == 4  # answered directly, in public
    data = rec.message_data
    assert not flags(rec) & EPHEMERAL
    embed = embed_of(rec)
    assert "Maysara" in embed["description"]
    assert "\n> " in embed["description"]  # the excerpt, verbatim, as a block quote
    source = field(embed, "Source")
    assert f"({BERBER_REVOLT})" in source and "CC BY-SA 4.0" in source
    when = field(embed, "When")
    assert "CE" in when and "AH" in when
    assert embed["footer"]["text"] == "Asked: who started the berber revolt?"

    all_buttons = buttons(data)
    assert any(b.get("url", "").startswith("https://") and b["style"] == 5 for b in all_buttons)
    assert custom_ids(data, "tarikh:ask:")
    assert sorted(i[-1] for i in custom_ids(data, "tarikh:fb:")) == ["0", "1"]
    assert data["allowed_mentions"]["parse"] == []
    assert_no_failures(standin)


# -- 2. autocomplete -----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["revolt in tanjer", "who startd the berber revlt"])
async def test_ask_autocomplete_suggests_relevant_questions(
    standin: DiscordStandin, bot: commands.Bot, typed: str
) -> None:
    sent = await standin.autocomplete("ask", {"question": typed})
    rec = await standin.wait_for_response(sent)
    assert rec.callback_type == 8
    choices = rec.json["data"]["choices"]
    assert 0 < len(choices) <= 25
    assert all(0 < len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    assert len({c["name"].lower() for c in choices}) == len(choices)
    assert any("tangier" in c["name"].lower() or "revolt" in c["name"].lower() for c in choices[:3])


async def test_ask_autocomplete_with_nothing_typed_offers_questions(
    standin: DiscordStandin, bot: commands.Bot
) -> None:
    sent = await standin.autocomplete("ask", {"question": ""})
    choices = (await standin.wait_for_response(sent)).json["data"]["choices"]
    assert 0 < len(choices) <= 25


# -- 3. "ask next" buttons -------------------------------------------------------------------


async def test_ask_next_button_answers_in_place_for_the_clicker(
    standin: DiscordStandin, bot: commands.Bot, answerer: Answerer
) -> None:
    first = await ask(standin, "who started the berber revolt?")
    first_title = embed_of(first)["title"]
    custom_id = custom_ids(first.message_data, "tarikh:ask:")[0]
    fact_id = custom_id.removeprefix("tarikh:ask:")

    other = standin.make_user("curious")
    click = await standin.click_button(custom_id, first, user=other)
    rec = await standin.wait_for_response(click)
    assert rec.callback_type == 4
    assert flags(rec) & EPHEMERAL  # only the clicker sees it; the original stays as it was
    embed = embed_of(rec)
    assert embed["title"] != first_title
    assert embed["title"] == answerer.pack.facts[fact_id].title
    assert "Source" in [f["name"] for f in embed["fields"]]
    assert rec.message_data["allowed_mentions"]["parse"] == []
    assert_no_failures(standin)


async def test_persistent_buttons_work_on_messages_from_before_a_restart(
    standin: DiscordStandin, bot: commands.Bot, answerer: Answerer
) -> None:
    """The state is in the custom_id, so a button on an old message still works."""
    fact_id = "battle-of-the-nobles"
    assert fact_id in answerer.pack.facts
    old = old_message(standin, f"tarikh:ask:{fact_id}", "tarikh:fb:0123456789abcdef:1")
    rec = await standin.wait_for_response(await standin.click_button(f"tarikh:ask:{fact_id}", old))
    assert embed_of(rec)["title"] == answerer.pack.facts[fact_id].title
    rec = await standin.wait_for_response(await standin.click_button("tarikh:fb:0123456789abcdef:1", old))
    assert flags(rec) & EPHEMERAL and "Thanks" in rec.message_data["content"]


# -- 4. declines -----------------------------------------------------------------------------


async def test_question_outside_the_sources_is_declined_with_suggestions(
    standin: DiscordStandin, bot: commands.Bot
) -> None:
    rec = await ask(standin, "what's the best pizza in naples?")
    embed = embed_of(rec)
    assert embed["title"] == "Not in my sources"
    assert "Did you mean" in embed["description"]
    suggestions = custom_ids(rec.message_data, "tarikh:ask:")
    assert 1 <= len(suggestions) <= 3
    assert not custom_ids(rec.message_data, "tarikh:fb:")  # no feedback on a decline
    # a did-you-mean button answers
    answer = await standin.wait_for_response(await standin.click_button(suggestions[0], rec))
    assert embed_of(answer)["title"] != "Not in my sources"
    assert_no_failures(standin)


# -- 5. mentions never ping ------------------------------------------------------------------

PINGS = "@everyone @here <@&123> who was maysara"


async def test_slash_question_with_mass_mentions_pings_nobody(
    standin: DiscordStandin, bot: commands.Bot
) -> None:
    rec = await ask(standin, PINGS)
    assert_no_pings(rec.message_data)
    assert embed_of(rec)["title"]  # answered or declined, but a proper reply
    # user text echoed in message content is escaped
    sent = await standin.slash_command("who", {"name": "@everyone"})
    rec = await standin.wait_for_response(sent)
    assert flags(rec) & EPHEMERAL
    assert "I don't know" in rec.message_data["content"]
    assert "@\u200beveryone" in rec.message_data["content"]  # quoted back, defused
    assert_no_pings(rec.message_data)
    assert_no_failures(standin)


async def test_mention_with_mass_mentions_pings_nobody(standin: DiscordStandin, bot: commands.Bot) -> None:
    since = len(standin.requests)
    msg = await standin.mention_message(PINGS)
    rec = await reply_to_message(standin, msg, since)
    assert_no_pings(rec.json)
    assert rec.json["embeds"]
    for r in standin.requests[since:]:
        if isinstance(r.json, dict) and r.json.get("content"):
            assert "@everyone" not in r.json["content"]


# -- 6. mentions and DMs ---------------------------------------------------------------------


async def test_mention_gets_a_reply_with_the_answer(standin: DiscordStandin, bot: commands.Bot) -> None:
    since = len(standin.requests)
    msg = await standin.mention_message("when was the battle of the nobles")
    rec = await reply_to_message(standin, msg, since)
    assert rec.path == f"/channels/{standin.channel_id}/messages"
    embed = rec.json["embeds"][0]
    assert "Nobles" in embed["title"]
    assert "740" in field(embed, "When")
    assert_no_pings(rec.json)
    assert custom_ids(rec.json, "tarikh:fb:")
    assert_no_failures(standin)


async def test_direct_message_without_mention_is_answered(standin: DiscordStandin, bot: commands.Bot) -> None:
    since = len(standin.requests)
    msg = await standin.user_message("when was the battle of the nobles", guild=False)
    rec = await reply_to_message(standin, msg, since)
    assert rec.path == f"/channels/{standin.dm_channel()['id']}/messages"
    assert "Nobles" in rec.json["embeds"][0]["title"]
    # /ask works in DMs too
    slash = await ask(standin, "who started the berber revolt?", guild=False)
    assert "Maysara" in embed_of(slash)["description"]
    assert_no_failures(standin)


async def test_bare_mention_gets_short_help(standin: DiscordStandin, bot: commands.Bot) -> None:
    since = len(standin.requests)
    msg = await standin.mention_message("")
    rec = await reply_to_message(standin, msg, since)
    assert "/ask" in rec.json["content"]
    assert len(rec.json["content"]) < 300
    assert not rec.json.get("embeds")
    assert_no_pings(rec.json)


async def test_plain_channel_chatter_is_ignored(standin: DiscordStandin, bot: commands.Bot) -> None:
    since = len(standin.requests)
    await standin.user_message("who started the berber revolt?")  # no mention, in a guild
    # a mention afterwards is answered, and is the only thing the bot said
    msg = await standin.mention_message("who started the berber revolt?")
    await reply_to_message(standin, msg, since)
    sent = [r for r in standin.requests[since:] if r.kind == "create_message"]
    assert len(sent) == 1


# -- 7. follow-ups -----------------------------------------------------------------------------


async def test_follow_ups_use_the_channel_and_user_context(
    standin: DiscordStandin, bot: commands.Bot, answerer: Answerer
) -> None:
    first = embed_of(await ask(standin, "who led the revolt at first?"))
    assert "Maysara" in first["description"]

    # "he" is Maysara, from the last answer in this channel for this user
    second = embed_of(await ask(standin, "when did he die?"))
    assert second["title"] not in ("Not in my sources", first["title"])
    assert "Maysara" in second["description"]

    # "what happened next?" moves on from the last answer, in story order
    fact = next(f for f in answerer.pack.facts.values() if f.title == second["title"])
    _, expected = answerer.engine.neighbours(fact.id)
    assert expected is not None
    third = embed_of(await ask(standin, "what happened next?"))
    assert third["title"] == expected.title

    # the same words from someone else in the channel have no context to lean on ...
    stranger = standin.make_user("stranger")
    theirs = embed_of(await ask(standin, "what happened next?", user=stranger))
    assert theirs["title"] == "Not in my sources"
    # ... nor from the same user somewhere else (a DM)
    since = len(standin.requests)
    msg = await standin.user_message("what happened next?", guild=False)
    elsewhere = await reply_to_message(standin, msg, since)
    assert elsewhere.json["embeds"][0]["title"] == "Not in my sources"


# -- 8. /timeline ------------------------------------------------------------------------------


async def test_timeline_pages_for_the_invoker_only(standin: DiscordStandin, bot: commands.Bot) -> None:
    sent = await standin.slash_command("timeline", {"from": "740", "to": "741"})
    rec = await standin.wait_for_response(sent)
    embed = embed_of(rec)
    assert embed["title"] == "Timeline · From 740 CE to 741 CE"
    assert embed["footer"]["text"].startswith("Page 1 of ")
    assert "CE" in embed["description"] and "AH" in embed["description"]  # calendar defaults to both
    pager = {b["label"]: b for b in buttons(rec.message_data)}
    assert pager["Previous"].get("disabled") is True
    assert not pager["Next"].get("disabled")

    # the invoker turns the page: the message is edited in place
    click = await standin.click_button(pager["Next"]["custom_id"], rec)
    turned = await standin.wait_for_response(click)
    assert turned.callback_type == 7
    assert embed_of(turned)["footer"]["text"].startswith("Page 2 of ")
    assert embed_of(turned)["description"] != embed["description"]

    # someone else is told (ephemerally) to run their own; the page doesn't move
    other = standin.make_user("neighbour")
    click = await standin.click_button(pager["Next"]["custom_id"], rec, user=other)
    refused = await standin.wait_for_response(click)
    assert refused.callback_type == 4 and flags(refused) & EPHEMERAL
    assert "Only the person who opened this timeline" in refused.message_data["content"]
    message = standin.messages[int(rec.response["resource"]["message"]["id"])]
    assert message["embeds"][0]["footer"]["text"].startswith("Page 2 of ")
    assert_no_failures(standin)


async def test_timeline_in_hijri_years(standin: DiscordStandin, bot: commands.Bot) -> None:
    sent = await standin.slash_command("timeline", {"from": "122", "to": "123", "calendar": "ah"})
    embed = embed_of(await standin.wait_for_response(sent))
    assert embed["title"] == "Timeline · From 122 AH to 123 AH"
    lines = embed["description"].splitlines()
    assert lines and all("AH**" in line for line in lines)
    assert " CE**" not in embed["description"]


async def test_timeline_rejects_a_bad_year(standin: DiscordStandin, bot: commands.Bot) -> None:
    sent = await standin.slash_command("timeline", {"from": "abc"})
    rec = await standin.wait_for_response(sent)
    assert rec.callback_type == 4 and flags(rec) & EPHEMERAL
    assert "not a year" in rec.message_data["content"]
    assert not rec.message_data.get("embeds")
    assert_no_failures(standin)


# -- 9. /who and /where --------------------------------------------------------------------------


async def test_who_and_where_find_misspelt_names(standin: DiscordStandin, bot: commands.Bot) -> None:
    who = await standin.wait_for_response(await standin.slash_command("who", {"name": "maisara"}))
    card = embed_of(who)
    assert card["title"] == "Maysara al-Matghari"
    assert field(card, "Kind") == "person"
    assert card["url"] == "https://en.wikipedia.org/wiki/Maysara_al-Matghari"
    assert not flags(who) & EPHEMERAL

    where = await standin.wait_for_response(await standin.slash_command("where", {"place": "kairwan"}))
    assert embed_of(where)["title"] == "Kairouan"

    sent = await standin.slash_command("where", {"place": "zzqxv blorp"})
    unknown = await standin.wait_for_response(sent)
    assert flags(unknown) & EPHEMERAL
    assert unknown.message_data["content"].startswith("I don't know anywhere called")
    assert_no_failures(standin)


async def test_who_autocomplete_offers_entities(standin: DiscordStandin, bot: commands.Bot) -> None:
    sent = await standin.autocomplete("who", {"name": "maisa"})
    choices = (await standin.wait_for_response(sent)).json["data"]["choices"]
    assert 0 < len(choices) <= 25
    assert choices[0]["value"] == "maysara-al-matghari"


# -- 10. /about and /help ---------------------------------------------------------------------------


async def test_about_shows_sources_licence_and_counts(
    standin: DiscordStandin, bot: commands.Bot, answerer: Answerer
) -> None:
    rec = await standin.wait_for_response(await standin.slash_command("about"))
    assert not flags(rec) & EPHEMERAL
    embed = embed_of(rec)
    pack = answerer.pack
    assert field(embed, "Facts") == str(len(pack.facts))
    assert field(embed, "Dated events") == str(len(pack.dated_facts()))
    assert field(embed, "People, places, groups") == str(len(pack.entities))
    source = field(embed, "Source")
    assert BERBER_REVOLT in source and "CC BY-SA 4.0" in source
    assert_within_limits(embed)


async def test_help_is_ephemeral(standin: DiscordStandin, bot: commands.Bot) -> None:
    rec = await standin.wait_for_response(await standin.slash_command("help"))
    assert flags(rec) & EPHEMERAL
    assert "/ask" in embed_of(rec)["description"]


# -- 11. the query log ------------------------------------------------------------------------------


async def test_query_log_records_questions_and_feedback(
    standin: DiscordStandin, settings: Settings, answerer: Answerer
) -> None:
    user_id = int(standin.user["id"])
    async with tarikh(standin, settings, answerer) as bot:
        answered = await ask(standin, "who started the berber revolt?")
        await ask(standin, "what's the best pizza in naples?")
        since = len(standin.requests)
        msg = await standin.mention_message("when was the battle of the nobles")
        await reply_to_message(standin, msg, since)
        next_button = custom_ids(answered.message_data, "tarikh:ask:")[0]
        await standin.wait_for_response(await standin.click_button(next_button, answered))
        helpful = next(i for i in custom_ids(answered.message_data, "tarikh:fb:") if i.endswith(":1"))
        thanks = await standin.wait_for_response(await standin.click_button(helpful, answered))
        assert flags(thanks) & EPHEMERAL and "Thanks" in thanks.message_data["content"]
        qid = helpful.split(":")[2]
    # leaving the block closed the bot: the log was flushed and the database closed
    assert bot.querylog.dropped == 0  # type: ignore[attr-defined]
    assert bot.querylog.written == 5  # type: ignore[attr-defined]

    with contextlib.closing(sqlite3.connect(settings.database)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM queries ORDER BY ts").fetchall()
        feedback = db.execute("SELECT * FROM feedback").fetchall()
    assert [r["via"] for r in rows] == ["slash", "slash", "mention", "button"]
    assert [r["answered"] for r in rows] == [1, 0, 1, 1]
    assert rows[0]["question"] == "who started the berber revolt?"
    assert rows[0]["fact_id"] and rows[1]["fact_id"] is None
    assert all(r["guild_id"] == standin.guild_id and r["channel_id"] == standin.channel_id for r in rows)
    keys = {r["user_key"] for r in rows}
    assert len(keys) == 1
    (key,) = keys
    assert key and str(user_id) not in key  # a salted hash, not the id

    assert len(feedback) == 1
    assert feedback[0]["query_id"] == qid == rows[0]["id"]
    assert feedback[0]["helpful"] == 1
    assert feedback[0]["user_key"] == key


# -- 12. cooldown ------------------------------------------------------------------------------------


async def test_cooldown_gives_a_friendly_message(
    standin: DiscordStandin, settings: Settings, answerer: Answerer
) -> None:
    settings = replace(settings, cooldown_rate=2, cooldown_per=60.0)
    async with tarikh(standin, settings, answerer):
        for _ in range(2):
            rec = await ask(standin, "who started the berber revolt?")
            assert embed_of(rec)["title"] and not flags(rec) & EPHEMERAL
        third = await ask(standin, "who started the berber revolt?")
        assert flags(third) & EPHEMERAL
        assert third.message_data["content"].startswith("Easy there")
        assert not third.message_data.get("embeds")
        # the cooldown is per user
        other = standin.make_user("patient")
        rec = await ask(standin, "who started the berber revolt?", user=other)
        assert not flags(rec) & EPHEMERAL
        # mentions have their own cooldown: the third gets an hourglass instead of an answer
        since = len(standin.requests)
        for _ in range(2):
            msg = await standin.mention_message("when was the battle of the nobles")
            await reply_to_message(standin, msg, since)
        msg = await standin.mention_message("when was the battle of the nobles")
        reaction = await standin.wait_for_request(lambda r: r.kind == "reaction", since=since)
        assert reaction.method == "PUT"
        assert reaction.path.startswith(f"/channels/{standin.channel_id}/messages/{msg['id']}/reactions/")
        assert len([r for r in standin.requests[since:] if r.kind == "create_message"]) == 2
    assert_no_failures(standin)


async def test_auto_sharded_bot_answers(
    standin: DiscordStandin, settings: Settings, answerer: Answerer
) -> None:
    """SHARD_COUNT makes create_bot build the auto-sharded bot; it answers the same way."""
    async with tarikh(standin, replace(settings, shard_count=1), answerer) as bot:
        assert isinstance(bot, commands.AutoShardedBot)
        rec = await ask(standin, "who started the berber revolt?")
        assert "Maysara" in embed_of(rec)["description"]
        assert gateway_open(bot)  # what the heartbeat file reports, per shard
    assert not gateway_open(bot)
    assert_no_failures(standin)


# -- 13. hostile input -------------------------------------------------------------------------------


async def test_long_question_with_markdown_and_control_characters(
    standin: DiscordStandin, bot: commands.Bot
) -> None:
    noise = "**who** __started__ the `berber` ~~revolt~~ ||in|| > tangier\x00\x07\x1b[31m\u202e\t# "
    question = (noise * 10)[:300]
    assert len(question) == 300
    rec = await ask(standin, question)
    assert rec.callback_type == 4
    embed = embed_of(rec)
    assert_within_limits(embed)
    assert_no_pings(rec.message_data)
    assert_no_failures(standin)


async def test_every_fact_renders_within_discord_limits(
    standin: DiscordStandin, bot: commands.Bot, answerer: Answerer
) -> None:
    """The longest facts still fit (the stand-in rejects oversize embeds, like Discord)."""
    facts = sorted(answerer.pack.facts.values(), key=lambda f: len(f.excerpt or "") + len(f.answer or ""))
    for fact in facts[-3:]:
        click = await standin.click_button(
            f"tarikh:ask:{fact.id}", old_message(standin, f"tarikh:ask:{fact.id}")
        )
        assert_within_limits(embed_of(await standin.wait_for_response(click)))
    assert_no_failures(standin)


# -- 14. gateway drop ---------------------------------------------------------------------------------


async def test_answers_after_the_gateway_connection_drops(standin: DiscordStandin, bot: commands.Bot) -> None:
    assert embed_of(await ask(standin, "who started the berber revolt?"))
    await standin.drop_connection()
    await standin.wait_until_ready()
    rec = await ask(standin, "when was the battle of the nobles")
    assert "Nobles" in embed_of(rec)["title"]
    assert len(standin.resumes) == 1 and len(standin.identifies) == 1  # resumed, not re-identified
    assert gateway_open(bot)
    assert_no_failures(standin)


async def test_answers_after_a_forced_re_identify(standin: DiscordStandin, bot: commands.Bot) -> None:
    """INVALID_SESSION (not resumable): discord.py drops the session and IDENTIFYs anew."""

    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before every IDENTIFY but the first (rate limit courtesy)."""

    bot.before_identify_hook = no_wait  # type: ignore[method-assign]
    assert embed_of(await ask(standin, "who started the berber revolt?"))
    first = standin.identifies[0]
    await standin.invalidate_session()
    await standin.wait_for_gateway(lambda p: p.get("op") == 2 and p.get("d") is not first)
    await standin.wait_until_ready()
    rec = await ask(standin, "when was the battle of the nobles")
    assert "Nobles" in embed_of(rec)["title"]
    assert len(standin.identifies) == 2 and not standin.resumes  # a new session, not a resume
    assert_no_failures(standin)
