"""/fact (a server's own facts: add, edit, remove, history, revert, export, import) and /stats.

The rules live in bot.curation; this cog checks who is asking, shows forms and buttons, and
renders the results. Every handler re-checks the moderator permission when it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from functools import partial
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.curation import (
    MAX_IMPORT_BYTES,
    CurationError,
    Curator,
    changed_fields,
    clean_fields,
    fact_to_data,
    split_lines,
)
from bot.discord_app.limits import CHOICE_NAME, CHOICES, CONTENT, clip, safe_user_text
from bot.discord_app.moderators import MANAGE_GUILD, audit, is_moderator, require_moderator
from bot.discord_app.render import NO_PINGS, history_embed, problems_embed, reply_embed, stats_embed
from bot.discord_app.views import ButtonsView, ConfirmView, FactForm, FormValues
from bot.knowledge.loader import excerpt_in_source
from bot.knowledge.models import KnowledgePack
from bot.storage import FactVersion, VersionConflict
from bot.text import normalise_quotes_and_space

if TYPE_CHECKING:
    from bot.discord_app.client import TarikhBot

log = logging.getLogger(__name__)

FACT_ID_MAX = 100
GAP_BUTTONS = 3
CONFIRM_TIMEOUT = 60.0  # seconds to confirm a removal
FLUSH_WAIT = 2.0  # seconds /stats waits for the query log to catch up
IMPORT_REFUSED = "Import refused: nothing was changed"


# -- form <-> fact fields (no Discord) ---------------------------------------------------------


def fact_to_form(data: dict[str, Any]) -> FormValues:
    questions = data.get("questions") or []
    return {
        "title": str(data.get("title") or ""),
        "answer": str(data.get("answer") or ""),
        "excerpt": str(data.get("excerpt") or ""),
        "when": str(data.get("when") or ""),
        "questions": "\n".join(str(q) for q in questions) if isinstance(questions, list) else "",
    }


_PLAIN_YEAR = re.compile(r"^(-?)(\d{1,3})(?=$|[-~?%])")


def normalise_when(text: str) -> str:
    """A plain year (741, 741 CE) becomes EDTF (0741); EDTF is left as it is."""
    text = re.sub(r"\s*(CE|AD)$", "", text.strip(), flags=re.IGNORECASE)
    sides = [_PLAIN_YEAR.sub(lambda m: m[1] + m[2].zfill(4), side.strip()) for side in text.split("/")]
    return "/".join(sides)


def pick_source(pack: KnowledgePack, excerpt: str, current: str | None) -> str | None:
    """The source an excerpt is quoted from: the fact's own if it holds the words, else the first
    that does, else the fact's own (or the pack's first) so the validator can say what is wrong."""
    text = normalise_quotes_and_space
    if current in pack.sources and excerpt_in_source(excerpt, text(pack.sources[current].text)):
        return current
    for sid, source in pack.sources.items():
        if excerpt_in_source(excerpt, text(source.text)):
            return sid
    if current:
        return current
    return next(iter(pack.sources), None)


def form_to_fields(values: FormValues, before: dict[str, Any] | None, pack: KnowledgePack) -> dict[str, Any]:
    """The fact a form describes: the five fields from the form, the rest kept from ``before``."""
    data = dict(before or {})
    data["title"] = values.get("title", "").strip()
    data["answer"] = values.get("answer", "").strip()
    excerpt = values.get("excerpt", "").strip()
    if excerpt:
        data["excerpt"] = excerpt
        data["source"] = pick_source(pack, excerpt, data.get("source"))
    else:
        data.pop("excerpt", None)
        data.pop("source", None)
    when = normalise_when(values.get("when", ""))
    if when:
        data["when"] = when
    else:
        data.pop("when", None)
    data["questions"] = split_lines(values.get("questions", ""))
    return data


def normalise_id(text: str) -> str:
    return text.strip().strip("`").lower()


# -- autocomplete (moderators only: a server's facts are not shown to anyone else) --------------


async def fact_id_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    if interaction.guild_id is None or not await is_moderator(interaction):
        return []
    bot: TarikhBot = interaction.client  # type: ignore[assignment]
    touched = await bot.services.storage.current_facts(interaction.guild_id)
    base = bot.curator.base.facts
    entries: list[tuple[str, str, str]] = []
    for fid, v in touched.items():
        title = str((v.data or {}).get("title") or (base[fid].title if fid in base else fid))
        mark = "removed" if v.data is None else ("changed here" if fid in base else "this server")
        entries.append((fid, title, mark))
    entries += [(fid, f.title, "") for fid, f in base.items() if fid not in touched]
    words = current.lower().split()

    def rank(entry: tuple[str, str, str]) -> int | None:
        fid, title, _ = entry
        hay = f"{fid} {title.lower()}"
        if not all(w in hay for w in words):
            return None
        if words and (fid.startswith(words[0]) or title.lower().startswith(words[0])):
            return 0
        return 1

    ranked = [(r, i, e) for i, e in enumerate(entries) if (r := rank(e)) is not None]
    ranked.sort(key=lambda x: (x[0], x[1]))
    choices = []
    for _, _, (fid, title, mark) in ranked[:CHOICES]:
        label = f"{title} ({mark}) · {fid}" if mark else f"{title} · {fid}"
        choices.append(app_commands.Choice(name=clip(label, CHOICE_NAME), value=fid))
    return choices


async def version_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[int]]:
    if interaction.guild_id is None or not await is_moderator(interaction):
        return []
    bot: TarikhBot = interaction.client  # type: ignore[assignment]
    fid = normalise_id(str(getattr(interaction.namespace, "id", "") or ""))
    if not fid:
        return []
    versions = await bot.services.storage.fact_history(interaction.guild_id, fid)
    choices: list[app_commands.Choice[int]] = []
    for v in reversed(versions):
        name = clip(f"v{v.version} · {v.action} by {v.author_name or 'someone'}", CHOICE_NAME)
        choices.append(app_commands.Choice(name=name, value=v.version))
    if fid in bot.curator.base.facts:
        choices.append(app_commands.Choice(name="v0 · as shipped", value=0))
    return [c for c in choices if current.strip() in str(c.value)][:CHOICES]


# -- the cog --------------------------------------------------------------------------------------


class Curate(commands.Cog):
    fact = app_commands.Group(
        name="fact",
        description="Moderators: this server's own facts",
        guild_only=True,
        default_permissions=MANAGE_GUILD,
    )

    def __init__(self, bot: TarikhBot) -> None:
        self.bot = bot

    @property
    def curator(self) -> Curator:
        return self.bot.services.curator

    # -- add ------------------------------------------------------------------------------------

    @fact.command(name="add", description="Add a fact to this server's knowledge (opens a form)")
    async def add(self, interaction: discord.Interaction[Any]) -> None:
        if not await require_moderator(interaction, "fact add"):
            return
        await interaction.response.send_modal(self.add_form({}))

    def add_form(self, values: FormValues) -> FactForm:
        return FactForm("Add a fact", values, self._submit_add)

    async def _submit_add(self, interaction: discord.Interaction[Any], values: FormValues) -> None:
        if not await require_moderator(interaction, "fact add (form)"):
            return
        gid = _guild(interaction)
        fields = form_to_fields(values, None, self.curator.base)
        try:
            version = await self.curator.add(gid, fields, **_author(interaction))
        except CurationError as exc:
            await self._not_saved(interaction, "Not added", exc.problems, lambda: self.add_form(values))
            return
        await self._saved(interaction, version, "Added")

    # -- edit -----------------------------------------------------------------------------------

    @fact.command(name="edit", description="Change a fact as this server sees it (opens a form)")
    @app_commands.rename(fact_id="id")
    @app_commands.describe(fact_id="The fact to change")
    @app_commands.autocomplete(fact_id=fact_id_choices)
    async def edit(
        self, interaction: discord.Interaction[Any], fact_id: app_commands.Range[str, 1, FACT_ID_MAX]
    ) -> None:
        if not await require_moderator(interaction, "fact edit"):
            return
        gid, fid = _guild(interaction), normalise_id(fact_id)
        before = await self.curator.fact_data(gid, fid)
        if before is None:
            await self._no_such_fact(interaction, fid)
            return
        touched = await self.bot.services.storage.current_facts(gid)
        expected = touched[fid].version if fid in touched else 0
        await interaction.response.send_modal(self.edit_form(fid, before, expected, fact_to_form(before)))

    def edit_form(self, fid: str, before: dict[str, Any], expected: int, values: FormValues) -> FactForm:
        heading = f"Edit: {before.get('title') or fid}"
        return FactForm(heading, values, partial(self._submit_edit, fid, before, expected))

    async def _submit_edit(
        self,
        fid: str,
        before: dict[str, Any],
        expected: int,
        interaction: discord.Interaction[Any],
        values: FormValues,
    ) -> None:
        if not await require_moderator(interaction, "fact edit (form)"):
            return
        gid = _guild(interaction)
        fields = form_to_fields(values, before, self.curator.base)
        if not changed_fields(before, clean_fields({**fields, "id": fid})):
            await _send(interaction, "Nothing changed, so no new version was made.")
            return
        try:
            version = await self.curator.edit(
                gid, fid, fields, expected_version=expected, **_author(interaction)
            )
        except CurationError as exc:
            reopen = partial(self.edit_form, fid, before, expected, values)
            await self._not_saved(interaction, "Not saved", exc.problems, reopen)
            return
        except VersionConflict as exc:
            problems = [str(exc), "Run /fact edit again to start from the latest version."]
            await _send(interaction, embed=problems_embed("Not saved", problems))
            return
        await self._saved(interaction, version, "Saved")

    # -- remove ---------------------------------------------------------------------------------

    @fact.command(name="remove", description="Hide a fact from this server (undo with /fact revert)")
    @app_commands.rename(fact_id="id")
    @app_commands.describe(fact_id="The fact to hide")
    @app_commands.autocomplete(fact_id=fact_id_choices)
    async def remove(
        self, interaction: discord.Interaction[Any], fact_id: app_commands.Range[str, 1, FACT_ID_MAX]
    ) -> None:
        if not await require_moderator(interaction, "fact remove"):
            return
        gid, fid = _guild(interaction), normalise_id(fact_id)
        data = await self.curator.fact_data(gid, fid)
        if data is None:
            await self._no_such_fact(interaction, fid)
            return
        title = safe_user_text(str(data.get("title") or fid), 200)
        view = ConfirmView(
            interaction.user.id,
            interaction,
            partial(self._confirm_remove, fid, title),
            confirm_label="Remove",
            timeout=CONFIRM_TIMEOUT,
        )
        await interaction.response.send_message(
            f"Remove **{title}** (`{fid}`) from this server? Members will no longer get it as an answer. "
            "You can bring it back with `/fact revert`.",
            view=view,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def _confirm_remove(self, fid: str, title: str, interaction: discord.Interaction[Any]) -> bool:
        if not await require_moderator(interaction, "fact remove (confirm)"):
            return False
        try:
            version = await self.curator.remove(_guild(interaction), fid, **_author(interaction))
        except CurationError as exc:
            await interaction.response.edit_message(
                content=None,
                embed=problems_embed("Not removed", exc.problems),
                view=None,
                allowed_mentions=NO_PINGS,
            )
            return True
        await interaction.response.edit_message(
            content=f"Removed **{title}** (`{fid}`, version {version.version}). To bring it back: "
            f"`/fact revert id:{fid} version:{version.version - 1}`",
            view=None,
            allowed_mentions=NO_PINGS,
        )
        return True

    # -- history and revert ---------------------------------------------------------------------

    @fact.command(name="history", description="Every version of a fact on this server")
    @app_commands.rename(fact_id="id")
    @app_commands.describe(fact_id="The fact")
    @app_commands.autocomplete(fact_id=fact_id_choices)
    async def history(
        self, interaction: discord.Interaction[Any], fact_id: app_commands.Range[str, 1, FACT_ID_MAX]
    ) -> None:
        if not await require_moderator(interaction, "fact history"):
            return
        gid, fid = _guild(interaction), normalise_id(fact_id)
        versions = await self.curator.history(gid, fid)
        base = self.curator.base.facts.get(fid)
        if not versions and base is None:
            await self._no_such_fact(interaction, fid)
            return
        shipped = fact_to_data(base) if base is not None else None
        titles = [str(v.data["title"]) for v in versions if v.data and v.data.get("title")]
        title = titles[-1] if titles else (base.title if base is not None else None)
        await _send(interaction, embed=history_embed(fid, title, versions, shipped))

    @fact.command(name="revert", description="Make a fact what it was at an earlier version")
    @app_commands.rename(fact_id="id")
    @app_commands.describe(fact_id="The fact", version="The version to go back to (0 = as shipped)")
    @app_commands.autocomplete(fact_id=fact_id_choices, version=version_choices)
    async def revert(
        self,
        interaction: discord.Interaction[Any],
        fact_id: app_commands.Range[str, 1, FACT_ID_MAX],
        version: app_commands.Range[int, 0, 1_000_000],
    ) -> None:
        if not await require_moderator(interaction, "fact revert"):
            return
        gid, fid = _guild(interaction), normalise_id(fact_id)
        try:
            written = await self.curator.revert(gid, fid, version, **_author(interaction))
        except CurationError as exc:
            await _send(interaction, embed=problems_embed("Not reverted", exc.problems))
            return
        if written.data is None:
            await _send(
                interaction,
                f"Reverted `{fid}` to version {version}, when it was removed: it is "
                f"hidden from this server (now version {written.version}).",
            )
            return
        await self._saved(interaction, written, f"Reverted to version {version}:")

    # -- export and import ----------------------------------------------------------------------

    @fact.command(name="export", description="This server's own facts and changes as a YAML file")
    async def export(self, interaction: discord.Interaction[Any]) -> None:
        if not await require_moderator(interaction, "fact export"):
            return
        gid = _guild(interaction)
        touched = await self.bot.services.storage.current_facts(gid)
        count = sum(1 for v in touched.values() if v.data is not None)
        if not count:
            await _send(interaction, "This server has no facts or changes of its own to export yet.")
            return
        text = await self.curator.export_yaml(gid)
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename=f"tarikh-facts-{gid}.yaml")
        await interaction.response.send_message(
            f"{count} fact(s) of this server, in the knowledge-pack format. "
            "Load them into another server with `/fact import`.",
            file=file,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        await audit(interaction, "fact.export", f"{count} fact(s)")

    @fact.command(name="import", description="Add or replace facts from a YAML file (all or nothing)")
    @app_commands.describe(file="A YAML file in the pack format, e.g. one written by /fact export")
    async def import_(self, interaction: discord.Interaction[Any], file: discord.Attachment) -> None:
        if not await require_moderator(interaction, "fact import"):
            return
        name = file.filename or "import.yaml"
        if file.size > MAX_IMPORT_BYTES:
            problems = [f"{name}: {file.size // 1024} KB; the limit is {MAX_IMPORT_BYTES // 1024} KB"]
            await _send(interaction, embed=problems_embed(IMPORT_REFUSED, problems))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            raw = await file.read()
        except discord.HTTPException:
            log.warning("could not download an import file", exc_info=True)
            await _send(interaction, "I could not download that file from Discord; please try again.")
            return
        try:
            text = raw.decode("utf-8-sig")
            written = await self.curator.import_yaml(
                _guild(interaction), text, filename=name, **_author(interaction)
            )
        except UnicodeDecodeError:
            problems = [f"{name}: not UTF-8 text (export a YAML file and import that)"]
            await _send(interaction, embed=problems_embed(IMPORT_REFUSED, problems))
            return
        except CurationError as exc:
            await _send(interaction, embed=problems_embed(IMPORT_REFUSED, exc.problems))
            return
        ids = ", ".join(f"`{v.fact_id}`" for v in written)
        await _send(interaction, f"Imported {len(written)} fact(s) from {safe_user_text(name, 100)}: {ids}")

    # -- /stats ---------------------------------------------------------------------------------

    @app_commands.command(name="stats", description="Moderators: questions asked here, and the gaps")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def stats(self, interaction: discord.Interaction[Any]) -> None:
        if not await require_moderator(interaction, "stats"):
            return
        gid = _guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        with contextlib.suppress(TimeoutError):  # include the questions asked a moment ago
            await asyncio.wait_for(self.bot.querylog.flush(), FLUSH_WAIT)
        stats = await self.bot.services.storage.stats(guild_id=gid)
        touched = await self.bot.services.storage.current_facts(gid)
        own = sum(1 for v in touched.values() if v.data is not None)
        gaps = [c.question for c in stats.top_unanswered[:GAP_BUTTONS]]
        buttons = [(f"Add a fact for this gap: “{q}”", partial(self._gap, q)) for q in gaps]
        kwargs: dict[str, Any] = {"embed": stats_embed(stats, own)}
        if buttons:
            kwargs["view"] = ButtonsView(interaction.user.id, interaction, buttons)
        await _send(interaction, **kwargs)

    async def _gap(self, question: str, interaction: discord.Interaction[Any]) -> None:
        if not await require_moderator(interaction, "stats gap"):
            return
        await interaction.response.send_modal(self.add_form({"questions": question}))

    # -- shared replies -------------------------------------------------------------------------

    async def _saved(self, interaction: discord.Interaction[Any], version: FactVersion, verb: str) -> None:
        """What members will now see, shown to the moderator."""
        answerer = await self.bot.services.answerer_for(interaction.guild_id)
        fact = answerer.pack.facts.get(version.fact_id)
        if fact is None:  # cannot happen after a successful write, but never fail on the reply
            await _send(interaction, f"{verb} `{version.fact_id}` (version {version.version}).")
            return
        question = fact.questions[0] if fact.questions else fact.title
        text = (
            f"{verb} **{safe_user_text(fact.title, 200)}** (`{fact.id}`, version {version.version}). "
            f"Members can ask it now, e.g. “{safe_user_text(question, 200)}”."
        )
        await _send(interaction, text, embed=reply_embed(answerer.reply_for_fact(question, fact, score=1.0)))

    async def _not_saved(
        self, interaction: discord.Interaction[Any], heading: str, problems: list[str], reopen: Any
    ) -> None:
        """The reasons, and a button to reopen the form with what was typed (nothing is lost)."""

        async def again(click: discord.Interaction[Any]) -> None:
            if await require_moderator(click, "fact form (try again)"):
                await click.response.send_modal(reopen())

        view = ButtonsView(interaction.user.id, interaction, [("Edit and try again", again)])
        embed = problems_embed(heading, problems, footer="Nothing was saved; the fact is as it was.")
        await _send(interaction, embed=embed, view=view)

    async def _no_such_fact(self, interaction: discord.Interaction[Any], fid: str) -> None:
        touched = await self.bot.services.storage.current_facts(_guild(interaction))
        shown = safe_user_text(fid, 100)
        if fid in touched and touched[fid].data is None:
            text = f"`{shown}` is removed on this server; bring it back with `/fact revert`."
        else:
            text = f"There is no fact `{shown}` here. Start typing in the id box to pick one."
        await _send(interaction, text)


def _guild(interaction: discord.Interaction[Any]) -> int:
    if interaction.guild_id is None:  # guild_only, and require_moderator refuses DMs first
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


def _author(interaction: discord.Interaction[Any]) -> dict[str, Any]:
    return {"author_id": interaction.user.id, "author_name": interaction.user.display_name}


async def _send(interaction: discord.Interaction[Any], content: str | None = None, **kwargs: Any) -> None:
    """An ephemeral reply (or followup after a defer) that pings no one."""
    kwargs.update(ephemeral=True, allowed_mentions=NO_PINGS)
    if content is not None:
        kwargs["content"] = clip(content, CONTENT)
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


async def setup(bot: TarikhBot) -> None:
    await bot.add_cog(Curate(bot))
