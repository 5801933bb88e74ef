"""The storage interface: everything Tarikh persists goes through these methods.

SQLite (aiosqlite) is the embedded default; another backend (PostgreSQL for several
processes) implements the same interface. No SQL lives outside this package.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueryRecord:
    """One question asked, as logged."""

    id: str
    ts: float
    question: str
    via: str  # slash, mention, button, console, cli
    answered: bool
    guild_id: int | None = None
    channel_id: int | None = None
    user_key: str | None = None  # salted hash of the user id (or the raw id if configured)
    fact_id: str | None = None
    score: float | None = None
    latency_ms: float | None = None

    # the columns of the queries table, in the order row() gives them
    COLUMNS = "id, ts, guild_id, channel_id, user_key, question, via, fact_id, score, answered, latency_ms"

    def row(self) -> tuple[Any, ...]:
        return (self.id, self.ts, self.guild_id, self.channel_id, self.user_key, self.question, self.via,
                self.fact_id, self.score, int(self.answered), self.latency_ms)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    query_id: str
    ts: float
    user_key: str | None
    helpful: bool


@dataclass(frozen=True, slots=True)
class QuestionCount:
    question: str
    count: int


@dataclass(frozen=True, slots=True)
class Stats:
    total: int
    answered: int
    helpful: int
    not_helpful: int
    top_questions: list[QuestionCount] = field(default_factory=list)
    top_unanswered: list[QuestionCount] = field(default_factory=list)

    @property
    def answer_rate(self) -> float:
        return self.answered / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class FactVersion:
    """One version of a server's fact: the whole fact as it stood after the change."""

    guild_id: int
    fact_id: str
    version: int
    action: str  # add, edit, remove, revert, import
    data: dict[str, object] | None  # the fact's fields; None when removed
    author_id: int | None
    author_name: str
    ts: float
    note: str = ""

    COLUMNS = "guild_id, fact_id, version, action, data, author_id, author_name, ts, note"

    @property
    def removed(self) -> bool:
        return self.data is None

    def row(self) -> tuple[Any, ...]:
        """The values of COLUMNS, the fact's fields as JSON text."""
        data = json.dumps(self.data, ensure_ascii=False) if self.data is not None else None
        return (self.guild_id, self.fact_id, self.version, self.action, data, self.author_id,
                self.author_name, self.ts, self.note)  # fmt: skip

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> FactVersion:
        """A version from the values of COLUMNS, in order (extra columns after them are ignored)."""
        guild_id, fact_id, version, action, data, author_id, author_name, ts, note = tuple(row)[:9]
        fields = json.loads(data) if data is not None else None
        return cls(int(guild_id), fact_id, int(version), action, fields, author_id, author_name, float(ts),
                   note)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FactChange:
    """A change to write: the new state of one fact (None removes it)."""

    fact_id: str
    action: str
    data: dict[str, object] | None
    expected_version: int | None = None  # refuse if someone else changed it meanwhile
    note: str = ""

    def on_top_of(
        self, current: int, guild_id: int, author_id: int | None, author_name: str, ts: float
    ) -> FactVersion:
        """The version this change writes over the fact's latest version number ``current``
        (0: none yet); VersionConflict if the change was made against another one."""
        if self.expected_version is not None and self.expected_version != current:
            raise VersionConflict(self.fact_id, self.expected_version, current)
        return FactVersion(
            guild_id, self.fact_id, current + 1, self.action, self.data, author_id, author_name, ts, self.note
        )


class VersionConflict(Exception):
    def __init__(self, fact_id: str, expected: int | None, actual: int) -> None:
        super().__init__(
            f"fact '{fact_id}' is at version {actual}, not {expected}: someone changed it meanwhile"
        )
        self.fact_id, self.expected, self.actual = fact_id, expected, actual


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    moderator_role_id: int | None = None


class Storage(abc.ABC):
    """An open connection to the bot's database."""

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    @abc.abstractmethod
    async def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    async def set_meta(self, key: str, value: str) -> None: ...

    async def setdefault_meta(self, key: str, value: str) -> str:
        """The value under ``key``, storing ``value`` first when there is none (like dict.setdefault).
        A backend several processes share makes this atomic: the first process to start wins."""
        current = await self.get_meta(key)
        if current is None:
            await self.set_meta(key, value)
            return value
        return current

    @abc.abstractmethod
    async def write_batch(self, queries: list[QueryRecord], feedback: list[FeedbackRecord]) -> None:
        """Write queries then feedback in one transaction (all or nothing)."""

    @abc.abstractmethod
    async def stats(
        self, *, since: float | None = None, guild_id: int | None = None, limit: int = 10
    ) -> Stats: ...

    @abc.abstractmethod
    async def prune(self, before: float) -> int:
        """Delete queries (and their feedback) older than ``before``; return how many."""

    async def writable(self) -> bool:
        """True when a write would succeed now (for health checks)."""
        try:
            await self.set_meta("health", "ok")
        except Exception:
            log.exception("database write failed")
            return False
        return True

    # -- moderators' facts (append-only versions; the current view is derived) -----------------

    @abc.abstractmethod
    async def write_fact_changes(
        self, guild_id: int, changes: list[FactChange], *, author_id: int | None, author_name: str
    ) -> list[FactVersion]:
        """Append one version per change, all in one transaction (all or nothing)."""

    @abc.abstractmethod
    async def fact_history(self, guild_id: int, fact_id: str) -> list[FactVersion]:
        """Every version of one fact, oldest first."""

    @abc.abstractmethod
    async def guild_revision(self, guild_id: int) -> int:
        """A number that grows with every fact change of the guild (from any process)."""

    @abc.abstractmethod
    async def current_facts(self, guild_id: int) -> dict[str, FactVersion]:
        """The latest version of every fact the guild has touched (removed ones included)."""

    @abc.abstractmethod
    async def guild_settings(self, guild_id: int) -> GuildSettings: ...

    @abc.abstractmethod
    async def set_moderator_role(self, guild_id: int, role_id: int | None) -> None: ...

    @abc.abstractmethod
    async def audit(self, guild_id: int | None, user_id: int | None, action: str, detail: str) -> None:
        """Record a moderation event (including refusals)."""
