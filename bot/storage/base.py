"""The storage interface: everything Tarikh persists goes through these methods.

SQLite (aiosqlite) is the embedded default; another backend (PostgreSQL for several
processes) implements the same interface. No SQL lives outside this package.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field


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

    @abc.abstractmethod
    async def writable(self) -> bool:
        """True when a write would succeed now (for health checks)."""
