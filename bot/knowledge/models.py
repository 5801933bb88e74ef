"""Typed records of a knowledge pack: sources, entities and facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.dates import DateInfo

ENTITY_KINDS = ("person", "place", "group", "battle", "office", "polity", "event")


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: str
    url: str
    licence: str
    licence_url: str | None = None
    attribution: str | None = None
    text: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    link: str | None = None
    when: DateInfo | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The name followed by every alias."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Fact:
    id: str
    title: str
    answer: str
    questions: tuple[str, ...]
    source: str | None = None
    excerpt: str | None = None
    when: DateInfo | None = None
    who: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    chapter: str = ""
    file: str = ""
    line: int = 0
    # "pack" for facts shipped in knowledge/, "guild" for facts added by a server's moderators.
    origin: str = "pack"

    @property
    def entity_ids(self) -> tuple[str, ...]:
        return (*self.who, *self.where)


@dataclass(frozen=True, slots=True)
class PackInfo:
    id: str
    name: str
    description: str = ""


@dataclass(slots=True)
class KnowledgePack:
    """Everything one topic knows. Facts keep the order of their files."""

    path: Path
    info: PackInfo
    sources: dict[str, Source]
    entities: dict[str, Entity]
    facts: dict[str, Fact]

    def facts_about(self, entity_id: str) -> list[Fact]:
        return [f for f in self.facts.values() if entity_id in f.entity_ids]

    def dated_facts(self) -> list[Fact]:
        dated = [f for f in self.facts.values() if f.when is not None]
        return sorted(dated, key=lambda f: f.when.sort_key)  # type: ignore[union-attr]
