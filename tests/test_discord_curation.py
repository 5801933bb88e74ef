"""Moderators' facts end to end: the real bot against the Discord stand-in.

/fact add|edit|remove|history|revert|export|import, /stats, /config moderator-role and /reload,
driven like a Discord client would: slash commands, forms (modals), buttons, attachments. The
stand-in delivers every interaction whatever a command's default_permissions say (as any client
could), so the permission checks the handlers make are what is tested here.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import discord
import pytest
import yaml
from aiohttp import web
from discord.ext import commands
from discord_standin import DEFAULT_EVERYONE_PERMISSIONS, DiscordStandin, RecordedRequest
from test_discord_bot import (  # noqa: F401  (autouse fixtures are used by being imported)
    TOKEN,
    assert_no_failures,
    buttons,
    embed_of,
    field,
    flags,
    no_errors_logged,
    quick_log_flush,
    restore_discord_endpoints,
    tarikh,
)
from test_shutdown import ROOT, START_TIMEOUT, bot_env

from bot.answer import Answerer
from bot.config import DEFAULT_KNOWLEDGE, Settings

EPHEMERAL = 1 << 6
MANAGE = DEFAULT_EVERYONE_PERMISSIONS | discord.Permissions(manage_guild=True).value
MEMBER = DEFAULT_EVERYONE_PERMISSIONS
OTHER_GUILD = 4242424242424242
ADDED_BY_MODS = "Added by the moderators of this server"

LIBRARY = {
    "title": "The qadi's library",
    "answer": "Our reading group notes that the qadi kept a library in Kairouan.",
    "excerpt": "",
    "when": "741",
    "questions": "Did the qadi have a library?\nWhere was the qadi's library?",
}
LIBRARY_QUESTION = "did the qadi have a library?"
EDITED_ANSWER = "Edited: the qadi's library in Kairouan held three hundred books."

JSON = dict[str, Any]


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandin]:
    async with DiscordStandin(token=TOKEN) as server:
        yield server


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    """A copy of the shipped knowledge folder that /reload reads (tests change it)."""
    dest = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, dest)
    return dest


@pytest.fixture
def settings(standin: DiscordStandin, tmp_path: Path, knowledge: Path) -> Settings:
    return Settings(
        discord_token=TOKEN,
        guild_id=standin.guild_id,
        database=tmp_path / "tarikh.db",
        knowledge=knowledge,
        api_base=standin.api_base,
        gateway_url=standin.gateway_url,
        cooldown_rate=100,
        cooldown_per=60.0,
    )


@pytest.fixture
async def bot(standin: DiscordStandin, settings: Settings, answerer: Answerer) -> AsyncIterator[commands.Bot]:
    async with tarikh(standin, settings, answerer) as running:
        yield running


class FileHost:
    """Serves attachment files over HTTP, as Discord's CDN does for Attachment.read()."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.base = ""

    def attachment(self, standin: DiscordStandin, filename: str, data: bytes) -> JSON:
        self.files[filename] = data
        return {
            "id": str(standin.snowflake()),
            "filename": filename,
            "size": len(data),
            "url": f"{self.base}/{filename}",
            "proxy_url": f"{self.base}/{filename}",
            "content_type": "application/x-yaml",
        }

    async def handle(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)


@pytest.fixture
async def cdn() -> AsyncIterator[FileHost]:
    host = FileHost()
    app = web.Application()
    app.router.add_get("/files/{name}", host.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    host.base = f"http://127.0.0.1:{port}/files"
    yield host
    await runner.cleanup()


# -- helpers ---------------------------------------------------------------------------------


async def command(
    standin: DiscordStandin, name: str, options: JSON | None = None, *, sub: str | None = None,
    permissions: int | None = MANAGE, **kwargs: Any,
) -> RecordedRequest:  # fmt: skip
    """Run a slash command (as a moderator unless told otherwise); its first response."""
    sent = await standin.slash_command(name, options, subcommand=sub, permissions=permissions, **kwargs)
    return await standin.wait_for_response(sent)


async def followup(
    standin: DiscordStandin, name: str, options: JSON | None = None, **kwargs: Any
) -> RecordedRequest:
    """A command that defers (thinking) and answers in a followup: the followup."""
    sent = await standin.slash_command(name, options, subcommand=kwargs.pop("sub", None), **kwargs)
    first = await standin.wait_for_response(sent)
    if first.callback_type == 4:
        return first  # refused at once
    assert first.callback_type == 5, first
    return await standin.wait_for_response(sent, predicate=lambda r: r.kind == "followup")


async def ask(standin: DiscordStandin, question: str, **kwargs: Any) -> JSON:
    rec = await command(standin, "ask", {"question": question}, permissions=None, **kwargs)
    return embed_of(rec)


def content(rec: RecordedRequest) -> str:
    return rec.message_data.get("content") or ""


def is_ephemeral(rec: RecordedRequest) -> bool:
    return bool(flags(rec) & EPHEMERAL)


def form_id(rec: RecordedRequest) -> str:
    assert rec.callback_type == 9, (rec.kind, rec.json)
    return str(rec.json["data"]["custom_id"])


def form_defaults(standin: DiscordStandin, custom_id: str) -> dict[str, str]:
    """The pre-filled values of a form the bot opened."""
    out: dict[str, str] = {}
    for comp in standin.modals[custom_id]["components"]:
        inner = comp.get("component") or (comp.get("components") or [{}])[0]
        out[inner["custom_id"]] = inner.get("value") or ""
    return out


async def submit(
    standin: DiscordStandin, custom_id: str, values: dict[str, str], **kwargs: Any
) -> RecordedRequest:
    kwargs.setdefault("permissions", MANAGE)
    return await standin.wait_for_response(await standin.submit_modal(custom_id, values, **kwargs))


async def add_fact(standin: DiscordStandin, values: dict[str, str], **kwargs: Any) -> RecordedRequest:
    """/fact add, then fill in and submit the form."""
    opened = await command(standin, "fact", sub="add", **kwargs)
    return await submit(standin, form_id(opened), values, **kwargs)


async def click(
    standin: DiscordStandin, message: RecordedRequest, label: str, **kwargs: Any
) -> RecordedRequest:
    kwargs.setdefault("permissions", MANAGE)
    button = next(b for b in buttons(message.message_data) if b.get("label", "").startswith(label))
    return await standin.wait_for_response(await standin.click_button(button["custom_id"], message, **kwargs))


async def audit_log(bot: commands.Bot) -> list[tuple[int | None, int | None, str, str]]:
    db = bot.services.storage.db  # type: ignore[attr-defined]
    async with db.execute("SELECT guild_id, user_id, action, detail FROM audit_log ORDER BY id") as cur:
        return [tuple(row) async for row in cur]  # type: ignore[misc]


@contextlib.contextmanager
def in_guild(standin: DiscordStandin, guild_id: int) -> Iterator[None]:
    """Interactions sent meanwhile come from another server (the commands are the same)."""
    home = standin.guild_id
    standin.guild_commands[guild_id] = standin.guild_commands[home]
    standin.guild_id = guild_id
    try:
        yield
    finally:
        standin.guild_id = home


# -- 1. who may ---------------------------------------------------------------------------------


async def test_members_without_the_permission_are_refused_everywhere_and_audited(
    standin: DiscordStandin, bot: commands.Bot, cdn: FileHost
) -> None:
    added = await add_fact(standin, LIBRARY)
    assert is_ephemeral(added) and "Added" in content(added)
    fid = "the-qadi-s-library"
    upload = cdn.attachment(standin, "facts.yaml", b"facts: []\n")
    user_id = int(standin.user["id"])
    attempts: list[tuple[str, str | None, JSON | None, JSON | None]] = [
        ("fact", "add", None, None),
        ("fact", "edit", {"id": fid}, None),
        ("fact", "remove", {"id": fid}, None),
        ("fact", "history", {"id": fid}, None),
        ("fact", "revert", {"id": fid, "version": 1}, None),
        ("fact", "export", None, None),
        ("fact", "import", {"file": upload["id"]}, {"attachments": {upload["id"]: upload}}),
        ("stats", None, None, None),
        ("config", "moderator-role", None, None),
        ("reload", None, None, None),
    ]
    for name, sub, options, resolved in attempts:
        rec = await command(standin, name, options, sub=sub, permissions=MEMBER, resolved=resolved)
        assert rec.callback_type == 4 and is_ephemeral(rec), (name, sub, rec.json)
        text = content(rec)
        assert "Only" in text and ("moderators" in text or "Manage Server" in text or "owner" in text), text
        assert not rec.message_data.get("embeds") and not rec.message_data.get("components")
    # nor from a DM (the commands are server-only; a client could still send one)
    rec = await command(standin, "fact", sub="export", guild=False)
    assert is_ephemeral(rec) and "only works in a server" in content(rec)
    # even a moderator is not the bot's owner
    rec = await command(standin, "reload")
    assert "Only the bot's owner" in content(rec)

    # a form or a button opened while allowed is checked again when used
    opened = await command(standin, "fact", {"id": fid}, sub="edit")
    refused = await submit(standin, form_id(opened), dict(LIBRARY, answer="Vandalised."), permissions=MEMBER)
    assert is_ephemeral(refused) and "Only this server's moderators" in content(refused)
    confirm = await command(standin, "fact", {"id": fid}, sub="remove")
    refused = await click(standin, confirm, "Remove", permissions=MEMBER)
    assert "Only this server's moderators" in content(refused)
    stranger = standin.make_user("stranger")
    refused = await click(standin, confirm, "Remove", user=stranger, permissions=MANAGE)
    assert "Only the moderator who ran this command" in content(refused)

    # autocomplete shows a server's facts to moderators only
    sent = await standin.autocomplete("fact", {"id": "qadi's library"}, subcommand="edit", permissions=MEMBER)
    assert (await standin.wait_for_response(sent)).json["data"]["choices"] == []
    sent = await standin.autocomplete("fact", {"id": "qadi's library"}, subcommand="edit", permissions=MANAGE)
    choices = (await standin.wait_for_response(sent)).json["data"]["choices"]
    assert choices[0]["value"] == fid and "this server" in choices[0]["name"]

    # nothing changed: still one version, still the first text
    embed = await ask(standin, LIBRARY_QUESTION)
    assert embed["description"].startswith(LIBRARY["answer"])
    history = await command(standin, "fact", {"id": fid}, sub="history")
    assert "**v1**" in embed_of(history)["description"] and "**v2**" not in embed_of(history)["description"]

    log = await audit_log(bot)
    refused_log = [(a, d) for g, u, a, d in log if a == "refused" and u == user_id and g == standin.guild_id]
    expected = [f"{n} {s}" if s else n for n, s, _, _ in attempts]
    assert [d for _, d in refused_log][: len(expected)] == expected
    assert {"reload", "fact edit (form)", "fact remove (confirm)"} <= {d for _, d in refused_log}
    assert ("fact.add", f"{fid} v1") in [(a, d) for _, _, a, d in log]
    assert_no_failures(standin)


async def test_the_moderator_role_counts_as_moderator(
    standin: DiscordStandin, settings: Settings, answerer: Answerer
) -> None:
    role = standin.add_role("Historians", MEMBER)
    historian = standin.make_user("historian", roles=[int(role["id"])])
    resolved = {"roles": {role["id"]: role}}
    async with tarikh(standin, settings, answerer) as bot:
        rec = await command(standin, "fact", sub="export", user=historian, permissions=MEMBER)
        assert "Only this server's moderators" in content(rec)

        rec = await command(standin, "config", {"role": role["id"]}, sub="moderator-role", resolved=resolved)
        assert is_ephemeral(rec) and f"<@&{role['id']}>" in content(rec)
        assert (await bot.services.storage.guild_settings(standin.guild_id)).moderator_role_id == int(
            role["id"]
        )

        added = await add_fact(standin, LIBRARY, user=historian, permissions=MEMBER)
        assert "Added" in content(added), added.json
        assert (await ask(standin, LIBRARY_QUESTION))["title"] == LIBRARY["title"]
        # the role does not let them choose who the moderators are
        rec = await command(standin, "config", sub="moderator-role", user=historian, permissions=MEMBER)
        assert "Manage Server" in content(rec)

        rec = await command(standin, "config", sub="moderator-role")  # no role: cleared
        assert "Cleared" in content(rec)
        rec = await command(standin, "fact", sub="export", user=historian, permissions=MEMBER)
        assert "Only this server's moderators" in content(rec)
        log = await audit_log(bot)
    actions = [a for _, _, a, _ in log]
    assert actions.count("config.moderator-role") == 2 and actions.count("refused") == 3
    assert_no_failures(standin)


# -- 2. the whole workflow ----------------------------------------------------------------------


async def test_add_ask_edit_history_revert_export_import(
    standin: DiscordStandin, bot: commands.Bot, cdn: FileHost
) -> None:
    added = await add_fact(standin, LIBRARY)
    assert "the-qadi-s-library" in content(added) and "version 1" in content(added)
    assert embed_of(added)["title"] == LIBRARY["title"]  # a preview of what members will see
    fid = "the-qadi-s-library"

    embed = await ask(standin, LIBRARY_QUESTION)
    assert embed["title"] == LIBRARY["title"]
    assert embed["description"] == LIBRARY["answer"]  # no quote: a moderator's fact has no excerpt
    assert field(embed, "Source") == ADDED_BY_MODS
    assert "741 CE" in field(embed, "When")  # the plain year became EDTF 0741

    # edit: the form comes pre-filled with the fact as it is
    opened = await command(standin, "fact", {"id": fid}, sub="edit")
    defaults = form_defaults(standin, form_id(opened))
    assert defaults == dict(LIBRARY, when="0741")
    saved = await submit(standin, form_id(opened), dict(defaults, answer=EDITED_ANSWER))
    assert "version 2" in content(saved)
    assert (await ask(standin, LIBRARY_QUESTION))["description"] == EDITED_ANSWER

    # an invalid edit is refused with the reasons; the fact stays as it was
    opened = await command(standin, "fact", {"id": fid}, sub="edit")
    bad = dict(defaults, excerpt="The qadi's library was the largest in the world.", when="soon")
    refused = await submit(standin, form_id(opened), bad)
    problems = embed_of(refused)["description"]
    assert "excerpt is not verbatim" in problems and "'when'" in problems
    again = await click(standin, refused, "Edit and try again")  # nothing typed is lost
    assert form_defaults(standin, form_id(again))["excerpt"] == bad["excerpt"]
    assert (await ask(standin, LIBRARY_QUESTION))["description"] == EDITED_ANSWER

    history = embed_of(await command(standin, "fact", {"id": fid}, sub="history"))
    lines = history["description"]
    assert "**v1** · add · Tester · <t:" in lines and "new fact" in lines
    assert "**v2** · edit · Tester · <t:" in lines and "changed: `answer`" in lines
    assert ":R>" in lines and "**v3**" not in lines
    assert history["footer"]["text"] == f"{fid} · 2 version(s)"

    reverted = await command(standin, "fact", {"id": fid, "version": 1}, sub="revert")
    assert "Reverted to version 1" in content(reverted) and "version 3" in content(reverted)
    assert (await ask(standin, LIBRARY_QUESTION))["description"] == LIBRARY["answer"]
    options = {"id": fid, "version": ""}  # typing the version
    sent = await standin.autocomplete("fact", options, subcommand="revert", permissions=MANAGE)
    choices = (await standin.wait_for_response(sent)).json["data"]["choices"]
    assert [c["value"] for c in choices] == [3, 2, 1] and choices[0]["name"] == "v3 · revert by Tester"

    exported = await command(standin, "fact", sub="export")
    assert is_ephemeral(exported) and len(exported.files) == 1
    file = exported.files[0]
    assert file.filename.endswith(".yaml")
    data = yaml.safe_load(file.data)
    assert [f["id"] for f in data["facts"]] == [fid]
    assert data["facts"][0]["answer"] == LIBRARY["answer"]

    # the export loads into another server, where the fact is then answered
    upload = cdn.attachment(standin, "library.yaml", file.data)
    with in_guild(standin, OTHER_GUILD):
        assert (await ask(standin, LIBRARY_QUESTION))["title"] != LIBRARY["title"]
        imported = await followup(standin, "fact", {"file": upload["id"]}, sub="import", permissions=MANAGE,
                                  resolved={"attachments": {upload["id"]: upload}})  # fmt: skip
        assert "Imported 1 fact(s)" in content(imported) and fid in content(imported)
        embed = await ask(standin, LIBRARY_QUESTION)
        assert embed["title"] == LIBRARY["title"] and field(embed, "Source") == ADDED_BY_MODS

        # an invalid file is refused as a whole, with file:line reasons
        bad_file = BAD_IMPORT.encode()
        upload = cdn.attachment(standin, "bad.yaml", bad_file)
        refused = await followup(standin, "fact", {"file": upload["id"]}, sub="import", permissions=MANAGE,
                                 resolved={"attachments": {upload["id"]: upload}})  # fmt: skip
        embed = embed_of(refused)
        assert embed["title"] == "Import refused: nothing was changed"
        assert "bad.yaml:7: fact 'bad-date': field 'when'" in embed["description"]
        assert "bad.yaml:14: fact 'not-verbatim': excerpt is not verbatim" in embed["description"]
    current = await bot.services.storage.current_facts(OTHER_GUILD)  # type: ignore[attr-defined]
    assert list(current) == [fid]
    assert_no_failures(standin)


BAD_IMPORT = """\
facts:
  - id: fine-library
    title: A library in Fez
    answer: Someone held a fine library in Fez.
    questions: [Who held a library in Fez, Was there a library in Fez]
  - id: bad-date
    when: sometime in 741
    title: A bad date
    answer: Something happened.
    questions: [What happened sometime, When did it happen]
  - id: not-verbatim
    title: Not in the article
    answer: Something else.
    excerpt: The Berbers built a great lighthouse on the moon.
    source: wikipedia-berber-revolt
    questions: [Was there a lighthouse, Who built the lighthouse]
"""


# -- 3. remove -------------------------------------------------------------------------------------


async def test_remove_asks_first_cancel_keeps_confirm_hides_and_waiting_times_out(
    standin: DiscordStandin, bot: commands.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_fact(standin, LIBRARY)
    fid = "the-qadi-s-library"
    confirm = await command(standin, "fact", {"id": fid}, sub="remove")
    assert is_ephemeral(confirm) and "Remove **The qadi's library**" in content(confirm)
    assert [b["label"] for b in buttons(confirm.message_data)] == ["Remove", "Cancel"]

    cancelled = await click(standin, confirm, "Cancel")
    assert cancelled.callback_type == 7 and "nothing was changed" in content(cancelled)
    assert not cancelled.message_data.get("components")
    assert (await ask(standin, LIBRARY_QUESTION))["title"] == LIBRARY["title"]

    confirm = await command(standin, "fact", {"id": fid}, sub="remove")
    removed = await click(standin, confirm, "Remove")
    assert removed.callback_type == 7 and "Removed" in content(removed)
    assert f"/fact revert id:{fid} version:1" in content(removed)
    assert (await ask(standin, LIBRARY_QUESTION))["title"] != LIBRARY["title"]
    history = embed_of(await command(standin, "fact", {"id": fid}, sub="history"))
    assert "**v2** · remove" in history["description"] and "hidden from this server" in history["description"]

    # a shipped fact can be hidden too, and brought back (version 0 = as shipped)
    confirm = await command(standin, "fact", {"id": "battle-of-the-nobles"}, sub="remove")
    await click(standin, confirm, "Remove")
    nobles = "The Battle of the Nobles and how it got its name"
    assert (await ask(standin, "when was the battle of the nobles"))["title"] != nobles
    back = await command(standin, "fact", {"id": "battle-of-the-nobles", "version": 0}, sub="revert")
    assert "Reverted to version 0" in content(back)
    shipped = await ask(standin, "when was the battle of the nobles")
    assert shipped["title"] == nobles
    assert "\n> " in shipped["description"] and "Berber Revolt" in field(shipped, "Source")

    # nobody presses anything: the buttons go away and nothing changes
    monkeypatch.setattr(sys.modules["bot.discord_app.cogs.curate"], "CONFIRM_TIMEOUT", 0.2)
    confirm = await command(standin, "fact", {"id": "battle-of-the-nobles"}, sub="remove")
    since = len(standin.requests)
    expired = await standin.wait_for_request(lambda r: r.kind == "edit_original",
                                             since=since)  # fmt: skip
    assert expired.json["content"] == "Timed out: nothing was changed." and not expired.json.get("components")
    assert (await ask(standin, "when was the battle of the nobles"))["description"] == shipped["description"]
    assert_no_failures(standin)


# -- 4. /stats --------------------------------------------------------------------------------------


async def test_stats_show_the_gaps_and_a_gap_button_opens_a_prefilled_form(
    standin: DiscordStandin, bot: commands.Bot
) -> None:
    gap = "what's the best pizza in naples?"
    for question in (gap, gap, "who started the berber revolt?"):
        await ask(standin, question)
    with in_guild(standin, OTHER_GUILD):  # another server's questions are not counted here
        await ask(standin, "what is the weather in oslo today?")

    stats = await followup(standin, "stats", permissions=MANAGE)
    assert is_ephemeral(stats)
    embed = embed_of(stats)
    assert field(embed, "Asked") == "3"
    assert field(embed, "Answered") == "1 (33%)"
    assert gap in field(embed, "Most asked, not answered (gaps)") and "×2" in field(embed, "Most asked")
    assert "oslo" not in str(embed)

    refused = await click(standin, stats, "Add a fact for this gap", permissions=MEMBER)  # lost the right
    assert is_ephemeral(refused) and "Only this server's moderators" in content(refused)
    opened = await click(standin, stats, "Add a fact for this gap")
    defaults = form_defaults(standin, form_id(opened))
    assert defaults["questions"] == gap and defaults["title"] == ""
    values = {
        "title": "Pizza is off topic here",
        "answer": "This server is about the Berber Revolt of 740; ask the food channel about pizza.",
        "excerpt": "",
        "when": "",
        "questions": f"{gap}\nwhere can I get good pizza?",
    }
    saved = await submit(standin, form_id(opened), values)
    assert "Added" in content(saved)
    embed = await ask(standin, gap)
    assert embed["title"] == "Pizza is off topic here" and field(embed, "Source") == ADDED_BY_MODS
    assert_no_failures(standin)


# -- 5. /reload ----------------------------------------------------------------------------------------

NEW_FACT_FILE = """\
chapter: Added for the reload test
facts:
  - id: reload-test-fact
    title: The reload test fact
    answer: A fact that only exists in the edited copy of the knowledge folder.
    excerpt: >-
      Maysara's Berber forces encountered the vanguard Ifrqiyan column of Khalid ibn Abi Habib
      somewhere in the outskirts of Tangiers
    source: wikipedia-berber-revolt
    when: "{when}"
    questions:
      - Which fact exists only in the edited copy?
      - What does the reload test add?
"""


async def test_reload_refuses_a_broken_pack_and_serves_a_fixed_one(
    standin: DiscordStandin, settings: Settings, answerer: Answerer, knowledge: Path
) -> None:
    configured_owner = standin.make_user("maintainer")
    settings = replace(settings, owner_ids=(int(configured_owner["id"]),))
    new_file = knowledge / "facts" / "99-reload-test.yaml"
    async with tarikh(standin, settings, answerer) as bot:
        await add_fact(standin, LIBRARY)
        new_file.write_text(NEW_FACT_FILE.format(when="the day after tomorrow"), encoding="utf-8")
        refused = await followup(standin, "reload", user=standin.owner)  # the application's owner
        embed = embed_of(refused)
        assert embed["title"] == "Reload refused: still answering from the previous pack"
        assert "99-reload-test.yaml:10: fact 'reload-test-fact': field 'when'" in embed["description"]
        assert (await ask(standin, "who started the berber revolt?"))["title"] != "Not in my sources"
        assert (await ask(standin, "which fact exists only in the edited copy?"))[
            "title"
        ] == "Not in my sources"

        new_file.write_text(NEW_FACT_FILE.format(when="0740"), encoding="utf-8")
        done = await followup(standin, "reload", user=configured_owner)  # TARIKH_OWNER_IDS
        assert content(done).startswith(f"Reloaded: {len(answerer.pack.facts) + 1} facts")
        embed = await ask(standin, "which fact exists only in the edited copy?")
        assert embed["title"] == "The reload test fact" and "\n> " in embed["description"]
        # the server's own fact is still there, on top of the new pack
        assert (await ask(standin, LIBRARY_QUESTION))["title"] == LIBRARY["title"]
        assert bot.answerer is not answerer and "reload-test-fact" in bot.answerer.pack.facts  # type: ignore[attr-defined]
        actions = [a for _, _, a, _ in await audit_log(bot)]
    assert "reload.refused" in actions and "reload" in actions
    assert_no_failures(standin)


async def test_sighup_reloads_the_running_process(
    standin: DiscordStandin, tmp_path: Path, knowledge: Path
) -> None:
    env = bot_env(standin, tmp_path)
    env.update(TARIKH_KNOWLEDGE=str(knowledge), DISCORD_TOKEN=TOKEN)
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        await standin.wait_until_ready(START_TIMEOUT)
        question = "which fact exists only in the edited copy?"
        assert (await ask(standin, question))["title"] == "Not in my sources"
        (knowledge / "facts" / "99-reload-test.yaml").write_text(NEW_FACT_FILE.format(when="0740"))
        proc.send_signal(signal.SIGHUP)
        deadline = asyncio.get_running_loop().time() + 10
        while "reloaded the knowledge pack (SIGHUP)" not in log_path.read_text():
            assert asyncio.get_running_loop().time() < deadline, log_path.read_text()
            await asyncio.sleep(0.05)
        assert (await ask(standin, question))["title"] == "The reload test fact"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = log_path.read_text()
    assert "received SIGHUP" in log and "Traceback" not in log, log
