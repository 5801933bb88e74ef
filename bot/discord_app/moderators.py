"""Who may change a server's knowledge, checked when a handler runs (not only when Discord shows it).

A moderator has the Manage Server permission (administrators have it) or the role set with
``/config moderator-role``. Commands also carry ``default_permissions`` so Discord hides them from
everyone else, but that is a display setting a server can change and any client can send the
interaction anyway: every handler -- commands, modal submits, buttons, autocomplete -- asks here.
Refusals are ephemeral and recorded in the audit log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.limits import CONTENT, clip
from bot.discord_app.render import NO_PINGS

if TYPE_CHECKING:
    from bot.discord_app.client import TarikhBot

log = logging.getLogger(__name__)

MANAGE_GUILD = discord.Permissions(manage_guild=True)
NOT_A_MODERATOR = (
    "Only this server's moderators can do that: members with the **Manage Server** permission, "
    "or the moderator role set with `/config moderator-role`."
)
NOT_A_MANAGER = "Only members with the **Manage Server** permission can change Tarikh's settings here."
NOT_AN_OWNER = "Only the bot's owner can reload the knowledge pack."
NOT_IN_DMS = "That only works in a server."


def _bot(interaction: discord.Interaction[Any]) -> TarikhBot:
    return interaction.client  # type: ignore[return-value]


def _manages_guild(interaction: discord.Interaction[Any]) -> bool:
    perms = interaction.permissions
    return perms.manage_guild or perms.administrator


def _role_ids(user: discord.abc.User) -> set[int]:
    """The member's role ids from the interaction itself (the cache may not know every role)."""
    raw = getattr(user, "_roles", None)  # Member keeps the ids of its roles from the payload
    ids = {int(r) for r in raw} if raw is not None else set()
    ids |= {r.id for r in getattr(user, "roles", [])}
    return ids


async def is_moderator(interaction: discord.Interaction[Any]) -> bool:
    """Manage Server, or this server's moderator role. Never true outside a server."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        return False
    if _manages_guild(interaction):
        return True
    settings = await _bot(interaction).services.storage.guild_settings(interaction.guild_id)
    role = settings.moderator_role_id
    return role is not None and role in _role_ids(interaction.user)


async def is_owner(interaction: discord.Interaction[Any]) -> bool:
    """The bot's owner: TARIKH_OWNER_IDS, or the owner (or team) of the Discord application."""
    bot = _bot(interaction)
    if interaction.user.id in bot.settings.owner_ids:
        return True
    try:
        return await bot.is_owner(interaction.user)
    except discord.HTTPException:
        log.warning("could not fetch the application owner", exc_info=True)
        return False


async def refuse(interaction: discord.Interaction[Any], action: str, text: str) -> None:
    """An ephemeral refusal, recorded in the audit log (first: a failed reply still leaves a trace)."""
    await audit(interaction, "refused", action)
    text = clip(text, CONTENT)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def audit(interaction: discord.Interaction[Any], action: str, detail: str) -> None:
    try:
        await _bot(interaction).services.storage.audit(
            interaction.guild_id, interaction.user.id, action, detail
        )
    except Exception:
        log.exception("could not write the audit log (%s: %s)", action, detail)


async def require_moderator(interaction: discord.Interaction[Any], action: str) -> bool:
    """True for a moderator; otherwise refuse (ephemeral, audited) and return False."""
    if interaction.guild_id is None:
        await refuse(interaction, action, NOT_IN_DMS)
        return False
    if await is_moderator(interaction):
        return True
    await refuse(interaction, action, NOT_A_MODERATOR)
    return False


async def require_manager(interaction: discord.Interaction[Any], action: str) -> bool:
    """Manage Server itself (the moderator role is not enough to choose the moderator role)."""
    if interaction.guild_id is None:
        await refuse(interaction, action, NOT_IN_DMS)
        return False
    if isinstance(interaction.user, discord.Member) and _manages_guild(interaction):
        return True
    await refuse(interaction, action, NOT_A_MANAGER)
    return False


async def require_owner(interaction: discord.Interaction[Any], action: str) -> bool:
    if await is_owner(interaction):
        return True
    await refuse(interaction, action, NOT_AN_OWNER)
    return False
