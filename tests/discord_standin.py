"""A local stand-in for Discord's REST API and gateway, for driving the *real* discord.py.

The machine running the tests has no internet, so end-to-end tests start this aiohttp
server on ``127.0.0.1`` (random free port) and point discord.py at it with exactly two
overrides -- the same two the bot reads from ``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL``::

    discord.http.Route.BASE = standin.api_base                      # http://127.0.0.1:P/api/v10
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)

Typical test::

    from discord_standin import DiscordStandin, running_bot

    async def test_ping() -> None:
        async with DiscordStandin() as standin:
            bot = make_bot(guild_ready_timeout=0.05)      # any commands.Bot / AutoShardedBot
            async with running_bot(bot, standin):         # patches discord.py, starts, waits
                sent = await standin.slash_command("ping")
                reply = await standin.wait_for_response(sent)
                assert reply.message_data["embeds"][0]["title"] == "Pong"

Alternatively set the environment (``monkeypatch.setenv(k, v)`` for ``standin.env().items()``)
and let the bot apply the overrides itself, or call ``standin.patch_discord()`` (returns an
undo function) and start the bot yourself; ``await standin.wait_until_ready()`` returns once
every shard has IDENTIFYed (or RESUMEd) and received its GUILD_CREATE.

What the stand-in does
----------------------
* Gateway (``/gateway``; READY's ``resume_gateway_url`` is ``/gateway/resume``): HELLO,
  HEARTBEAT -> ACK, IDENTIFY -> READY + GUILD_CREATE (only on the shard owning the guild),
  RESUME -> replay of missed events + RESUMED (or INVALID_SESSION if the session is gone),
  REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK, sequence numbers, sharding (shard count is
  reported by ``GET /gateway/bot``), ``zlib-stream`` transport compression when asked for
  (``compress=False`` sends plain text frames, which discord.py also accepts).
* Intents are honoured like Discord does: MESSAGE_CREATE needs GUILD_MESSAGES (guild) or
  DIRECT_MESSAGES (DM); without MESSAGE_CONTENT the content/embeds/attachments/components of
  other users' guild messages are blanked unless the bot is mentioned.
* REST (``/api/v10``): every request is recorded in ``standin.requests`` as a
  :class:`RecordedRequest` (method, path, query, json body -- ``payload_json`` for multipart --,
  files). Login/startup endpoints, application commands (global and guild, echoed back with
  ids), interaction callbacks (types 4-9), ``@original`` / followup webhooks, channel messages,
  typing, reactions, DMs. Anything else answers a JSON 404 and lands in ``standin.unhandled``.
  Extra handlers can be added with :meth:`DiscordStandin.add_route`.
* Discord's rules that catch real bugs: an interaction must be answered within
  ``interaction_deadline`` seconds (default 3) and only once (``40060``), a followup before the
  initial response is ``Unknown Webhook``; messages, embeds, components, autocomplete choices
  and modals are checked against Discord's size limits (``validate=False`` turns that off).
  The bot's own messages are echoed back as MESSAGE_CREATE like Discord does
  (``echo_messages=False`` turns that off).

Driving the bot: :meth:`~DiscordStandin.slash_command`, :meth:`~DiscordStandin.autocomplete`,
:meth:`~DiscordStandin.click_button`, :meth:`~DiscordStandin.select`,
:meth:`~DiscordStandin.submit_modal`, :meth:`~DiscordStandin.mention_message`,
:meth:`~DiscordStandin.user_message`, :meth:`~DiscordStandin.send_dispatch`,
:meth:`~DiscordStandin.drop_connection`, :meth:`~DiscordStandin.request_reconnect`,
:meth:`~DiscordStandin.invalidate_session`. Observing: :meth:`~DiscordStandin.wait_for_request`,
:meth:`~DiscordStandin.wait_for_response`, :meth:`~DiscordStandin.wait_for_gateway`,
``standin.messages`` (every message object the stand-in knows, by id). Every wait is bounded
(default 5 s) and raises :class:`TimeoutError` with a summary of what *was* seen.

discord.py quirks worth knowing (2.7):
* ``on_ready`` fires ``guild_ready_timeout`` (default 2 s) after the last GUILD_CREATE; pass
  ``guild_ready_timeout=0.05`` to the bot's constructor to keep tests fast. Interactions are
  handled before ``on_ready`` anyway.
* A non-initial IDENTIFY (re-identify after an invalidated session, or every shard after the
  first) sleeps 5 s in ``Client.before_identify_hook``; RESUME does not. Keep ``shard_count=1``
  or override the hook in tests that re-identify or use several shards.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import logging
import re
import secrets
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import discord
import yarl
from aiohttp import BodyPartReader, WSMsgType, web

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DiscordStandin",
    "GatewayConnection",
    "RecordedFile",
    "RecordedRequest",
    "SentInteraction",
    "point_discord_py_at",
    "running_bot",
]

log = logging.getLogger("discord_standin")

JSON = dict[str, Any]
T = TypeVar("T")
RouteHandler = Callable[["RecordedRequest", "re.Match[str]"], Any]

DISCORD_EPOCH_MS = 1420070400000
API_VERSION = 10

# Gateway opcodes.
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Gateway intents the stand-in honours.
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# Interaction types / callback types.
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5
CALLBACK_MESSAGE = 4
CALLBACK_DEFERRED_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE = 8
CALLBACK_MODAL = 9
_ALLOWED_CALLBACKS: dict[int, set[int]] = {
    INTERACTION_APPLICATION_COMMAND: {CALLBACK_MESSAGE, CALLBACK_DEFERRED_MESSAGE, CALLBACK_MODAL},
    INTERACTION_COMPONENT: {4, 5, 6, 7, 9},
    INTERACTION_AUTOCOMPLETE: {CALLBACK_AUTOCOMPLETE},
    INTERACTION_MODAL_SUBMIT: {4, 5, 6, 7},
}

_KEPT_HEADERS = ("authorization", "content-type", "user-agent", "x-audit-log-reason")

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7
MESSAGE_FLAG_COMPONENTS_V2 = 1 << 15

DEFAULT_EVERYONE_PERMISSIONS: int = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    use_external_emojis=True,
    read_message_history=True,
    use_application_commands=True,
    change_nickname=True,
).value
DEFAULT_BOT_PERMISSIONS: int = (
    discord.Permissions(manage_messages=True, manage_threads=True).value | DEFAULT_EVERYONE_PERMISSIONS
)

#: REST "kinds" (see :attr:`RecordedRequest.kind`) that count as replies to an interaction.
RESPONSE_KINDS = frozenset(
    {
        "interaction_callback",
        "followup",
        "edit_original",
        "delete_original",
        "edit_followup",
        "delete_followup",
    }
)


_ATOMS = (str, int, float, bool, type(None))


def _copy_json(value: T) -> T:
    """A deep copy of JSON-shaped data (what ``copy.deepcopy`` returns for it, several times
    faster: the stand-in copies every message it stores, echoes and answers). Anything that is
    not a dict, list or JSON scalar is still copied with ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: _copy_json(v) for k, v in value.items()}  # type: ignore[return-value]
    if type(value) is list:
        return [_copy_json(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, _ATOMS):
        return value
    return copy.deepcopy(value)


def _id_of(obj: JSON | int | str | None) -> int | None:
    """An id from a Discord object dict, an int or a numeric string."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return int(obj["id"])
    return int(obj)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _json_response(status: int, body: Any) -> web.Response:
    if body is None or status == 204:
        return web.Response(status=204)
    # discord.py's json_or_text() only parses the body if the content type is *exactly*
    # 'application/json' (web.json_response would add '; charset=utf-8').
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


def _error(status: int, code: int, message: str, errors: Any = None) -> tuple[int, JSON]:
    body: JSON = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return status, body


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass
class RecordedFile:
    """A file uploaded in a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """One REST request the stand-in received, with the answer it gave."""

    method: str
    path: str
    """Path relative to ``api_base``, e.g. ``/channels/123/messages``."""
    query: dict[str, str]
    json: Any
    """The JSON body (``payload_json`` for multipart requests), or ``None``."""
    files: list[RecordedFile] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    kind: str | None = None
    """Route name, e.g. ``interaction_callback``, ``followup``, ``create_message``."""
    interaction_id: int | None = None
    status: int = 0
    response: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message_data(self) -> JSON:
        """The message-shaped part of the body.

        ``body["data"]`` for interaction callbacks, the body itself for webhook / channel
        message requests (``{}`` if there is none).
        """
        body = self.json if isinstance(self.json, dict) else {}
        if self.kind == "interaction_callback":
            data = body.get("data")
            return data if isinstance(data, dict) else {}
        return body

    @property
    def callback_type(self) -> int | None:
        """The interaction callback type (4-9) for ``interaction_callback`` requests."""
        if self.kind == "interaction_callback" and isinstance(self.json, dict):
            return self.json.get("type")
        return None


@dataclass(frozen=True)
class SentInteraction:
    """An INTERACTION_CREATE the stand-in sent; pass it to ``wait_for_response``."""

    id: int
    token: str
    payload: JSON

    @property
    def type(self) -> int:
        return int(self.payload["type"])


@dataclass
class GatewayConnection:
    """One websocket connection from discord.py."""

    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    compressed: bool
    received: list[JSON] = field(default_factory=list)
    heartbeats: int = 0
    session: _Session | None = None
    closed: bool = False
    _compressor: Any = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Session:
    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    identify: JSON
    seq: int = 0
    events: list[JSON] = field(default_factory=list)
    conn: GatewayConnection | None = None
    resumable: bool = True


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    payload: JSON
    sent_at: float
    acknowledged: bool = False
    callback_type: int | None = None
    original_id: int | None = None
    original_loading: bool = False
    followup_ids: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Validation against Discord's documented limits
# --------------------------------------------------------------------------------------


def _limit_error(path: str, maximum: int) -> JSON:
    return {
        path: {
            "_errors": [
                {
                    "code": "BASE_TYPE_MAX_LENGTH",
                    "message": f"Must be {maximum} or fewer in length.",
                }
            ]
        }
    }


def _embed_errors(embeds: Any) -> JSON:
    errors: JSON = {}
    if not isinstance(embeds, list):
        return errors
    if len(embeds) > 10:
        errors.update(_limit_error("embeds", 10))
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        checks: list[tuple[str, Any, int]] = [
            ("title", embed.get("title"), 256),
            ("description", embed.get("description"), 4096),
            ("footer.text", (embed.get("footer") or {}).get("text"), 2048),
            ("author.name", (embed.get("author") or {}).get("name"), 256),
        ]
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors.update(_limit_error(f"embeds.{i}.fields", 25))
        for j, fld in enumerate(fields):
            checks.append((f"fields.{j}.name", fld.get("name"), 256))
            checks.append((f"fields.{j}.value", fld.get("value"), 1024))
        for name, value, maximum in checks:
            if isinstance(value, str):
                total += len(value)
                if len(value) > maximum:
                    errors.update(_limit_error(f"embeds.{i}.{name}", maximum))
    if total > 6000:
        errors.update(_limit_error("embeds", 6000))
    return errors


def _component_errors(components: Any, flags: int) -> JSON:
    errors: JSON = {}
    if not isinstance(components, list) or flags & MESSAGE_FLAG_COMPONENTS_V2:
        return errors
    if len(components) > 5:
        errors.update(_limit_error("components", 5))
    for i, row in enumerate(components):
        children = row.get("components") or []
        if row.get("type") == 1 and len(children) > 5:
            errors.update(_limit_error(f"components.{i}.components", 5))
        for j, child in enumerate(children):
            where = f"components.{i}.components.{j}"
            if len(str(child.get("custom_id") or "")) > 100:
                errors.update(_limit_error(f"{where}.custom_id", 100))
            if len(str(child.get("label") or "")) > 80:
                errors.update(_limit_error(f"{where}.label", 80))
            if len(child.get("options") or []) > 25:
                errors.update(_limit_error(f"{where}.options", 25))
    return errors


def _message_errors(body: JSON, *, creating: bool, has_files: bool = False) -> JSON | None:
    errors: JSON = {}
    content = body.get("content")
    if isinstance(content, str) and len(content) > 2000:
        errors.update(_limit_error("content", 2000))
    errors.update(_embed_errors(body.get("embeds")))
    errors.update(_component_errors(body.get("components"), int(body.get("flags") or 0)))
    if errors:
        return errors
    if creating and not (
        content
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or has_files
        or body.get("attachments")
    ):
        return {"_empty": True}
    return None


# --------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------


class DiscordStandin:
    """Local fake of Discord's REST API + gateway. See the module docstring."""

    def __init__(
        self,
        *,
        token: str | None = None,
        shard_count: int = 1,
        compress: bool = True,
        heartbeat_interval: float = 41.25,
        interaction_deadline: float | None = 3.0,
        validate: bool = True,
        echo_messages: bool = True,
        bot_name: str = "Tarikh",
        guild_name: str = "Tarikh Test Guild",
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        member_permissions: int | None = None,
    ) -> None:
        """Configure the stand-in (nothing listens until :meth:`start`).

        :param token: if set, REST calls and IDENTIFY must use it (401 / close 4004 otherwise).
        :param shard_count: reported by ``GET /gateway/bot`` (used by ``AutoShardedBot``).
        :param compress: honour ``compress=zlib-stream``; ``False`` always sends text frames.
        :param heartbeat_interval: seconds, sent in HELLO.
        :param interaction_deadline: seconds to send the initial interaction response
            (``None`` disables the check).
        :param member_permissions: permissions of the default user in interaction payloads
            (default: the @everyone permissions).
        """
        self.token = token
        self.shard_count = shard_count
        self.compress = compress
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.validate = validate
        self.echo_messages = echo_messages
        self.everyone_permissions = everyone_permissions
        self.bot_permissions = bot_permissions
        self.member_permissions = everyone_permissions if member_permissions is None else member_permissions

        self._last_snowflake = 0
        self.bot_user: JSON = self._user_payload(self.snowflake(), bot_name, bot=True)
        self.bot_user.update(verified=True, mfa_enabled=False, flags=0, email=None)
        self.application_id: int = int(self.bot_user["id"])
        self.owner: JSON = self._user_payload(self.snowflake(), "owner")
        self.user: JSON = self._user_payload(self.snowflake(), "tester")
        self.users: dict[int, JSON] = {int(u["id"]): u for u in (self.bot_user, self.owner, self.user)}

        self.guild_id: int = self.snowflake()
        self.everyone_role_id: int = self.guild_id
        self.bot_role_id: int = self.snowflake()
        self.category_id: int = self.snowflake()
        self.channel_id: int = self.snowflake()
        self.guild: JSON = self._guild_payload(guild_name)

        # Recorded traffic and state.
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.errors: list[str] = []
        self.messages: dict[int, JSON] = {}
        self.global_commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}
        self.modals: dict[str, JSON] = {}
        self.connections: list[GatewayConnection] = []
        self.identifies: list[JSON] = []
        self.resumes: list[JSON] = []
        self.undelivered: list[tuple[str, JSON]] = []
        self.dm_channels: dict[int, JSON] = {}
        self._sessions: dict[str, _Session] = {}
        self._shard_sessions: dict[int, _Session] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._tokens: dict[str, int] = {}
        self._custom_routes: list[tuple[str, re.Pattern[str], RouteHandler, str]] = []
        self._routes = self._build_routes()
        self._changed: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> DiscordStandin:
        """Start listening on 127.0.0.1 on a random free port."""
        if self._runner is not None:
            return self
        app = web.Application()
        app.router.add_route("*", r"/api/v{version:\d+}/{tail:.*}", self._handle_rest)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/gateway/", self._handle_gateway)
        app.router.add_get("/gateway/resume", self._handle_gateway)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        log.debug("discord stand-in listening on %s", self.http_base)
        return self

    async def close(self) -> None:
        """Close every websocket (code 1000) and stop the server. Close the bot first."""
        for task in list(self._tasks):
            task.cancel()
        for conn in self.connections:
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1000), 2.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStandin:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("DiscordStandin is not started")
        return self._port

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE`` / ``DISCORD_API_BASE``."""
        return f"{self.http_base}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` / ``DISCORD_GATEWAY_URL``."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` sent in READY (a distinct path, so tests can tell)."""
        return f"ws://127.0.0.1:{self.port}/gateway/resume"

    def env(self) -> dict[str, str]:
        """The environment variables the bot reads to find Discord."""
        return {"DISCORD_API_BASE": self.api_base, "DISCORD_GATEWAY_URL": self.gateway_url}

    def patch_discord(self) -> Callable[[], None]:
        """Point discord.py at this stand-in; returns a function undoing it."""
        return point_discord_py_at(self)

    # ------------------------------------------------------------------ ids & fixtures

    def snowflake(self) -> int:
        """A fresh, increasing snowflake whose timestamp is now."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_snowflake = max(candidate, self._last_snowflake + 1)
        return self._last_snowflake

    @staticmethod
    def _user_payload(user_id: int, name: str, *, bot: bool = False) -> JSON:
        return {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": None if bot else name.title(),
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
        }

    def _member_payload(
        self, user: JSON | None, roles: Iterable[int] = (), *, with_user: bool = True
    ) -> JSON:
        member: JSON = {
            "roles": [str(r) for r in roles],
            "joined_at": _now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
        }
        if with_user and user is not None:
            member["user"] = user
        return member

    def _guild_payload(self, name: str) -> JSON:
        gid = str(self.guild_id)
        roles = [
            {
                "id": str(self.everyone_role_id),
                "name": "@everyone",
                "permissions": str(self.everyone_permissions),
                "position": 0,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
                "flags": 0,
            },
            {
                "id": str(self.bot_role_id),
                "name": self.bot_user["username"],
                "permissions": str(self.bot_permissions),
                "position": 1,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "managed": True,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
                "flags": 0,
                "tags": {"bot_id": self.bot_user["id"]},
            },
        ]
        channels = [
            {
                "id": str(self.category_id),
                "type": 4,
                "guild_id": gid,
                "name": "Text Channels",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            },
            self._text_channel_payload(self.channel_id, "general", position=0),
        ]
        return {
            "id": gid,
            "name": name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(self.channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "joined_at": _now_iso(),
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "voice_states": [],
            "members": [
                self._member_payload(self.bot_user, [self.bot_role_id]),
                self._member_payload(self.user),
            ],
            "channels": channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _text_channel_payload(
        self, channel_id: int, name: str, *, position: int, overwrites: Sequence[JSON] = ()
    ) -> JSON:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": position,
            "permission_overwrites": list(overwrites),
            "nsfw": False,
            "parent_id": str(self.category_id),
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def add_text_channel(self, name: str, *, overwrites: Sequence[JSON] = ()) -> JSON:
        """Add a text channel to the test guild (call before the bot connects).

        ``overwrites`` are Discord permission overwrite objects, e.g.
        ``{"id": str(standin.everyone_role_id), "type": 0, "allow": "0", "deny": "2048"}``.
        """
        channel = self._text_channel_payload(
            self.snowflake(), name, position=len(self.guild["channels"]), overwrites=overwrites
        )
        self.guild["channels"].append(channel)
        return channel

    def add_role(self, name: str, permissions: int) -> JSON:
        """Add a role to the test guild (call before the bot connects)."""
        role = _copy_json(self.guild["roles"][0])
        role.update(
            id=str(self.snowflake()),
            name=name,
            permissions=str(permissions),
            position=len(self.guild["roles"]),
        )
        self.guild["roles"].append(role)
        return role

    def make_user(
        self, name: str, *, bot: bool = False, in_guild: bool = True, roles: Iterable[int] = ()
    ) -> JSON:
        """Create a user (and, by default, a guild member sent in GUILD_CREATE)."""
        user = self._user_payload(self.snowflake(), name, bot=bot)
        self.users[int(user["id"])] = user
        if in_guild:
            self.guild["members"].append(self._member_payload(user, roles))
            self.guild["member_count"] = len(self.guild["members"])
        return user

    def channel(self, channel: JSON | int | None = None) -> JSON:
        """The guild channel (default: the text channel) or DM channel with that id."""
        cid = str(_id_of(channel) or self.channel_id)
        for channel in self.guild["channels"]:
            if channel["id"] == cid:
                return channel
        for channel in self.dm_channels.values():
            if channel["id"] == cid:
                return channel
        raise KeyError(f"unknown channel {cid}")

    def dm_channel(self, user: JSON | None = None) -> JSON:
        """The DM channel between the bot and ``user`` (created on first use)."""
        user = user or self.user
        uid = int(user["id"])
        if uid not in self.dm_channels:
            self.dm_channels[uid] = {
                "id": str(self.snowflake()),
                "type": 1,
                "recipients": [user],
                "last_message_id": None,
                "flags": 0,
            }
        return self.dm_channels[uid]

    def _member_roles(self, user_id: str) -> list[str]:
        for member in self.guild["members"]:
            if member.get("user", {}).get("id") == user_id:
                return list(member["roles"])
        return []

    def _role_permissions(self, role_ids: Iterable[str]) -> int:
        wanted = {str(self.everyone_role_id), *role_ids}
        value = 0
        for role in self.guild["roles"]:
            if role["id"] in wanted:
                value |= int(role["permissions"])
        return value

    def bot_permissions_in(self, channel: JSON | int | None = None) -> int:
        """The bot's permissions (roles plus channel overwrites) -- ``app_permissions``."""
        roles = self._member_roles(self.bot_user["id"])
        value = self._role_permissions(roles)
        if value & discord.Permissions(administrator=True).value:
            return discord.Permissions.all().value
        with contextlib.suppress(KeyError):
            overwrites = self.channel(channel).get("permission_overwrites", [])
            for ow in overwrites:
                if (
                    ow["id"] == str(self.everyone_role_id)
                    or (ow.get("type") == 0 and ow["id"] in roles)
                    or (ow.get("type") == 1 and ow["id"] == self.bot_user["id"])
                ):
                    value = (value & ~int(ow.get("deny", 0))) | int(ow.get("allow", 0))
        return value

    def guild_shard(self, guild_id: int | None = None, shard_count: int | None = None) -> int:
        """The shard a guild belongs to: ``(guild_id >> 22) % shard_count``."""
        count = shard_count or self._connected_shard_count()
        return ((guild_id or self.guild_id) >> 22) % max(count, 1)

    def _connected_shard_count(self) -> int:
        for session in self._shard_sessions.values():
            return session.shard_count
        return self.shard_count

    # ------------------------------------------------------------------ waiting

    def _bump(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(
        self, check: Callable[[], T | None], timeout: float, describe: Callable[[], str]
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _summary(self, last: int = 12) -> str:
        lines = [f"  {r.method} {r.path} -> {r.status} ({r.kind})" for r in self.requests[-last:]]
        return "recent REST requests:\n" + ("\n".join(lines) if lines else "  (none)")

    def _live_session(self, shard_id: int) -> _Session | None:
        session = self._shard_sessions.get(shard_id)
        if session is None or session.conn is None or session.conn.ws.closed:
            return None
        return session

    async def wait_until_ready(self, timeout: float = 5.0) -> None:
        """Wait until every shard has a live, identified (or resumed) connection."""

        def check() -> bool | None:
            if not self._shard_sessions:
                return None
            count = self._connected_shard_count()
            ok = all(self._live_session(s) is not None for s in range(count))
            return True if ok else None

        await self._wait_until(
            check,
            timeout,
            lambda: (
                "bot never became ready on the stand-in gateway "
                f"(identifies={len(self.identifies)}, connections={len(self.connections)})\n"
                + self._summary()
            ),
        )

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> RecordedRequest:
        """First recorded REST request (from index ``since``) matching ``predicate``."""

        def check() -> RecordedRequest | None:
            return next((r for r in self.requests[since:] if predicate(r)), None)

        return await self._wait_until(check, timeout, lambda: "no matching REST request\n" + self._summary())

    def _interaction_key(self, interaction: SentInteraction | int | str) -> int:
        if isinstance(interaction, SentInteraction):
            return interaction.id
        if isinstance(interaction, str) and interaction in self._tokens:
            return self._tokens[interaction]
        return int(interaction)

    def responses_for(self, interaction: SentInteraction | int | str) -> list[RecordedRequest]:
        """Every successful reply (callback, followup, edit, delete) to an interaction."""
        iid = self._interaction_key(interaction)
        return [r for r in self.requests if r.interaction_id == iid and r.kind in RESPONSE_KINDS and r.ok]

    async def wait_for_response(
        self,
        interaction: SentInteraction | int | str,
        timeout: float = 5.0,
        *,
        predicate: Callable[[RecordedRequest], bool] | None = None,
    ) -> RecordedRequest:
        """The first successful reply to an interaction (id, token or SentInteraction).

        Use ``predicate`` to skip e.g. a defer: ``lambda r: r.kind == "followup"``.
        ``.json`` is the raw body; ``.message_data`` the message part of it.
        """
        iid = self._interaction_key(interaction)

        def check() -> RecordedRequest | None:
            return next((r for r in self.responses_for(iid) if predicate is None or predicate(r)), None)

        def describe() -> str:
            failed = [
                f"  {r.method} {r.path} -> {r.status}: {r.response}"
                for r in self.requests
                if r.interaction_id == iid and not r.ok
            ]
            text = f"no response to interaction {iid}"
            if failed:
                text += "; failed attempts:\n" + "\n".join(failed)
            return text + "\n" + self._summary()

        return await self._wait_until(check, timeout, describe)

    async def wait_for_gateway(
        self,
        predicate: Callable[[JSON], bool],
        timeout: float = 5.0,
    ) -> JSON:
        """First payload *received from the bot* on any gateway connection matching."""

        def check() -> JSON | None:
            for conn in self.connections:
                for payload in conn.received:
                    if predicate(payload):
                        return payload
            return None

        return await self._wait_until(check, timeout, lambda: "no matching gateway payload from the bot")

    # ------------------------------------------------------------------ gateway

    async def _send(self, conn: GatewayConnection, payload: JSON) -> None:
        raw = json.dumps(payload)
        async with conn._lock:
            if conn.ws.closed:
                return
            try:
                if conn._compressor is not None:
                    data = conn._compressor.compress(raw.encode())
                    data += conn._compressor.flush(zlib.Z_SYNC_FLUSH)
                    await conn.ws.send_bytes(data)
                else:
                    await conn.ws.send_str(raw)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway send failed: %s", exc)

    async def _handle_gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compressed = self.compress and request.query.get("compress") == "zlib-stream"
        conn = GatewayConnection(
            ws=ws,
            path=request.path,
            query=dict(request.query),
            compressed=compressed,
            _compressor=zlib.compressobj() if compressed else None,
        )
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Only JSON encoding is supported")
            return ws
        self.connections.append(conn)
        self._bump()
        try:
            hello = {"heartbeat_interval": int(self.heartbeat_interval * 1000), "_trace": []}
            await self._send(conn, {"op": OP_HELLO, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload")
                    break
                conn.received.append(payload)
                self._bump()
                await self._handle_op(conn, payload)
        finally:
            conn.closed = True
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            self._bump()
        return ws

    async def _handle_op(self, conn: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            conn.heartbeats += 1
            await self._send(conn, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._request_members(conn, data or {})
        elif op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            pass
        else:
            log.warning("stand-in gateway: unexpected op %r: %r", op, payload)
            self.errors.append(f"unexpected gateway op {op!r}")

    def _token_ok(self, token: str | None) -> bool:
        return self.token is None or token == self.token

    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated")
            return
        if not self._token_ok(data.get("token")):
            await conn.ws.close(code=4004, message=b"Authentication failed")
            return
        shard = data.get("shard")
        shard_id, shard_count = (int(shard[0]), int(shard[1])) if shard else (0, 1)
        if shard_id >= shard_count:
            await conn.ws.close(code=4010, message=b"Invalid shard")
            return
        self.identifies.append(data)
        session = _Session(
            session_id=secrets.token_hex(16),
            shard_id=shard_id,
            shard_count=shard_count,
            intents=int(data.get("intents") or 0),
            identify=data,
        )
        old = self._shard_sessions.get(shard_id)
        if old is not None:
            old.resumable = False
        self._sessions[session.session_id] = session
        self._shard_sessions[shard_id] = session
        session.conn = conn
        conn.session = session
        ready: JSON = {
            "v": API_VERSION,
            "user": self.bot_user,
            "user_settings": {},
            "guilds": [],
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "_trace": ["discord-standin"],
        }
        if shard:
            ready["shard"] = [shard_id, shard_count]
        owns_guild = self.guild_shard(shard_count=shard_count) == shard_id
        if owns_guild:
            ready["guilds"] = [{"id": str(self.guild_id), "unavailable": True}]
        await self._dispatch_on(session, "READY", ready)
        if owns_guild:
            await self._dispatch_on(session, "GUILD_CREATE", _copy_json(self.guild))
        self._bump()

    async def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if (
            session is None
            or not session.resumable
            or not self._token_ok(data.get("token"))
            or self._shard_sessions.get(session.shard_id) is not session
        ):
            await self._send(conn, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.resumes.append(data)
        previous = session.conn
        session.conn = conn
        conn.session = session
        if previous is not None and previous is not conn and not previous.ws.closed:
            previous.session = None
            self._spawn(previous.ws.close(code=4000))
        last_seq = int(data.get("seq") or 0)
        for event in list(session.events):
            if event["s"] > last_seq:
                await self._send(conn, event)
        await self._dispatch_on(session, "RESUMED", {"_trace": ["discord-standin"]})
        self._bump()

    async def _request_members(self, conn: GatewayConnection, data: JSON) -> None:
        if conn.session is None or str(data.get("guild_id")) != str(self.guild_id):
            return
        members = self.guild["members"]
        if data.get("user_ids"):
            wanted = {str(u) for u in data["user_ids"]}
            members = [m for m in members if m["user"]["id"] in wanted]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if m["user"]["username"].lower().startswith(query)]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(self.guild_id),
            "members": _copy_json(members),
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        if data.get("presences"):
            chunk["presences"] = []
        await self._dispatch_on(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _dispatch_on(self, session: _Session, event: str, data: JSON) -> int:
        session.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        if session.conn is not None:
            await self._send(session.conn, payload)
        return session.seq

    async def send_dispatch(
        self,
        event: str,
        data: JSON,
        *,
        shard_id: int | None = None,
        wait_live: bool = True,
        timeout: float = 5.0,
    ) -> int:
        """Send a DISPATCH event; returns its sequence number.

        The shard defaults to the one owning ``data["guild_id"]`` (shard 0 without one). With
        ``wait_live`` (default) this waits for a live connection on that shard; otherwise, if
        the bot is disconnected the event is only queued, and replayed when it RESUMEs.
        """
        if shard_id is None:
            gid = data.get("guild_id")
            shard_id = self.guild_shard(int(gid)) if gid else 0
        sid = shard_id

        def current() -> _Session | None:
            return self._live_session(sid) if wait_live else self._shard_sessions.get(sid)

        session = await self._wait_until(
            current,
            timeout,
            lambda: f"no {'live ' if wait_live else ''}gateway session on shard {sid} to send {event}",
        )
        return await self._dispatch_on(session, event, data)

    async def drop_connection(self, code: int = 4000, *, shard_id: int = 0, resumable: bool = True) -> None:
        """Close the bot's websocket from the server side.

        discord.py RESUMEs after any close code except 4004 and 4010-4014 (fatal). With
        ``resumable=False`` the session is forgotten, so the RESUME gets INVALID_SESSION
        and discord.py re-IDENTIFYs (which sleeps 5 s in ``before_identify_hook``!).
        """
        session = self._shard_sessions.get(shard_id)
        if session is None or session.conn is None:
            raise RuntimeError(f"shard {shard_id} is not connected")
        conn = session.conn
        session.conn = None
        session.resumable = resumable
        self._bump()
        await asyncio.wait_for(conn.ws.close(code=code, message=b"dropped by stand-in"), 5.0)

    async def request_reconnect(self, *, shard_id: int = 0) -> None:
        """Send op 7 RECONNECT; discord.py closes and RESUMEs."""
        session = self._live_session(shard_id)
        if session is None or session.conn is None:
            raise RuntimeError(f"shard {shard_id} is not connected")
        await self._send(session.conn, {"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool = False, shard_id: int = 0) -> None:
        """Send op 9 INVALID_SESSION (``d=resumable``)."""
        session = self._live_session(shard_id)
        if session is None or session.conn is None:
            raise RuntimeError(f"shard {shard_id} is not connected")
        if not resumable:
            session.resumable = False
        payload = {"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None}
        await self._send(session.conn, payload)

    def intents(self, shard_id: int = 0) -> discord.Intents | None:
        """The intents the bot IDENTIFYed with on a shard (``None`` before IDENTIFY)."""
        session = self._shard_sessions.get(shard_id)
        return None if session is None else discord.Intents._from_value(session.intents)

    # ------------------------------------------------------------------ interactions

    def _channel_for(self, guild: bool, channel: JSON | int | None, user: JSON) -> JSON:
        if not guild:
            return self.dm_channel(user)
        return self.channel(channel)

    async def _send_interaction(
        self,
        itype: int,
        data: JSON,
        *,
        user: JSON | None,
        guild: bool,
        channel: JSON | int | None,
        permissions: int | None,
        app_permissions: int | None,
        locale: str,
        message: JSON | None = None,
        roles: Iterable[int] | None = None,
    ) -> SentInteraction:
        user = user or self.user
        iid = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        channel = self._channel_for(guild, channel, user)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel_id": channel["id"],
            "channel": _copy_json(channel),
        }
        if guild:
            role_ids = [str(r) for r in roles] if roles is not None else self._member_roles(user["id"])
            member = self._member_payload(user, role_ids)
            member["permissions"] = str(self.member_permissions if permissions is None else permissions)
            payload.update(
                guild_id=str(self.guild_id),
                guild={"id": str(self.guild_id), "locale": "en-US", "features": []},
                guild_locale=self.guild.get("preferred_locale", "en-US"),
                member=member,
                authorizing_integration_owners={"0": str(self.guild_id)},
                context=0,
                app_permissions=str(
                    self.bot_permissions_in(int(channel["id"]))
                    if app_permissions is None
                    else app_permissions
                ),
            )
        else:
            payload.update(
                user=user,
                authorizing_integration_owners={"0": "0"},
                context=1,
                app_permissions=str(DEFAULT_BOT_PERMISSIONS if app_permissions is None else app_permissions),
            )
        if message is not None:
            payload["message"] = _copy_json(message)
        self._interactions[iid] = _Interaction(
            id=iid, token=token, type=itype, payload=payload, sent_at=time.monotonic()
        )
        self._tokens[token] = iid
        shard = self.guild_shard() if guild else 0
        await self.send_dispatch("INTERACTION_CREATE", payload, shard_id=shard)
        # the deadline counts from when the bot could see it
        self._interactions[iid].sent_at = time.monotonic()
        return SentInteraction(id=iid, token=token, payload=payload)

    def _command_definition(self, name: str, guild: bool) -> JSON | None:
        pools = [self.guild_commands.get(self.guild_id, [])] if guild else []
        pools.append(self.global_commands)
        for pool in pools:
            for cmd in pool:
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd
        return None

    @staticmethod
    def _infer_option_type(value: Any) -> int:
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        if isinstance(value, Mapping) and "username" in value:
            return 6
        if isinstance(value, Mapping) and "type" in value and "name" in value:
            return 7
        return 3

    def _build_options(
        self,
        options: Mapping[str, Any] | Sequence[JSON] | None,
        definitions: Sequence[JSON],
        resolved: JSON,
        *,
        focused: str | None = None,
    ) -> list[JSON]:
        if options is None:
            return []
        if not isinstance(options, Mapping):
            return [dict(o) for o in options]
        types = {d["name"]: d["type"] for d in definitions}
        built: list[JSON] = []
        for name, value in options.items():
            otype = types.get(name, self._infer_option_type(value))
            option: JSON = {"name": name, "type": otype}
            if name == focused:
                option["value"] = str(value)
                option["focused"] = True
            elif otype == 6:
                user = value if isinstance(value, Mapping) else self.users[int(value)]
                option["value"] = str(user["id"])
                resolved.setdefault("users", {})[str(user["id"])] = dict(user)
                member = self._member_payload(None, self._member_roles(str(user["id"])))
                member["permissions"] = str(self.member_permissions)
                resolved.setdefault("members", {})[str(user["id"])] = member
            elif otype == 7:
                channel = value if isinstance(value, Mapping) else self.channel(int(value))
                option["value"] = str(channel["id"])
                partial = {k: channel.get(k) for k in ("id", "name", "type", "parent_id", "guild_id")}
                partial["permissions"] = str(self.member_permissions)
                resolved.setdefault("channels", {})[str(channel["id"])] = partial
            else:
                option["value"] = value
            built.append(option)
        return built

    def _command_data(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None,
        subcommand: str | None,
        guild: bool,
        *,
        focused: str | None = None,
        resolved: JSON | None = None,
    ) -> JSON:
        definition = self._command_definition(name, guild)
        definitions: list[JSON] = list((definition or {}).get("options") or [])
        path = subcommand.split() if subcommand else []
        resolved_data: JSON = dict(resolved or {})
        path_defs: list[tuple[str, int]] = []
        for part in path:
            sub = next((d for d in definitions if d["name"] == part), None)
            default_type = 2 if part != path[-1] else 1
            path_defs.append((part, sub["type"] if sub else default_type))
            definitions = list((sub or {}).get("options") or [])
        built = self._build_options(options, definitions, resolved_data, focused=focused)
        for part, ptype in reversed(path_defs):
            built = [{"name": part, "type": ptype, "options": built}]
        data: JSON = {
            "id": str(definition["id"]) if definition else str(self.snowflake()),
            "name": name,
            "type": 1,
            "options": built,
        }
        if definition is not None and definition.get("guild_id"):
            data["guild_id"] = str(definition["guild_id"])
        if resolved_data:
            data["resolved"] = resolved_data
        return data

    async def slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None = None,
        *,
        subcommand: str | None = None,
        user: JSON | None = None,
        guild: bool = True,
        channel: JSON | int | None = None,
        permissions: int | None = None,
        app_permissions: int | None = None,
        roles: Iterable[int] | None = None,
        locale: str = "en-US",
        resolved: JSON | None = None,
    ) -> SentInteraction:
        """Send a chat-input command (INTERACTION_CREATE type 2).

        ``options`` is ``{name: value}`` (types come from the synced command definition if
        the bot synced, else from the Python type; user/channel dicts become type 6/7 with
        ``resolved`` data) or a raw list of option objects. ``subcommand`` is ``"sub"`` or
        ``"group sub"``. ``guild=False`` sends it from a DM.
        """
        data = self._command_data(name, options, subcommand, guild, resolved=resolved)
        return await self._send_interaction(
            INTERACTION_APPLICATION_COMMAND,
            data,
            user=user,
            guild=guild,
            channel=channel,
            permissions=permissions,
            app_permissions=app_permissions,
            locale=locale,
            roles=roles,
        )

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON],
        *,
        focused: str | None = None,
        subcommand: str | None = None,
        user: JSON | None = None,
        guild: bool = True,
        channel: JSON | int | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> SentInteraction:
        """Send an autocomplete interaction (type 4).

        ``focused`` names the option being typed (default: the last one in ``options``); its
        value is sent as the partial string the user typed. Raw option lists must carry
        ``"focused": True`` themselves.
        """
        if isinstance(options, Mapping) and focused is None and options:
            focused = list(options)[-1]
        data = self._command_data(name, options, subcommand, guild, focused=focused)
        return await self._send_interaction(
            INTERACTION_AUTOCOMPLETE,
            data,
            user=user,
            guild=guild,
            channel=channel,
            permissions=permissions,
            app_permissions=None,
            locale=locale,
        )

    @staticmethod
    def _walk_components(components: Iterable[JSON]) -> Iterable[JSON]:
        for comp in components:
            yield comp
            yield from DiscordStandin._walk_components(comp.get("components") or [])
            if isinstance(comp.get("component"), dict):
                yield from DiscordStandin._walk_components([comp["component"]])
            if isinstance(comp.get("accessory"), dict):
                yield from DiscordStandin._walk_components([comp["accessory"]])

    def _find_component(self, message: JSON, custom_id: str) -> JSON | None:
        for comp in self._walk_components(message.get("components") or []):
            if comp.get("custom_id") == custom_id:
                return comp
        return None

    def find_message_with_component(self, custom_id: str) -> JSON:
        """The newest known message carrying a component with this ``custom_id``."""
        for message in reversed(list(self.messages.values())):
            if self._find_component(message, custom_id) is not None:
                return message
        raise KeyError(f"no message has a component with custom_id {custom_id!r}")

    def _resolve_message(self, message: JSON | int | RecordedRequest | None, custom_id: str) -> JSON:
        if message is None:
            return self.find_message_with_component(custom_id)
        if isinstance(message, RecordedRequest):
            msg = message.response
            if isinstance(msg, dict) and "resource" in msg:
                msg = msg["resource"].get("message")
            if not isinstance(msg, dict) or "id" not in msg:
                raise ValueError("that request did not return a message")
            return self.messages.get(int(msg["id"]), msg)
        if isinstance(message, int):
            return self.messages[message]
        return self.messages.get(int(message["id"]), dict(message))

    async def click_button(
        self,
        custom_id: str,
        message: JSON | int | RecordedRequest | None = None,
        *,
        values: Sequence[str] | None = None,
        component_type: int | None = None,
        user: JSON | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> SentInteraction:
        """Send a message-component interaction (type 3).

        ``message`` is the message object the bot sent (a dict from ``standin.messages``,
        its id, or the RecordedRequest that created it); by default the newest message with
        a component of that ``custom_id``. ``values`` are for select menus.
        """
        msg = self._resolve_message(message, custom_id)
        comp = self._find_component(msg, custom_id)
        ctype = component_type or (comp.get("type") if comp else None) or 2
        data: JSON = {"custom_id": custom_id, "component_type": ctype}
        if comp is not None and comp.get("id") is not None:
            data["id"] = comp["id"]
        if values is not None or ctype in (3, 5, 6, 7, 8):
            data["values"] = list(values or [])
        guild = "guild_id" in msg
        return await self._send_interaction(
            INTERACTION_COMPONENT,
            data,
            user=user,
            guild=guild,
            channel=int(msg["channel_id"]) if guild else None,
            permissions=permissions,
            app_permissions=None,
            locale=locale,
            message=msg,
        )

    async def select(
        self,
        custom_id: str,
        values: Sequence[str],
        message: JSON | int | RecordedRequest | None = None,
        *,
        user: JSON | None = None,
    ) -> SentInteraction:
        """Choose ``values`` in a select menu (a type 3 interaction)."""
        return await self.click_button(custom_id, message, values=values, user=user)

    async def submit_modal(
        self,
        custom_id: str,
        values: Mapping[str, str | Sequence[str]],
        *,
        message: JSON | int | None = None,
        user: JSON | None = None,
        guild: bool = True,
        channel: JSON | int | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> SentInteraction:
        """Submit a modal (type 5). ``values`` maps text-input custom_id -> text (or a list
        of values for a select inside a label)."""
        components: list[JSON] = []
        for cid, value in values.items():
            if isinstance(value, str):
                components.append({"type": 1, "components": [{"type": 4, "custom_id": cid, "value": value}]})
            else:
                components.append(
                    {"type": 18, "component": {"type": 3, "custom_id": cid, "values": list(value)}}
                )
        msg = self.messages[message] if isinstance(message, int) else message
        return await self._send_interaction(
            INTERACTION_MODAL_SUBMIT,
            {"custom_id": custom_id, "components": components},
            user=user,
            guild=guild,
            channel=channel,
            permissions=permissions,
            app_permissions=None,
            locale=locale,
            message=msg,
        )

    # ------------------------------------------------------------------ messages from users

    async def user_message(
        self,
        content: str,
        *,
        user: JSON | None = None,
        channel: JSON | int | None = None,
        guild: bool = True,
        mention_bot: bool = False,
        mentions: Sequence[JSON] = (),
        reply_to: JSON | int | None = None,
        embeds: Sequence[JSON] = (),
    ) -> JSON:
        """Send MESSAGE_CREATE for a message a user wrote; returns the message object.

        Applies Discord's intent rules (see the module docstring); a message the bot would
        not receive is appended to ``standin.undelivered`` instead of being sent.
        """
        user = user or self.user
        channel = self._channel_for(guild, channel, user)
        mentioned = [dict(m) for m in mentions]
        if mention_bot and all(m["id"] != self.bot_user["id"] for m in mentioned):
            mentioned.append(dict(self.bot_user))
        message: JSON = {
            "id": str(self.snowflake()),
            "channel_id": channel["id"],
            "author": user,
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentioned,
            "mention_roles": [],
            "attachments": [],
            "embeds": list(embeds),
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
            "nonce": str(self.snowflake()),
        }
        if guild:
            message["guild_id"] = str(self.guild_id)
            message["member"] = self._member_payload(None, self._member_roles(user["id"]), with_user=False)
        if reply_to is not None:
            ref = self.messages[reply_to] if isinstance(reply_to, int) else reply_to
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "message_id": ref["id"],
                "channel_id": ref["channel_id"],
                "guild_id": ref.get("guild_id"),
            }
            message["referenced_message"] = _copy_json(ref)
        self.messages[int(message["id"])] = message
        await self._deliver_message(message, guild=guild)
        return message

    async def mention_message(
        self,
        content: str,
        *,
        user: JSON | None = None,
        channel: JSON | int | None = None,
        prefix: bool = True,
        reply_to: JSON | int | None = None,
    ) -> JSON:
        """A guild message mentioning the bot (content is delivered without the
        MESSAGE_CONTENT intent, as on Discord). ``prefix`` prepends ``<@bot_id> ``."""
        bot_id = self.bot_user["id"]
        if prefix and f"<@{bot_id}>" not in content and f"<@!{bot_id}>" not in content:
            content = f"<@{bot_id}> {content}"
        return await self.user_message(
            content, user=user, channel=channel, mention_bot=True, reply_to=reply_to
        )

    async def _deliver_message(
        self, message: JSON, *, guild: bool, wait_live: bool = True, copied: bool = False
    ) -> None:
        """MESSAGE_CREATE for ``message`` (a copy of it; ``copied``: it already is one, nobody
        else holds it)."""
        shard = self.guild_shard() if guild else 0
        session = self._shard_sessions.get(shard)
        intents = session.intents if session is not None else 0
        needed = INTENT_GUILD_MESSAGES if guild else INTENT_DIRECT_MESSAGES
        if session is not None and not intents & needed:
            log.warning("stand-in: bot lacks the intent to receive message %s", message["id"])
            self.undelivered.append(("MESSAGE_CREATE", message))
            return
        payload = message if copied else _copy_json(message)
        is_own = payload["author"]["id"] == self.bot_user["id"]
        mentioned = any(m["id"] == self.bot_user["id"] for m in payload.get("mentions", []))
        if guild and not is_own and not mentioned and not intents & INTENT_MESSAGE_CONTENT:
            payload.update(content="", embeds=[], attachments=[], components=[])
            payload.pop("poll", None)
        await self.send_dispatch("MESSAGE_CREATE", payload, shard_id=shard, wait_live=wait_live)

    # ------------------------------------------------------------------ REST plumbing

    def add_route(self, method: str, pattern: str, handler: RouteHandler, kind: str = "custom") -> None:
        """Answer ``method pattern`` (regex on the path after ``/api/v10``, named groups go
        to ``match``) with ``handler(request, match) -> (status, json_body)``; may be async.
        Custom routes are tried before the built-in ones."""
        self._custom_routes.append((method.upper(), re.compile(pattern), handler, kind))

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], RouteHandler, str]]:
        app = r"(?P<app>\d+)"
        gid = r"(?P<guild>\d+)"
        cid = r"(?P<channel>\d+)"
        token = r"(?P<token>[^/]+)"
        table: list[tuple[str, str, RouteHandler, str]] = [
            ("GET", "/users/@me", self._r_me, "get_me"),
            ("GET", r"/users/(?P<user>\d+)", self._r_user, "get_user"),
            ("POST", "/users/@me/channels", self._r_create_dm, "create_dm"),
            ("GET", "/gateway", self._r_gateway, "get_gateway"),
            ("GET", "/gateway/bot", self._r_gateway_bot, "get_gateway_bot"),
            ("GET", "/oauth2/applications/@me", self._r_app_info, "application_info"),
            ("GET", "/applications/@me", self._r_app_info, "application_info"),
            ("GET", f"/applications/{app}/commands", self._r_list_commands, "get_commands"),
            ("PUT", f"/applications/{app}/commands", self._r_put_commands, "sync_commands"),
            ("POST", f"/applications/{app}/commands", self._r_upsert_command, "create_command"),
            (
                "GET",
                f"/applications/{app}/guilds/{gid}/commands/permissions",
                self._r_command_permissions,
                "get_command_permissions",
            ),
            (
                "GET",
                f"/applications/{app}/guilds/{gid}/commands",
                self._r_list_commands,
                "get_guild_commands",
            ),
            (
                "PUT",
                f"/applications/{app}/guilds/{gid}/commands",
                self._r_put_commands,
                "sync_guild_commands",
            ),
            (
                "POST",
                f"/applications/{app}/guilds/{gid}/commands",
                self._r_upsert_command,
                "create_guild_command",
            ),
            (
                "*",
                rf"/applications/{app}(?:/guilds/{gid})?/commands/(?P<command>\d+)",
                self._r_one_command,
                "command",
            ),
            (
                "POST",
                rf"/interactions/(?P<iid>\d+)/{token}/callback",
                self._r_callback,
                "interaction_callback",
            ),
            ("POST", f"/webhooks/{app}/{token}", self._r_followup, "followup"),
            (
                "*",
                rf"/webhooks/{app}/{token}/messages/(?P<message>@original|\d+)",
                self._r_webhook_message,
                "webhook_message",
            ),
            ("GET", f"/channels/{cid}", self._r_get_channel, "get_channel"),
            ("POST", f"/channels/{cid}/messages", self._r_create_message, "create_message"),
            ("GET", f"/channels/{cid}/messages", self._r_history, "get_messages"),
            (
                "*",
                rf"/channels/{cid}/messages/(?P<message>\d+)",
                self._r_channel_message,
                "channel_message",
            ),
            ("POST", f"/channels/{cid}/typing", self._r_no_content, "typing"),
            (
                "*",
                rf"/channels/{cid}/messages/(?P<message>\d+)/reactions/.+",
                self._r_no_content,
                "reaction",
            ),
            ("GET", f"/guilds/{gid}", self._r_get_guild, "get_guild"),
            ("GET", f"/guilds/{gid}/channels", self._r_guild_channels, "get_guild_channels"),
            ("GET", f"/guilds/{gid}/roles", self._r_guild_roles, "get_roles"),
            ("GET", rf"/guilds/{gid}/members/(?P<user>\d+)", self._r_member, "get_member"),
        ]
        return [(m, re.compile(p), h, k) for m, p, h, k in table]

    async def _read_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        files: list[RecordedFile] = []
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: discord.py never sends it
                raw = await part.read(decode=False)
                name = part.name or ""
                if name == "payload_json":
                    payload = json.loads(bytes(raw).decode())
                else:
                    files.append(
                        RecordedFile(
                            field=name,
                            filename=part.filename,
                            content_type=part.headers.get("Content-Type"),
                            data=bytes(raw),
                        )
                    )
            return payload, files
        raw_body = await request.read()
        if not raw_body:
            return None, files
        try:
            return json.loads(raw_body), files
        except ValueError:
            return raw_body.decode(errors="replace"), files

    async def _handle_rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        rec = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body,
            files=files,
            headers={k: v for k, v in request.headers.items() if k.lower() in _KEPT_HEADERS},
        )
        if request.match_info.get("version") != str(API_VERSION):
            status, answer = _error(404, 0, f"stand-in only speaks API v{API_VERSION}")
        else:
            status, answer = await self._route(request, rec)
        rec.status, rec.response = status, answer
        self.requests.append(rec)
        if status == 404 and rec.kind is None:
            self.unhandled.append(rec)
            log.warning("stand-in: unhandled %s %s", rec.method, rec.path)
        self._bump()
        return _json_response(status, answer)

    async def _route(self, request: web.Request, rec: RecordedRequest) -> tuple[int, Any]:
        for method, pattern, handler, kind in self._custom_routes + self._routes:
            if method not in ("*", rec.method):
                continue
            match = pattern.fullmatch(rec.path)
            if match is None:
                continue
            rec.kind = kind
            unauthenticated = kind in ("interaction_callback", "followup", "webhook_message")
            if not unauthenticated and not self._token_ok(
                (request.headers.get("Authorization") or "").removeprefix("Bot ")
            ):
                return _error(401, 0, "401: Unauthorized")
            try:
                result = handler(rec, match)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                log.exception("stand-in handler for %s %s failed", rec.method, rec.path)
                self.errors.append(f"{rec.method} {rec.path}: {exc!r}")
                # 400 rather than 500: discord.py retries 5xx with multi-second sleeps.
                return _error(400, 0, f"stand-in handler error: {exc!r}")
            status, answer = result
            return status, answer
        return _error(404, 0, "404: Not Found")

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(f"background task failed: {task.exception()!r}")
            log.warning("stand-in background task failed: %r", task.exception())

    # ------------------------------------------------------------------ REST: misc

    def _r_me(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        return 200, self.bot_user

    def _r_user(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        user = self.users.get(int(m["user"]))
        return (200, user) if user else _error(404, 10013, "Unknown User")

    def _r_create_dm(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        user = self.users.get(int((rec.json or {}).get("recipient_id", 0)))
        if user is None:
            return _error(400, 50007, "Cannot send messages to this user")
        return 200, self.dm_channel(user)

    def _r_gateway(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    def _r_gateway_bot(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": self.shard_count,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        }

    def _r_app_info(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        return 200, {
            "id": str(self.application_id),
            "name": self.bot_user["username"],
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "bot": self.bot_user,
            "owner": self.owner,
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": 1,
            "integration_types_config": {"0": {}},
        }

    def _r_no_content(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        return 204, None

    def _r_get_channel(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        try:
            return 200, self.channel(int(m["channel"]))
        except KeyError:
            return _error(404, 10003, "Unknown Channel")

    def _r_get_guild(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        if int(m["guild"]) != self.guild_id:
            return _error(404, 10004, "Unknown Guild")
        keep = ("members", "channels", "threads", "presences", "voice_states", "joined_at")
        return 200, {k: v for k, v in self.guild.items() if k not in keep}

    def _r_guild_channels(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        if int(m["guild"]) != self.guild_id:
            return _error(404, 10004, "Unknown Guild")
        return 200, self.guild["channels"]

    def _r_guild_roles(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        if int(m["guild"]) != self.guild_id:
            return _error(404, 10004, "Unknown Guild")
        return 200, self.guild["roles"]

    def _r_member(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        for member in self.guild["members"]:
            if member["user"]["id"] == m["user"] and int(m["guild"]) == self.guild_id:
                return 200, member
        return _error(404, 10007, "Unknown Member")

    # ------------------------------------------------------------------ REST: commands

    def _command_pool(self, m: re.Match[str]) -> list[JSON] | None:
        if int(m["app"]) != self.application_id:
            return None
        guild = m.groupdict().get("guild")
        if guild:
            return self.guild_commands.setdefault(int(guild), [])
        return self.global_commands

    def _normalise_command(self, body: JSON, m: re.Match[str], old: JSON | None) -> JSON:
        cmd = _copy_json(body)
        cmd.setdefault("type", 1)
        cmd.setdefault("description", "")
        cmd.setdefault("options", [])
        cmd.setdefault("default_member_permissions", None)
        cmd.setdefault("nsfw", False)
        cmd["id"] = old["id"] if old else str(self.snowflake())
        cmd["application_id"] = str(self.application_id)
        cmd["version"] = str(self.snowflake())
        guild = m.groupdict().get("guild")
        if guild:
            cmd["guild_id"] = guild
        else:
            cmd.setdefault("contexts", None)
            cmd.setdefault("integration_types", [0])
        return cmd

    def _r_list_commands(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        pool = self._command_pool(m)
        return (200, pool) if pool is not None else _error(403, 50001, "Missing Access")

    def _r_put_commands(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        pool = self._command_pool(m)
        if pool is None:
            return _error(403, 50001, "Missing Access")
        if not isinstance(rec.json, list):
            return _error(400, 50035, "Invalid Form Body")
        names = [(c.get("name"), c.get("type", 1)) for c in rec.json]
        if len(names) != len(set(names)):
            return _error(400, 50035, "Invalid Form Body", {"_errors": "duplicate command name"})
        old = {(c["name"], c["type"]): c for c in pool}
        new = [self._normalise_command(c, m, old.get((c["name"], c.get("type", 1)))) for c in rec.json]
        pool[:] = new
        return 200, new

    def _r_upsert_command(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        pool = self._command_pool(m)
        if pool is None or not isinstance(rec.json, dict):
            return _error(400, 50035, "Invalid Form Body")
        key = (rec.json.get("name"), rec.json.get("type", 1))
        old = next((c for c in pool if (c["name"], c["type"]) == key), None)
        cmd = self._normalise_command(rec.json, m, old)
        if old is not None:
            pool[pool.index(old)] = cmd
            return 200, cmd
        pool.append(cmd)
        return 201, cmd

    def _r_one_command(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        pool = self._command_pool(m)
        cmd = next((c for c in pool or [] if c["id"] == m["command"]), None)
        if pool is None or cmd is None:
            return _error(404, 10063, "Unknown application command")
        if rec.method == "GET":
            return 200, cmd
        if rec.method == "DELETE":
            pool.remove(cmd)
            return 204, None
        if rec.method == "PATCH" and isinstance(rec.json, dict):
            cmd.update(_copy_json(rec.json))
            return 200, cmd
        return _error(405, 0, "405: Method Not Allowed")

    def _r_command_permissions(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        return 200, []

    # ------------------------------------------------------------------ REST: messages

    def _attachments(self, body: JSON, files: list[RecordedFile], channel_id: str) -> list[JSON]:
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        out: list[JSON] = []
        for f in files:
            index = f.field.removeprefix("files[").removesuffix("]")
            meta = described.get(index, {})
            aid = str(self.snowflake())
            filename = meta.get("filename") or f.filename or "file"
            url = f"{self.http_base}/attachments/{channel_id}/{aid}/{filename}"
            out.append(
                {
                    "id": aid,
                    "filename": filename,
                    "size": len(f.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": f.content_type,
                    "description": meta.get("description"),
                }
            )
        return out

    def _make_message(
        self,
        channel: JSON,
        body: JSON,
        files: list[RecordedFile],
        *,
        interaction: _Interaction | None = None,
        msg_type: int = 0,
    ) -> JSON:
        embeds = [dict(e, type=e.get("type", "rich")) for e in body.get("embeds") or []]
        message: JSON = {
            "id": str(self.snowflake()),
            "channel_id": channel["id"],
            "author": self.bot_user,
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": self._attachments(body, files, channel["id"]),
            "embeds": embeds,
            "reactions": [],
            "pinned": False,
            "type": msg_type,
            "flags": int(body.get("flags") or 0),
            "components": _copy_json(body.get("components") or []),
        }
        if channel.get("guild_id"):
            message["guild_id"] = channel["guild_id"]
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if body.get("poll"):
            message["poll"] = _copy_json(body["poll"])
        ref = body.get("message_reference")
        if isinstance(ref, dict) and ref.get("message_id"):
            referenced = self.messages.get(int(ref["message_id"]))
            message["type"] = 19
            message["message_reference"] = {
                "type": ref.get("type", 0),
                "message_id": str(ref["message_id"]),
                "channel_id": str(ref.get("channel_id") or channel["id"]),
                "guild_id": channel.get("guild_id"),
            }
            message["referenced_message"] = _copy_json(referenced)
            if referenced is not None and ((body.get("allowed_mentions") or {}).get("replied_user", True)):
                message["mentions"] = [referenced["author"]]
        if interaction is not None:
            user = interaction.payload.get("member", {}).get("user") or interaction.payload.get("user")
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            metadata: JSON = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if interaction.type == INTERACTION_APPLICATION_COMMAND:
                metadata["name"] = interaction.payload["data"].get("name")
                metadata["command_type"] = interaction.payload["data"].get("type", 1)
            if "message" in interaction.payload:
                metadata["interacted_message_id"] = interaction.payload["message"]["id"]
            message["interaction_metadata"] = metadata
        self.messages[int(message["id"])] = message
        return message

    def _edit_message(self, message: JSON, body: JSON, files: list[RecordedFile]) -> JSON:
        for key in ("content", "components", "flags", "poll"):
            if key in body:
                message[key] = _copy_json(body[key]) if body[key] is not None else None
        if message.get("content") is None:
            message["content"] = ""
        if message.get("components") is None:
            message["components"] = []
        if "embeds" in body:
            message["embeds"] = [dict(e, type=e.get("type", "rich")) for e in body.get("embeds") or []]
        if "attachments" in body or files:
            keep = {str(a.get("id")) for a in body.get("attachments") or []}
            kept = [a for a in message.get("attachments", []) if a["id"] in keep]
            message["attachments"] = kept + self._attachments(body, files, message["channel_id"])
        message["flags"] = int(message.get("flags") or 0) & ~MESSAGE_FLAG_LOADING
        message["edited_timestamp"] = _now_iso()
        return message

    def _validation_error(
        self, body: Any, *, creating: bool, has_files: bool = False
    ) -> tuple[int, JSON] | None:
        if not self.validate:
            return None
        if not isinstance(body, dict):
            return _error(400, 50035, "Invalid Form Body") if creating else None
        errors = _message_errors(body, creating=creating, has_files=has_files)
        if errors is None:
            return None
        if errors.get("_empty"):
            return _error(400, 50006, "Cannot send an empty message")
        return _error(400, 50035, "Invalid Form Body", errors)

    def _echo(self, message: JSON) -> None:
        if self.echo_messages and not int(message.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL:
            guild = bool(message.get("guild_id"))
            echoed = _copy_json(message)
            if guild:
                echoed["member"] = self._member_payload(
                    None, self._member_roles(self.bot_user["id"]), with_user=False
                )
            # wait_live=False: if the bot is offline the echo is only queued for a RESUME.
            self._spawn(self._deliver_message(echoed, guild=guild, wait_live=False, copied=True))

    def _r_create_message(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        try:
            channel = self.channel(int(m["channel"]))
        except KeyError:
            return _error(404, 10003, "Unknown Channel")
        needed = discord.Permissions(view_channel=True, send_messages=True).value
        allowed = self.bot_permissions_in(int(channel["id"]))
        if channel.get("guild_id") and (allowed & needed) != needed:
            return _error(403, 50013, "Missing Permissions")
        error = self._validation_error(rec.json, creating=True, has_files=bool(rec.files))
        if error:
            return error
        message = self._make_message(channel, rec.json or {}, rec.files)
        self._echo(message)
        return 200, message

    def _r_history(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        limit = max(1, min(int(rec.query.get("limit", 50)), 100))
        found = sorted(
            (
                msg
                for msg in self.messages.values()
                if msg["channel_id"] == m["channel"]
                and not int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL
            ),
            key=lambda msg: int(msg["id"]),
        )
        if "after" in rec.query:
            after = int(rec.query["after"])
            page = [msg for msg in found if int(msg["id"]) > after][:limit]
        else:
            before = int(rec.query.get("before") or 1 << 63)
            page = [msg for msg in found if int(msg["id"]) < before][-limit:]
        return 200, list(reversed(page))  # Discord returns newest first

    def _r_channel_message(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        message = self.messages.get(int(m["message"]))
        if message is None or message["channel_id"] != m["channel"]:
            return _error(404, 10008, "Unknown Message")
        if rec.method == "GET":
            return 200, message
        if rec.method == "DELETE":
            del self.messages[int(m["message"])]
            return 204, None
        if rec.method == "PATCH":
            if message["author"]["id"] != self.bot_user["id"]:
                return _error(403, 50005, "Cannot edit a message authored by another user")
            error = self._validation_error(rec.json, creating=False)
            if error:
                return error
            return 200, self._edit_message(message, rec.json or {}, rec.files)
        return _error(405, 0, "405: Method Not Allowed")

    # ------------------------------------------------------------------ REST: interactions

    def _interaction_by_token(self, rec: RecordedRequest, m: re.Match[str]) -> _Interaction | None:
        iid = self._tokens.get(m["token"])
        if iid is None or int(m["app"]) != self.application_id:
            return None
        rec.interaction_id = iid
        return self._interactions[iid]

    def _r_callback(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        inter = self._interactions.get(int(m["iid"]))
        if inter is None or inter.token != m["token"]:
            return _error(404, 10062, "Unknown interaction")
        rec.interaction_id = inter.id
        if (
            self.interaction_deadline is not None
            and not inter.acknowledged
            and time.monotonic() - inter.sent_at > self.interaction_deadline
        ):
            return _error(404, 10062, "Unknown interaction")
        if inter.acknowledged:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = rec.json if isinstance(rec.json, dict) else {}
        ctype = body.get("type")
        if ctype not in _ALLOWED_CALLBACKS.get(inter.type, set()) or (
            ctype in (CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE_MESSAGE) and "message" not in inter.payload
        ):
            return _error(400, 50035, "Invalid Form Body", {"type": f"not allowed: {ctype}"})
        data = body.get("data") or {}
        error = self._callback_error(ctype, data, rec.files)
        if error:
            return error

        channel = inter.payload["channel"]
        flags = int(data.get("flags") or 0)
        result: JSON = {"interaction": {"id": str(inter.id), "type": inter.type}}
        message: JSON | None = None
        if ctype == CALLBACK_MESSAGE:
            msg_type = 20 if inter.type == INTERACTION_APPLICATION_COMMAND else 0
            message = self._make_message(channel, data, rec.files, interaction=inter, msg_type=msg_type)
            inter.original_id = int(message["id"])
        elif ctype == CALLBACK_DEFERRED_MESSAGE:
            msg_type = 20 if inter.type == INTERACTION_APPLICATION_COMMAND else 0
            message = self._make_message(
                channel,
                {"flags": (flags & MESSAGE_FLAG_EPHEMERAL) | MESSAGE_FLAG_LOADING},
                [],
                interaction=inter,
                msg_type=msg_type,
            )
            inter.original_id = int(message["id"])
            inter.original_loading = True
        elif ctype in (CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE_MESSAGE):
            target_id = int(inter.payload["message"]["id"])
            target = self.messages.setdefault(target_id, _copy_json(inter.payload["message"]))
            inter.original_id = target_id
            if ctype == CALLBACK_UPDATE_MESSAGE:
                message = self._edit_message(target, data, rec.files)
        elif ctype == CALLBACK_MODAL:
            self.modals[str(data.get("custom_id"))] = _copy_json(data)

        inter.acknowledged = True
        inter.callback_type = ctype
        if message is not None:
            result["interaction"].update(
                response_message_id=message["id"],
                response_message_loading=ctype == CALLBACK_DEFERRED_MESSAGE,
                response_message_ephemeral=bool(int(message.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL),
            )
            result["resource"] = {"type": ctype, "message": message}
            if ctype == CALLBACK_MESSAGE:
                self._echo(message)
        if rec.query.get("with_response") in ("1", "true", "True"):
            return 200, result
        return 204, None

    def _callback_error(self, ctype: int, data: JSON, files: list[RecordedFile]) -> tuple[int, JSON] | None:
        if not self.validate:
            return None
        if ctype == CALLBACK_MESSAGE:
            return self._validation_error(data, creating=True, has_files=bool(files))
        if ctype == CALLBACK_UPDATE_MESSAGE:
            return self._validation_error(data, creating=False)
        if ctype == CALLBACK_AUTOCOMPLETE:
            choices = data.get("choices")
            if not isinstance(choices, list):
                return _error(400, 50035, "Invalid Form Body", {"data.choices": "required"})
            if len(choices) > 25:
                return _error(400, 50035, "Invalid Form Body", _limit_error("data.choices", 25))
            for i, choice in enumerate(choices):
                name, value = choice.get("name"), choice.get("value")
                if not isinstance(name, str) or not 1 <= len(name) <= 100:
                    return _error(
                        400, 50035, "Invalid Form Body", _limit_error(f"data.choices.{i}.name", 100)
                    )
                if isinstance(value, str) and len(value) > 100:
                    return _error(
                        400,
                        50035,
                        "Invalid Form Body",
                        _limit_error(f"data.choices.{i}.value", 100),
                    )
        if ctype == CALLBACK_MODAL:
            title = data.get("title")
            if not isinstance(title, str) or not 1 <= len(title) <= 45:
                return _error(400, 50035, "Invalid Form Body", _limit_error("data.title", 45))
            if len(str(data.get("custom_id") or "")) > 100:
                return _error(400, 50035, "Invalid Form Body", _limit_error("data.custom_id", 100))
            if not 1 <= len(data.get("components") or []) <= 5:
                return _error(400, 50035, "Invalid Form Body", _limit_error("data.components", 5))
        return None

    def _r_followup(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        inter = self._interaction_by_token(rec, m)
        if inter is None or not inter.acknowledged:
            # Discord only creates the webhook once the interaction has been responded to.
            return _error(404, 10015, "Unknown Webhook")
        error = self._validation_error(rec.json, creating=True, has_files=bool(rec.files))
        if error:
            return error
        body = rec.json or {}
        if inter.original_loading and inter.original_id is not None:
            # The first followup after a "thinking" defer replaces the loading message.
            message = self._edit_message(self.messages[inter.original_id], body, rec.files)
            message["edited_timestamp"] = None
            inter.original_loading = False
            self._echo(message)
        else:
            msg_type = 20 if inter.type == INTERACTION_APPLICATION_COMMAND else 0
            channel = inter.payload["channel"]
            message = self._make_message(channel, body, rec.files, interaction=inter, msg_type=msg_type)
            inter.followup_ids.append(int(message["id"]))
            self._echo(message)
        if rec.query.get("wait") in ("1", "true", "True"):
            return 200, message
        return 204, None

    def _r_webhook_message(self, rec: RecordedRequest, m: re.Match[str]) -> tuple[int, Any]:
        inter = self._interaction_by_token(rec, m)
        if inter is None:
            return _error(404, 10015, "Unknown Webhook")
        original = m["message"] == "@original"
        mid = inter.original_id if original else int(m["message"])
        message = self.messages.get(mid) if mid is not None else None
        known = mid in inter.followup_ids or mid == inter.original_id
        if message is None or (not original and not known):
            return _error(404, 10008, "Unknown Message")
        if rec.method == "GET":
            rec.kind = "get_original" if original else "get_followup"
            return 200, message
        if rec.method == "DELETE":
            rec.kind = "delete_original" if original else "delete_followup"
            del self.messages[mid]  # type: ignore[arg-type]
            return 204, None
        if rec.method == "PATCH":
            rec.kind = "edit_original" if original else "edit_followup"
            error = self._validation_error(rec.json, creating=False)
            if error:
                return error
            if original:
                inter.original_loading = False
            return 200, self._edit_message(message, rec.json or {}, rec.files)
        return _error(405, 0, "405: Method Not Allowed")

    # ------------------------------------------------------------------ convenience

    def bot_messages(self, channel: JSON | int | None = None) -> list[JSON]:
        """Messages authored by the bot (oldest first), optionally in one channel."""
        return [
            msg
            for msg in self.messages.values()
            if msg["author"]["id"] == self.bot_user["id"]
            and (channel is None or msg["channel_id"] == str(_id_of(channel)))
        ]


# --------------------------------------------------------------------------------------
# Wiring discord.py
# --------------------------------------------------------------------------------------


def point_discord_py_at(standin: DiscordStandin) -> Callable[[], None]:
    """Set the two discord.py overrides the bot also sets from ``DISCORD_API_BASE`` and
    ``DISCORD_GATEWAY_URL``; returns a function restoring the previous values.

    Nothing else is needed: ``Client.connect`` connects to ``DEFAULT_GATEWAY``,
    ``AutoShardedClient`` to the ``url`` of ``GET /gateway/bot`` (which is ``gateway_url``),
    and RESUMEs go to READY's ``resume_gateway_url``.
    """
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = standin.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)

    def undo() -> None:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return undo


@contextlib.asynccontextmanager
async def running_bot(
    bot: discord.Client,
    standin: DiscordStandin,
    *,
    token: str = "standin-token",
    timeout: float = 10.0,
    wait_for_on_ready: bool = True,
    patch: bool = True,
) -> AsyncIterator[discord.Client]:
    """Run ``bot.start(token)`` against the stand-in for the duration of the block.

    Patches discord.py (unless ``patch=False``, e.g. when the bot applies the env vars itself),
    waits until the stand-in saw the bot become ready (and, by default, for ``on_ready`` --
    construct the bot with ``guild_ready_timeout=0.05`` to make that quick), then closes the
    bot and restores discord.py on exit. Fails fast if ``bot.start`` dies.
    """
    undo = standin.patch_discord() if patch else None
    task = asyncio.create_task(bot.start(token), name="discord-standin-bot")

    async def ready() -> None:
        await standin.wait_until_ready(timeout)
        if wait_for_on_ready:
            await asyncio.wait_for(bot.wait_until_ready(), timeout)

    waiter = asyncio.create_task(ready())
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            exc = task.exception()
            raise RuntimeError(f"bot.start() ended before the bot was ready: {exc!r}") from exc
        waiter.result()
        yield bot
    finally:
        waiter.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bot.close(), timeout)
        if not task.done():
            try:
                await asyncio.wait_for(task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                log.exception("bot.start() raised while closing")
        if undo is not None:
            undo()
