"""End-to-end checks that the local Discord stand-in works with the *real* discord.py.

Nothing inside discord.py is mocked: the library logs in over HTTP, connects to the
stand-in's gateway over a websocket (zlib-stream compressed by default) and answers
interactions through the stand-in's REST API, all on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands
from discord_standin import DiscordStandin, RecordedRequest, point_discord_py_at, running_bot

ERAS = ["Umayyad", "Abbasid", "Fatimid", "Ottoman", "Safavid", "Mughal"]


class FastBot(commands.Bot):
    """A plain Bot whose re-IDENTIFY does not sleep 5 s (only used where re-identifying)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


class FastShardedBot(commands.AutoShardedBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def make_bot(cls: type[commands.Bot] = commands.Bot) -> commands.Bot:
    # Default intents: message_content is NOT enabled, like the real bot.
    return cls(
        command_prefix="!",
        intents=discord.Intents.default(),
        guild_ready_timeout=0.05,
        help_command=None,
    )


def add_ping(bot: commands.Bot) -> None:
    @bot.tree.command(name="ping", description="Check the bot is alive")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            embed=discord.Embed(title="Pong", description="Tarikh is listening.")
        )


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("condition never became true")
        await asyncio.sleep(0.01)


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandin]:
    async with DiscordStandin() as server:
        yield server


# 1 -------------------------------------------------------------------------------------


async def test_plain_bot_answers_ping_with_embed(standin: DiscordStandin) -> None:
    bot = make_bot()
    seen: dict[str, Any] = {}

    @bot.tree.command(name="ping", description="Check the bot is alive")
    async def ping(interaction: discord.Interaction) -> None:
        seen["channel"] = interaction.channel
        seen["app_permissions"] = interaction.app_permissions
        callback = await interaction.response.send_message(
            embed=discord.Embed(title="Pong", description="Tarikh is listening.")
        )
        seen["message_id"] = callback.message_id
        original = await interaction.original_response()
        seen["original_title"] = original.embeds[0].title

    # Only the two overrides the real bot applies from DISCORD_API_BASE / DISCORD_GATEWAY_URL.
    undo = point_discord_py_at(standin)
    assert standin.api_base == discord.http.Route.BASE
    task = asyncio.create_task(bot.start("test-token"))
    try:
        await standin.wait_until_ready()
        sent = await standin.slash_command("ping")
        reply = await standin.wait_for_response(sent)
        assert reply.callback_type == 4
        assert reply.message_data["embeds"][0]["title"] == "Pong"
        assert reply.message_data["embeds"][0]["description"] == "Tarikh is listening."
        await eventually(lambda: "original_title" in seen)
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        guild = bot.get_guild(standin.guild_id)
        assert guild is not None and guild.me is not None
        channel = guild.get_channel(standin.channel_id)
        assert isinstance(channel, discord.TextChannel)
        assert channel.permissions_for(guild.me).send_messages
        assert bot.user is not None and bot.user.id == standin.application_id
        fetched = await bot.fetch_channel(standin.channel_id)
        assert isinstance(fetched, discord.TextChannel) and fetched.name == "general"
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)
        undo()
    assert task.exception() is None
    assert discord.http.Route.BASE == "https://discord.com/api/v10"

    assert seen["original_title"] == "Pong"
    assert seen["message_id"] == int(reply.response["interaction"]["response_message_id"])
    assert isinstance(seen["channel"], discord.TextChannel)
    assert seen["app_permissions"].send_messages
    startup = [(r.method, r.path) for r in standin.requests]
    assert ("GET", "/users/@me") in startup
    assert ("GET", "/oauth2/applications/@me") in startup
    assert standin.unhandled == []
    conn = standin.connections[0]
    assert conn.query["compress"] == "zlib-stream" and conn.compressed
    assert conn.query["encoding"] == "json" and conn.query["v"] == "10"
    assert conn.heartbeats >= 1
    assert standin.identifies[0]["intents"] == discord.Intents.default().value
    assert "shard" not in standin.identifies[0]


# 2 -------------------------------------------------------------------------------------


async def test_autocomplete_round_trip_and_typed_options() -> None:
    # Plain text frames this time: discord.py only inflates binary frames.
    async with DiscordStandin(compress=False) as standin:
        bot = make_bot()

        @bot.tree.command(name="era", description="Describe an era")
        async def era(interaction: discord.Interaction, name: str, year: int | None = None) -> None:
            await interaction.response.send_message(f"{name} in {year} ({type(year).__name__})")

        @era.autocomplete("name")
        async def era_name(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=e, value=e) for e in ERAS if current.lower() in e.lower()]

        async with running_bot(bot, standin):
            await bot.tree.sync()
            assert not standin.connections[0].compressed
            sent = await standin.autocomplete("era", {"name": "ID"})
            reply = await standin.wait_for_response(sent)
            assert reply.callback_type == 8
            assert reply.json["data"]["choices"] == [
                {"name": "Abbasid", "value": "Abbasid"},
                {"name": "Fatimid", "value": "Fatimid"},
                {"name": "Safavid", "value": "Safavid"},
            ]
            assert sent.payload["data"]["options"][0] == {
                "name": "name",
                "type": 3,
                "value": "ID",
                "focused": True,
            }

            sent = await standin.slash_command("era", {"name": "Abbasid", "year": 750})
            reply = await standin.wait_for_response(sent)
            assert reply.message_data["content"] == "Abbasid in 750 (int)"


# 3 -------------------------------------------------------------------------------------


class Confirm(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.clicked_by: int | None = None

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.green, custom_id="confirm-yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.clicked_by = interaction.user.id
        await interaction.response.edit_message(content="Confirmed.", view=None)
        self.stop()


async def test_button_click_reaches_view_callback(standin: DiscordStandin) -> None:
    bot = make_bot()
    views: list[Confirm] = []

    @bot.tree.command(name="confirm", description="Ask for confirmation")
    async def confirm(interaction: discord.Interaction) -> None:
        view = Confirm()
        views.append(view)
        await interaction.response.send_message("Sure?", view=view)

    async with running_bot(bot, standin):
        sent = await standin.slash_command("confirm")
        reply = await standin.wait_for_response(sent)
        button = reply.message_data["components"][0]["components"][0]
        assert button["custom_id"] == "confirm-yes" and button["label"] == "Yes"

        clicker = standin.make_user("clicker")
        click = await standin.click_button("confirm-yes", reply, user=clicker)
        update = await standin.wait_for_response(click.token)
        assert update.callback_type == 7
        assert update.message_data["content"] == "Confirmed."
        assert update.message_data["components"] == []
        assert views[0].clicked_by == int(clicker["id"])
        message_id = int(reply.response["interaction"]["response_message_id"])
        assert standin.messages[message_id]["content"] == "Confirmed."
        assert click.payload["message"]["id"] == str(message_id)


# 4 -------------------------------------------------------------------------------------


class EraSelect(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)

    @discord.ui.select(
        custom_id="era-select",
        options=[discord.SelectOption(label=e, value=e.lower()) for e in ERAS[:3]],
    )
    async def choose(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.send_message(f"You chose {select.values[0]}", ephemeral=True)


async def test_mention_reaches_on_message_without_content_intent(
    standin: DiscordStandin,
) -> None:
    bot = make_bot()
    seen: list[tuple[bool, str]] = []

    async def on_message(message: discord.Message) -> None:
        seen.append((message.author.bot, message.content))
        if not message.author.bot and bot.user in message.mentions:
            async with message.channel.typing():
                await message.reply("Which era?", view=EraSelect())

    bot.add_listener(on_message)
    async with running_bot(bot, standin):
        intents = standin.intents()
        assert intents is not None and not intents.message_content

        mention = await standin.mention_message("tell me about the caliphates")
        posted = await standin.wait_for_request(lambda r: r.kind == "create_message")
        assert any(r.kind == "typing" for r in standin.requests)
        content = f"<@{standin.bot_user['id']}> tell me about the caliphates"
        assert (False, content) in seen
        assert posted.json["content"] == "Which era?"
        assert posted.json["message_reference"]["message_id"] == int(mention["id"])
        assert posted.response["referenced_message"]["id"] == mention["id"]
        # Discord echoes the bot's own message back over the gateway.
        await eventually(lambda: (True, "Which era?") in seen)

        # Without the mention (and without the intent) Discord blanks the content.
        await standin.user_message("no mention here")
        await eventually(lambda: (False, "") in seen)

        choice = await standin.select("era-select", ["abbasid"])
        answer = await standin.wait_for_response(choice)
        assert answer.message_data["content"] == "You chose abbasid"
        assert answer.message_data["flags"] == 64

        channel = bot.get_channel(standin.channel_id)
        assert isinstance(channel, discord.TextChannel)
        history = [m.content async for m in channel.history(limit=None)]
        assert history == ["no mention here", "Which era?", content]


# 5 -------------------------------------------------------------------------------------


async def test_resume_replay_and_reidentify_after_dropped_connection(
    standin: DiscordStandin,
) -> None:
    bot = make_bot(FastBot)
    add_ping(bot)
    events: list[str] = []

    async def on_socket_event_type(name: str) -> None:
        events.append(name)

    bot.add_listener(on_socket_event_type)

    async def ping_ok() -> None:
        sent = await standin.slash_command("ping")  # waits for a live connection
        reply = await standin.wait_for_response(sent)
        assert reply.message_data["embeds"][0]["title"] == "Pong"

    async with running_bot(bot, standin):
        await standin.drop_connection(code=4000)
        await ping_ok()
        assert len(standin.identifies) == 1 and len(standin.resumes) == 1
        assert standin.connections[-1].path == "/gateway/resume"

        # An event sent while the bot is away is replayed on RESUME.
        await standin.drop_connection(code=1001)
        await standin.send_dispatch("STANDIN_PROBE", {}, wait_live=False)
        await standin.wait_until_ready()
        await eventually(lambda: "STANDIN_PROBE" in events and "RESUMED" in events)
        assert len(standin.resumes) == 2

        # A forgotten session gets INVALID_SESSION, then discord.py IDENTIFYs again.
        await standin.drop_connection(resumable=False)
        await standin.wait_for_gateway(lambda p: p["op"] == 2 and len(standin.identifies) == 2)
        await ping_ok()
        assert len(standin.identifies) == 2 and len(standin.resumes) == 2

        # op 7 RECONNECT -> discord.py resumes.
        await standin.request_reconnect()
        await eventually(lambda: len(standin.resumes) == 3)
        await ping_ok()


# 6 -------------------------------------------------------------------------------------


async def test_tree_sync_to_guild_hits_put_guild_commands(standin: DiscordStandin) -> None:
    bot = make_bot()
    guild = discord.Object(id=standin.guild_id)
    add_ping(bot)

    @bot.tree.command(name="fact", description="A dated fact", guild=guild)
    @app_commands.describe(topic="What to look up")
    async def fact(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.send_message(f"fact about {topic}")

    async with running_bot(bot, standin):
        synced = await bot.tree.sync(guild=guild)
        put = await standin.wait_for_request(
            lambda r: (
                r.method == "PUT"
                and r.path == f"/applications/{standin.application_id}/guilds/{standin.guild_id}/commands"
            )
        )
        assert [c["name"] for c in put.json] == ["fact"]
        assert [c.id for c in synced] == [int(c["id"]) for c in standin.guild_commands[guild.id]]
        assert synced[0].guild_id == standin.guild_id

        await bot.tree.sync()
        assert [c["name"] for c in standin.global_commands] == ["ping"]

        sent = await standin.slash_command("fact", {"topic": "Baghdad"})
        assert sent.payload["data"]["guild_id"] == str(standin.guild_id)
        assert sent.payload["data"]["id"] == str(synced[0].id)
        reply = await standin.wait_for_response(sent)
        assert reply.message_data["content"] == "fact about Baghdad"


async def test_subcommands_dms_permissions_and_channels() -> None:
    async with DiscordStandin() as standin:
        read_only = standin.add_text_channel(
            "read-only",
            overwrites=[
                {
                    "id": str(standin.everyone_role_id),
                    "type": 0,
                    "allow": "0",
                    "deny": str(discord.Permissions(send_messages=True).value),
                }
            ],
        )
        bot = make_bot()
        history = app_commands.Group(name="history", description="History lookups")
        seen: dict[str, Any] = {}

        @history.command(name="year", description="What happened in a year")
        async def year(interaction: discord.Interaction, year: int) -> None:
            seen["guild"] = interaction.guild
            seen["channel"] = interaction.channel
            seen["app_permissions"] = interaction.app_permissions
            await interaction.response.send_message(f"{year + 1}")

        @bot.tree.command(name="admin", description="Admins only")
        @app_commands.checks.has_permissions(manage_guild=True)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("welcome, admin")

        @admin.error
        async def admin_error(interaction: discord.Interaction, error: Exception) -> None:
            await interaction.response.send_message(f"denied: {type(error).__name__}")

        bot.tree.add_command(history)
        async with running_bot(bot, standin):
            await bot.tree.sync()
            sent = await standin.slash_command("history", {"year": 1258}, subcommand="year")
            assert sent.payload["data"]["options"][0]["type"] == 1
            assert (await standin.wait_for_response(sent)).message_data["content"] == "1259"
            assert seen["guild"].id == standin.guild_id

            sent = await standin.slash_command("history", {"year": 750}, subcommand="year", channel=read_only)
            await standin.wait_for_response(sent)
            assert seen["channel"].id == int(read_only["id"])
            assert not seen["app_permissions"].send_messages
            guild = bot.get_guild(standin.guild_id)
            assert guild is not None and guild.me is not None
            channel = guild.get_channel(int(read_only["id"]))
            assert channel is not None and not channel.permissions_for(guild.me).send_messages
            with pytest.raises(discord.Forbidden):
                await channel.send("hello")  # type: ignore[union-attr]

            sent = await standin.slash_command("history", {"year": 1453}, subcommand="year", guild=False)
            reply = await standin.wait_for_response(sent)
            assert reply.message_data["content"] == "1454"
            assert seen["guild"] is None and isinstance(seen["channel"], discord.DMChannel)

            sent = await standin.slash_command("admin")
            reply = await standin.wait_for_response(sent)
            assert reply.message_data["content"] == "denied: MissingPermissions"
            admin_user = standin.make_user("boss")
            manage = discord.Permissions(manage_guild=True).value
            sent = await standin.slash_command("admin", user=admin_user, permissions=manage)
            reply = await standin.wait_for_response(sent)
            assert reply.message_data["content"] == "welcome, admin"


# more ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bot_class", "shards"),
    [(commands.AutoShardedBot, 1), (FastShardedBot, 2)],
)
async def test_auto_sharded_bot(bot_class: type[commands.Bot], shards: int) -> None:
    async with DiscordStandin(shard_count=shards) as standin:
        bot = make_bot(bot_class)
        add_ping(bot)
        async with running_bot(bot, standin):
            assert any(r.path == "/gateway/bot" for r in standin.requests)
            assert sorted(i["shard"] for i in standin.identifies) == [[n, shards] for n in range(shards)]
            guild = bot.get_guild(standin.guild_id)
            assert guild is not None and guild.shard_id == standin.guild_shard()
            sent = await standin.slash_command("ping")
            reply = await standin.wait_for_response(sent)
            assert reply.message_data["embeds"][0]["title"] == "Pong"
            await standin.drop_connection(shard_id=standin.guild_shard())
            sent = await standin.slash_command("ping")
            await standin.wait_for_response(sent)
            assert len(standin.resumes) == 1


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Your feedback", custom_id="feedback-text")

    def __init__(self) -> None:
        super().__init__(custom_id="feedback-modal", timeout=30)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Thanks: {self.text.value}", ephemeral=True)


async def test_modal_defer_followup_and_discord_rules() -> None:
    async with DiscordStandin() as standin:
        bot = make_bot()
        errors: list[BaseException] = []

        @bot.tree.command(name="feedback", description="Send feedback")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Feedback())

        @bot.tree.command(name="slow", description="Think, then answer")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("done thinking")
            await interaction.edit_original_response(content="done, edited")

        @bot.tree.command(name="late", description="Answers after the deadline")
        async def late(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.4)
            await interaction.response.send_message("too late")

        @bot.tree.command(name="huge", description="An oversized embed")
        async def huge(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(embed=discord.Embed(description="x" * 4097))

        @bot.tree.error
        async def on_error(interaction: discord.Interaction, error: Exception) -> None:
            errors.append(error)

        async with running_bot(bot, standin):
            sent = await standin.slash_command("feedback")
            modal = await standin.wait_for_response(sent)
            assert modal.callback_type == 9
            assert standin.modals["feedback-modal"]["title"] == "Feedback"
            submit = await standin.submit_modal("feedback-modal", {"feedback-text": "Great"})
            thanks = await standin.wait_for_response(submit)
            assert thanks.message_data["content"] == "Thanks: Great"

            sent = await standin.slash_command("slow")
            first = await standin.wait_for_response(sent)
            assert first.callback_type == 5
            followup = await standin.wait_for_response(sent, predicate=lambda r: r.kind == "followup")
            assert followup.json["content"] == "done thinking"
            edit = await standin.wait_for_response(sent, predicate=lambda r: r.kind == "edit_original")
            # The first followup after a thinking defer replaced the loading message.
            assert edit.response["id"] == followup.response["id"]
            assert edit.response["content"] == "done, edited"

            standin.interaction_deadline = 0.2  # Discord's is 3 s
            for name, code in (("late", 10062), ("huge", 50035)):
                sent = await standin.slash_command(name)
                failed: RecordedRequest = await standin.wait_for_request(
                    lambda r, i=sent.id: r.interaction_id == i and not r.ok
                )
                assert failed.response["code"] == code
                assert standin.responses_for(sent) == []
            await eventually(lambda: len(errors) == 2)


async def test_rest_edges_404_content_type_and_token() -> None:
    async with DiscordStandin(token="right-token") as standin:
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": "Bot right-token"}
            async with http.get(f"{standin.api_base}/nope", headers=headers) as resp:
                assert resp.status == 404
                assert resp.headers["Content-Type"] == "application/json"
                assert (await resp.json())["message"] == "404: Not Found"
            async with http.get(f"{standin.api_base}/users/@me", headers=headers) as resp:
                assert resp.headers["Content-Type"] == "application/json"
                assert (await resp.json())["id"] == standin.bot_user["id"]
        assert [r.path for r in standin.unhandled] == ["/nope"]

        bot = make_bot()
        undo = standin.patch_discord()
        try:
            with pytest.raises(discord.LoginFailure):
                await bot.login("wrong-token")
        finally:
            await bot.close()
            undo()
