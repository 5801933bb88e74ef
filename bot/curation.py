"""Moderators' facts: validated like the file pack, stored as append-only versions per server,
and answerable at once (each server's view of the knowledge is rebuilt on its next question).

No Discord here: the cogs call these methods and render the results.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot.answer import Answerer
from bot.knowledge.loader import (
    FACT_FIELDS,
    Problem,
    build_fact,
    check_fact_content,
    check_record,
    yaml_value_problem,
)
from bot.knowledge.models import Fact, KnowledgePack
from bot.knowledge.yamlio import LineDict, YamlSyntaxError, load_yaml_text
from bot.storage import FactChange, FactVersion, Storage, VersionConflict
from bot.text import normalise_quotes_and_space

log = logging.getLogger(__name__)

GUILD_CHAPTER = "Added by this server's moderators"
MAX_IMPORT_BYTES = 512 * 1024
MAX_IMPORT_FACTS = 500
MAX_GUILD_FACTS = 5_000
REVISION_POLL = 2.0  # seconds between checks for changes made by other processes
ALLOWED_KEYS = tuple(FACT_FIELDS)


class CurationError(ValueError):
    """A refused change; ``problems`` are the reasons, one line each, for the moderator."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems) if problems else "refused")


def slugify(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:limit].strip("-")
    return slug or "fact"


def split_lines(text: str) -> list[str]:
    return [line.strip(" -•\t") for line in (text or "").splitlines() if line.strip(" -•\t")]


@dataclass
class _GuildState:
    version: int = 0  # bumped on every change; the cached view is rebuilt when it lags
    built: int = -1
    answerer: Answerer | None = None
    current: dict[str, FactVersion] = field(default_factory=dict)
    revision: int = -1  # the storage's revision of this guild when the view was built
    checked: float = 0.0  # when the revision was last compared (monotonic seconds)


class Curator:
    """The shipped pack plus each server's own facts and overrides."""

    def __init__(self, base: KnowledgePack, storage: Storage, base_answerer: Answerer | None = None) -> None:
        self.base = base
        self.base_answerer = base_answerer or Answerer(base)
        self.storage = storage
        self._guilds: dict[int, _GuildState] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.last_rebuild_ms: float = 0.0
        self._normalised: tuple[object, dict[str, str]] | None = None  # (the pack's sources, their text)

    # -- reading -------------------------------------------------------------------------------

    def _state(self, guild_id: int) -> _GuildState:
        return self._guilds.setdefault(guild_id, _GuildState())

    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    async def answerer_for(self, guild_id: int | None) -> Answerer:
        """The answerer for a server: the shipped pack unless the server changed something.

        A change made by this process is seen by the next question; one made by another process
        sharing the database (another shard's process, or the one that owned this shard before)
        within REVISION_POLL seconds."""
        if guild_id is None:
            return self.base_answerer
        state = self._state(guild_id)
        now = time.monotonic()
        if state.built == state.version and state.answerer is not None:
            if now - state.checked < REVISION_POLL:
                return state.answerer
            if await self.storage.guild_revision(guild_id) == state.revision:
                state.checked = now
                return state.answerer
            state.version += 1  # another process changed this server's facts
        async with self._lock(guild_id):
            if state.built != state.version or state.answerer is None:
                target = state.version
                state.revision = await self.storage.guild_revision(guild_id)
                state.current = await self.storage.current_facts(guild_id)
                state.answerer = self._build(state.current) if state.current else self.base_answerer
                state.built = target
                state.checked = time.monotonic()
        return state.answerer

    def _build(self, current: dict[str, FactVersion]) -> Answerer:
        started = time.perf_counter()
        facts: dict[str, Fact] = {}
        for fid, fact in self.base.facts.items():
            v = current.get(fid)
            if v is None:
                facts[fid] = fact
            elif v.data is not None:
                facts[fid] = self._fact_from(v.data, chapter=fact.chapter)
        for fid, v in current.items():
            if fid not in self.base.facts and v.data is not None:
                facts[fid] = self._fact_from(v.data, chapter=GUILD_CHAPTER)
        pack = replace(self.base, facts=facts)
        answerer = Answerer(pack)
        self.last_rebuild_ms = (time.perf_counter() - started) * 1000
        log.debug("rebuilt a server's knowledge (%d facts) in %.0f ms", len(facts), self.last_rebuild_ms)
        return answerer

    @staticmethod
    def _fact_from(data: dict[str, Any], *, chapter: str) -> Fact:
        return build_fact(data, chapter=chapter, file="(server)", line=0, origin="guild")

    async def current(self, guild_id: int) -> dict[str, FactVersion]:
        return await self.storage.current_facts(guild_id)

    async def fact_data(self, guild_id: int, fact_id: str) -> dict[str, Any] | None:
        """The fields of a fact as this server sees it now (for pre-filling an edit)."""
        current = await self.storage.current_facts(guild_id)
        v = current.get(fact_id)
        if v is not None:
            return dict(v.data) if v.data is not None else None
        base = self.base.facts.get(fact_id)
        return fact_to_data(base) if base else None

    async def history(self, guild_id: int, fact_id: str) -> list[FactVersion]:
        return await self.storage.fact_history(guild_id, fact_id)

    # -- validating ----------------------------------------------------------------------------

    def validate(
        self,
        raw: dict[str, Any],
        *,
        known_ids: set[str],
        report_line: bool = False,
        file: str = "",
    ) -> list[str]:
        """Every reason a fact is refused (empty when it is valid). Same rules as the file pack,
        except that an excerpt (with its source) is optional for a server's own facts."""
        problems: list[str] = []
        subject = f"fact '{raw.get('id')}'" if isinstance(raw, dict) and raw.get("id") else "fact"

        def report(line: int, message: str) -> None:
            problems.append(f"{file}:{line}: {subject}: {message}" if report_line else message)

        if not isinstance(raw, dict):
            report(1, "must be a mapping of fields")
            return problems
        # every problem is reported at once, not just the first kind
        check_record(raw, FACT_FIELDS, report, line=getattr(raw, "line", 1), optional=("excerpt", "source"))
        line_of = raw.line_of if isinstance(raw, LineDict) else (lambda _k: getattr(raw, "line", 1))
        if raw.get("excerpt") and not raw.get("source"):
            report(line_of("excerpt"), "an excerpt needs the source it is quoted from ('source')")
        if raw.get("source") and not raw.get("excerpt"):
            report(line_of("source"), "a source needs the excerpt quoted from it ('excerpt')")
        normalised = self._normalised_sources()
        check_fact_content(
            raw, report, sources=self.base.sources, normalised_sources=normalised, line_of=line_of
        )
        # (a value that is not a list of text was reported above; only its text items are looked up)
        for key in ("who", "where"):
            for eid in _text_items(raw.get(key)):
                if eid not in self.base.entities:
                    report(line_of(key), f"{key} '{eid}' is not a known person, place or group")
        for rid in _text_items(raw.get("related")):
            if rid not in known_ids:
                report(line_of("related"), f"related fact '{rid}' does not exist")
        return problems

    def _normalised_sources(self) -> dict[str, str]:
        """The sources' text as the verbatim check reads it: once per pack, not once per fact
        (each takes milliseconds; an import of 500 facts would block the bot for seconds)."""
        sources = self.base.sources
        if self._normalised is None or self._normalised[0] is not sources:
            texts = {sid: normalise_quotes_and_space(s.text) for sid, s in sources.items()}
            self._normalised = (sources, texts)
        return self._normalised[1]

    async def _known_ids(self, guild_id: int) -> set[str]:
        current = await self.storage.current_facts(guild_id)
        ids = {fid for fid, v in current.items() if v.data is not None}
        ids |= {fid for fid in self.base.facts if current.get(fid) is None or current[fid].data is not None}
        return ids

    # -- writing -------------------------------------------------------------------------------

    async def add(
        self, guild_id: int, fields: dict[str, Any], *, author_id: int | None, author_name: str
    ) -> FactVersion:
        """Add a new fact; its id is made from the title when none is given."""
        raw = clean_fields(fields)
        made_id = not raw.get("id")
        while True:
            current = await self.storage.current_facts(guild_id)
            if sum(1 for v in current.values() if v.data is not None) >= MAX_GUILD_FACTS:
                raise CurationError([f"this server already has {MAX_GUILD_FACTS} facts of its own"])
            taken = set(self.base.facts) | set(current)
            if made_id:
                base_id = slugify(str(raw.get("title", "")))
                fid, n = base_id, 2
                while fid in taken:
                    fid, n = f"{base_id}-{n}", n + 1
                raw["id"] = fid
            elif isinstance(raw["id"], str) and raw["id"] in taken:  # not text: validation says so
                raise CurationError([f"a fact with id '{raw['id']}' already exists; edit it instead"])
            problems = self.validate(raw, known_ids=await self._known_ids(guild_id))
            if problems:
                raise CurationError(problems)
            try:
                [version] = await self._write(
                    guild_id, [FactChange(raw["id"], "add", raw, expected_version=0)], author_id, author_name
                )
            except VersionConflict:
                # another moderator (or process) added this id meanwhile; it is taken now
                if made_id:
                    continue  # the next free id
                exists = f"a fact with id '{raw['id']}' already exists; edit it instead"
                raise CurationError([exists]) from None
            return version

    async def edit(
        self,
        guild_id: int,
        fact_id: str,
        fields: dict[str, Any],
        *,
        author_id: int | None,
        author_name: str,
        expected_version: int | None = None,
    ) -> FactVersion:
        """Replace a fact (a shipped one becomes this server's override). The old version stays."""
        before = await self.fact_data(guild_id, fact_id)
        if before is None:
            raise CurationError([f"there is no fact '{fact_id}' here"])
        raw = clean_fields(fields)
        raw["id"] = fact_id
        problems = self.validate(raw, known_ids=await self._known_ids(guild_id))
        if problems:
            raise CurationError(problems)
        change = FactChange(fact_id, "edit", raw, expected_version=expected_version)
        [version] = await self._write(guild_id, [change], author_id, author_name)
        return version

    async def remove(
        self, guild_id: int, fact_id: str, *, author_id: int | None, author_name: str
    ) -> FactVersion:
        """Hide a fact from this server (reversible with revert)."""
        if await self.fact_data(guild_id, fact_id) is None:
            raise CurationError([f"there is no fact '{fact_id}' here"])
        [version] = await self._write(guild_id, [FactChange(fact_id, "remove", None)], author_id, author_name)
        return version

    async def revert(
        self, guild_id: int, fact_id: str, version: int, *, author_id: int | None, author_name: str
    ) -> FactVersion:
        """Make a new version equal to an old one (version 0 = the shipped fact, if there is one)."""
        if version == 0:
            base = self.base.facts.get(fact_id)
            if base is None:
                raise CurationError([f"'{fact_id}' is not a shipped fact, so it has no version 0"])
            data: dict[str, Any] | None = fact_to_data(base)
        else:
            history = await self.storage.fact_history(guild_id, fact_id)
            match = [v for v in history if v.version == version]
            if not match:
                have = ", ".join(str(v.version) for v in history) or "none"
                raise CurationError([f"'{fact_id}' has no version {version} (versions: {have})"])
            data = match[0].data
        if data is not None:
            problems = self.validate(dict(data), known_ids=await self._known_ids(guild_id) | {fact_id})
            if problems:
                raise CurationError([f"version {version} is no longer valid: {p}" for p in problems])
        change = FactChange(fact_id, "revert", dict(data) if data else None, note=f"to version {version}")
        [written] = await self._write(guild_id, [change], author_id, author_name)
        return written

    async def import_yaml(
        self,
        guild_id: int,
        text: str,
        *,
        author_id: int | None,
        author_name: str,
        filename: str = "import.yaml",
    ) -> list[FactVersion]:
        """All or nothing: every fact is checked first; one transaction writes them all."""
        if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
            raise CurationError([f"{filename}: the file is larger than {MAX_IMPORT_BYTES // 1024} KB"])
        try:
            data = load_yaml_text(text, Path(filename))
        except YamlSyntaxError as exc:
            raise CurationError([f"{filename}:{exc.line}: {exc.message}"]) from None
        except ValueError as exc:  # a value YAML cannot build, e.g. the unquoted date 0741-02-30
            line, message = yaml_value_problem(exc)
            raise CurationError([f"{filename}:{line}: {message}"]) from None
        except RecursionError:  # e.g. thousands of nested [ or {
            raise CurationError([f"{filename}: the YAML is nested too deeply"]) from None
        if not isinstance(data, dict) or not isinstance(data.get("facts"), list):
            raise CurationError([f"{filename}:1: expected a mapping with a 'facts:' list (the pack format)"])
        items = data["facts"]
        if len(items) > MAX_IMPORT_FACTS:
            raise CurationError([f"{filename}: {len(items)} facts; at most {MAX_IMPORT_FACTS} per import"])
        known = await self._known_ids(guild_id)
        known |= {x["id"] for x in items if isinstance(x, dict) and isinstance(x.get("id"), str)}
        problems: list[str] = []
        seen: set[str] = set()
        for raw in items:
            problems += self.validate(raw, known_ids=known, report_line=True, file=filename)
            fid = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(fid, str):
                if fid in seen:
                    problems.append(f"{filename}:{getattr(raw, 'line', 1)}: fact '{fid}': duplicate id")
                seen.add(fid)
        if problems:
            raise CurationError(problems)
        changes = [FactChange(raw["id"], "import", clean_fields(dict(raw))) for raw in items]
        return await self._write(guild_id, changes, author_id, author_name)

    async def export_yaml(self, guild_id: int) -> str:
        """This server's own facts and overrides, in the pack format (importable again)."""
        current = await self.storage.current_facts(guild_id)
        facts = [v.data for v in current.values() if v.data is not None]
        return yaml.dump(
            {"chapter": GUILD_CHAPTER, "facts": facts},
            Dumper=_ExportDumper,
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )

    async def _write(
        self, guild_id: int, changes: list[FactChange], author_id: int | None, author_name: str
    ) -> list[FactVersion]:
        written = await self.storage.write_fact_changes(
            guild_id, changes, author_id=author_id, author_name=author_name
        )
        self._state(guild_id).version += 1
        for v in written:
            await self.storage.audit(guild_id, author_id, f"fact.{v.action}", f"{v.fact_id} v{v.version}")
        return written

    # -- the shipped pack ----------------------------------------------------------------------

    def replace_base(self, pack: KnowledgePack) -> None:
        """Serve a reloaded pack; every server's view is rebuilt on its next question."""
        self.base = pack
        self.base_answerer = Answerer(pack)
        for state in self._guilds.values():
            state.version += 1


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Strip text, drop empty optional fields, keep only the pack's keys (unknown ones are kept
    so validation can name them)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
        if isinstance(value, list) and not value:
            continue
        if value is None:
            continue
        out[key] = value
    return out


class _ExportDumper(yaml.SafeDumper):
    """PyYAML writes U+0085 (NEL) raw inside single quotes, where reading folds it into a space:
    text with an unusual line break is written double-quoted (escaped) so it reads back the same."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ExportDumper.add_representer(str, _represent_str)


def _text_items(value: Any) -> list[str]:
    return [x for x in value if isinstance(x, str)] if isinstance(value, list) else []


def fact_to_data(fact: Fact) -> dict[str, Any]:
    data: dict[str, Any] = {"id": fact.id, "title": fact.title, "answer": fact.answer}
    if fact.excerpt:
        data["excerpt"] = fact.excerpt
    if fact.source:
        data["source"] = fact.source
    if fact.when is not None:
        data["when"] = fact.when.edtf
    for key in ("who", "where", "tags"):
        if getattr(fact, key):
            data[key] = list(getattr(fact, key))
    data["questions"] = list(fact.questions)
    if fact.related:
        data["related"] = list(fact.related)
    if fact.links:
        data["links"] = [{"title": lk.title, "url": lk.url} for lk in fact.links]
    return data


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Names of the fields that differ between two versions (for the history)."""
    if before is None or after is None:
        return ["(whole fact)"]
    keys = dict.fromkeys([*before, *after])
    return [k for k in keys if before.get(k) != after.get(k)]


def problems_text(problems: list[str] | list[Problem], limit: int = 1800) -> str:
    text = "\n".join(f"• {p}" for p in problems)
    return text if len(text) <= limit else text[: limit - 1] + "…"
