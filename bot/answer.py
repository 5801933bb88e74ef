"""From a question to a reply object that every front end (console, JSON, Discord) renders."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.dates import short_text
from bot.knowledge.models import Entity, Fact, KnowledgePack
from bot.search import Context, SearchEngine, SearchResult, has_pronoun

# "what happened next?", "and then?", "what came after that" ...
_NEXT = re.compile(
    r"^\s*(and\s+)?(then\s+)?(what|wat|wht)?\s*(happened|happens|happend|came|comes|come)?\s*"
    r"(next|after(wards?)?|after that|then|later)\s*[?.!]*\s*$|^\s*(and\s+then|then what|what next|"
    r"go on|continue|more|tell me more|keep going)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_BEFORE = re.compile(
    r"^\s*(and\s+)?(what|wat)?\s*(happened|came)?\s*(before( that)?|earlier|previously)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
MAX_QUESTION = 500
SUGGESTIONS = 3  # nearest topics offered when a question is declined
# Declines of a fact that matched but cannot give the kind of answer asked (bot/search.py)
SILENT_REASONS = frozenset({"no date", "no quantity", "not stated", "not what was asked"})
PERSONAL_PRONOUNS = ("he", "him", "his", "she", "her", "hers")


@dataclass(frozen=True, slots=True)
class SourceRef:
    id: str
    title: str
    url: str
    licence: str
    licence_url: str | None = None
    attribution: str | None = None


@dataclass(frozen=True, slots=True)
class DateRef:
    edtf: str
    ce: str
    ah: str

    @property
    def short(self) -> str:
        return short_text(self.ce, self.ah)


@dataclass(frozen=True, slots=True)
class LinkRef:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class EntityRef:
    id: str
    name: str
    kind: str
    link: str | None = None


@dataclass(frozen=True, slots=True)
class FactRef:
    """A fact to ask about next: its id, title and a question that leads to it."""

    fact_id: str
    title: str
    question: str


@dataclass(slots=True)
class Reply:
    question: str
    answered: bool
    answer: str | None = None
    excerpt: str | None = None
    source: SourceRef | None = None
    fact_id: str | None = None
    title: str | None = None
    score: float = 0.0
    date: DateRef | None = None
    links: list[LinkRef] = field(default_factory=list)
    entities: list[EntityRef] = field(default_factory=list)
    related: list[FactRef] = field(default_factory=list)
    suggestions: list[FactRef] = field(default_factory=list)
    message: str = ""
    origin: str = "pack"
    chapter: str = ""
    followup: str | None = None  # "next", "previous" or "context" when it leaned on the last answer
    corrections: dict[str, str] = field(default_factory=dict)
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Conversation:
    """The last answer in one conversation (a console session, or a Discord channel and user)."""

    fact_id: str | None = None
    updated: float = 0.0
    people: tuple[str, ...] = ()  # the people the user last asked about by name ("he" = them)


class ConversationStore:
    """Bounded, expiring conversations keyed by (channel, user) or any hashable key."""

    def __init__(self, ttl: float = 15 * 60, max_size: int = 10_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._items: OrderedDict[Any, Conversation] = OrderedDict()

    def get(self, key: Any) -> Conversation:
        now = time.monotonic()
        conv = self._items.get(key)
        if conv is None or now - conv.updated > self.ttl:
            conv = Conversation(updated=now)
        self._items[key] = conv
        self._items.move_to_end(key)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)
        return conv


class Answerer:
    """The core: question in, Reply out. No Discord, no I/O."""

    def __init__(self, pack: KnowledgePack, engine: SearchEngine | None = None) -> None:
        self.pack = pack
        self.engine = engine or SearchEngine.for_pack(pack)

    @property
    def topic(self) -> str:
        return self.pack.info.name

    def ask(self, question: str, conversation: Conversation | None = None) -> Reply:
        started = time.perf_counter()
        reply, asked_about = self._ask(question[: MAX_QUESTION * 4], conversation)
        reply.latency_ms = (time.perf_counter() - started) * 1000
        if conversation is not None and reply.answered:
            conversation.fact_id = reply.fact_id
            conversation.updated = time.monotonic()
            if asked_about is None:  # answered without a search ("what happened next?")
                asked_about = self.engine.parse(question).entities
            named = [e for e in asked_about if self._entity_kind(e) == "person"]
            if named:
                conversation.people = tuple(sorted(named))
            elif reply.followup is None:  # a new subject: "he" is now someone in this answer
                conversation.people = ()
        return reply

    def show(self, ref: FactRef, conversation: Conversation | None = None) -> Reply:
        """The reply for a fact offered as a suggestion or "ask next" item, chosen by id (asking
        its question again could land elsewhere, e.g. after a moderator's edit)."""
        fact = self.pack.facts.get(ref.fact_id)
        if fact is None:
            return self.ask(ref.question, conversation)
        reply = self.reply_for_fact(ref.question, fact, score=1.0)
        if conversation is not None:
            conversation.fact_id, conversation.updated = fact.id, time.monotonic()
        return reply

    def _ask(self, question: str, conversation: Conversation | None) -> tuple[Reply, set[str] | None]:
        """The reply, and the entities the question names (None when no search was needed)."""
        shown = " ".join(question.split())[:MAX_QUESTION]
        previous = self.pack.facts.get(conversation.fact_id or "") if conversation else None
        if previous is not None:
            if _NEXT.match(question):
                _, nxt = self.engine.neighbours(previous.id)
                if nxt is None:
                    return self._decline(shown, None, "That was the last part of the story I know."), None
                return self.reply_for_fact(shown, nxt, score=1.0, followup="next"), None
            if _BEFORE.match(question):
                prev, _ = self.engine.neighbours(previous.id)
                if prev is None:
                    return self._decline(shown, None, "That was the first part of the story I know."), None
                return self.reply_for_fact(shown, prev, score=1.0, followup="previous"), None
        result = self.engine.search(question, limit=SUGGESTIONS)  # a reply shows no more hits
        named = result.query.entities
        if previous is not None and self._leans_on_context(result):
            entities = self._context_entities(previous, result, conversation)
            if not entities:
                return self._who_do_you_mean(shown, previous, result), named
            if not result.query.core and not result.query.dates:
                # "what happened to him?": the next part of the story about the same people
                later = self._next_about(previous, entities)
                if later is not None:
                    return self.reply_for_fact(shown, later, score=1.0, followup="context"), named
            ctx = Context(entities=entities, exclude=(previous.id,))
            contextual = self.engine.search(question, context=ctx, limit=SUGGESTIONS, parsed=result.query)
            if contextual.answered or not result.answered:
                result = contextual
                if result.answered and result.best:
                    reply = self.reply_for_fact(
                        shown,
                        result.best.fact,
                        score=result.best.score,
                        followup="context",
                        corrections=result.query.corrections,
                    )
                    return reply, named
        if result.answered and result.best:
            reply = self.reply_for_fact(
                shown, result.best.fact, score=result.best.score, corrections=result.query.corrections
            )
            return reply, named
        return self._decline(shown, result), named

    def _next_about(self, previous: Fact, entities: tuple[str, ...]) -> Fact | None:
        facts = list(self.pack.facts.values())
        start = facts.index(previous) + 1 if previous in facts else 0
        wanted = set(entities)
        for fact in facts[start:]:
            if wanted & set(fact.entity_ids):
                return fact
        return None

    def _leans_on_context(self, result: SearchResult) -> bool:
        """A question with a pronoun and no named entity of its own ("when did he die?")."""
        return has_pronoun(result.query.words) and not result.query.entities

    def _context_entities(
        self, previous: Fact, result: SearchResult, conversation: Conversation | None
    ) -> tuple[str, ...]:
        ws = set(result.query.words)
        if ws & {"there", "where"} and previous.where:
            return previous.where
        if ws.intersection(PERSONAL_PRONOUNS):
            # the person the user asked about by name, else the first one the answer names
            if conversation is not None and conversation.people:
                return conversation.people[:1]
            people = [e for e in previous.who if self._entity_kind(e) == "person"]
            return tuple(people[:1])  # none: "he" is nobody in particular, so ask who
        return previous.entity_ids

    def _who_do_you_mean(self, shown: str, previous: Fact, result: SearchResult) -> Reply:
        """ "when did he die?" after an answer that names no person: guessing would pick whoever
        the other words favour, so ask, naming the people of the facts around that answer."""
        pronoun = next(w for w in result.query.words if w in PERSONAL_PRONOUNS)
        _, nxt = self.engine.neighbours(previous.id)
        around = [self.pack.facts[r] for r in previous.related if r in self.pack.facts]
        people: list[str] = []
        for fact in [*around, *([nxt] if nxt else [])]:
            people += [e for e in fact.who if self._entity_kind(e) == "person" and e not in people]
        names = [self.pack.entities[e].name for e in people[:3]]
        message = f"Who do you mean by “{pronoun}”? My last answer ({previous.title}) names no one"
        if names:
            message += f"; perhaps {_listed(names, 'or')}? Ask again with the name."
        else:
            message += ": ask again with the name."
        first = self.engine.index.first_fact
        suggestions = [fact_ref(self.engine.index.docs[first[e]].fact) for e in people[:3] if e in first]
        reply = self._decline(shown, None, message)
        reply.title = "Who do you mean?"
        reply.suggestions = suggestions
        return reply

    def _entity_kind(self, eid: str) -> str:
        ent = self.pack.entities.get(eid)
        return ent.kind if ent else ""

    # -- building replies --------------------------------------------------------------------

    def reply_for_fact(
        self,
        question: str,
        fact: Fact,
        *,
        score: float,
        followup: str | None = None,
        corrections: dict[str, str] | None = None,
    ) -> Reply:
        source = self.pack.sources.get(fact.source or "")
        date = None
        if fact.when is not None:
            date = DateRef(edtf=fact.when.edtf, ce=fact.when.ce, ah=fact.when.ah)
        entity_ids = dict.fromkeys(e for e in fact.entity_ids if e in self.pack.entities)
        entities = [self._entity_ref(e) for e in entity_ids]
        links = [LinkRef(lk.title, lk.url) for lk in fact.links]
        return Reply(
            question=question,
            answered=True,
            answer=fact.answer,
            excerpt=fact.excerpt,
            source=_source_ref(source) if source else None,
            fact_id=fact.id,
            title=fact.title,
            score=round(score, 4),
            date=date,
            links=links,
            entities=entities,
            related=self.related(fact),
            message="",
            origin=fact.origin,
            chapter=fact.chapter,
            followup=followup,
            corrections=dict(corrections or {}),
        )

    def related(self, fact: Fact, n: int = 3) -> list[FactRef]:
        chosen: list[Fact] = [self.pack.facts[r] for r in fact.related if r in self.pack.facts]
        _, nxt = self.engine.neighbours(fact.id)
        if nxt is not None:
            chosen.append(nxt)
        out: list[FactRef] = []
        for f in chosen:
            if f.id != fact.id and all(r.fact_id != f.id for r in out):
                out.append(fact_ref(f))
            if len(out) >= n:
                break
        return out

    def _decline(self, question: str, result: SearchResult | None, message: str = "") -> Reply:
        suggestions: list[FactRef] = []
        if result is not None:
            suggestions = [fact_ref(f) for f in self.engine.suggest(result, SUGGESTIONS)]
        if not message:
            if result is not None and result.reason == "empty":
                message = f"Ask me anything about {self.topic}: people, places, battles or dates."
            elif names := self._silent_about(result):
                message = (
                    f"My sources on {self.topic} mention {names} but don't say that, so I won't "
                    "guess."
                )
            else:
                message = f"I couldn't find that in my sources on {self.topic}, so I won't guess."
        return Reply(
            question=question,
            answered=False,
            suggestions=suggestions,
            message=message,
            corrections=dict(result.query.corrections) if result else {},
        )

    def _silent_about(self, result: SearchResult | None) -> str:
        """The people and places a question asked about, when the fact about them that it matched
        was only declined for not giving what was asked (no date, no number, no age ...): the
        source speaks of them but is silent on that. Empty otherwise."""
        if result is None or result.reason not in SILENT_REASONS or result.best is None:
            return ""
        shared = result.query.entities & set(result.best.fact.entity_ids)
        named = [e for e in shared if self._entity_kind(e) in ("person", "place")]
        names = sorted(self.pack.entities[e].name for e in named)
        return _listed(names, "and") if names else ""

    def _entity_ref(self, eid: str) -> EntityRef:
        ent: Entity = self.pack.entities[eid]
        return EntityRef(ent.id, ent.name, ent.kind, ent.link)

    def entity_search(self, name: str, kinds: tuple[str, ...] = ()) -> list[Entity]:
        """Entities by name or alias, best first (exact alias, then fuzzy)."""
        from rapidfuzz import fuzz, process, utils

        pool = [e for e in self.pack.entities.values() if not kinds or e.kind in kinds]
        choices: dict[int, str] = {}
        owners: list[Entity] = []
        for e in pool:
            for n in e.names:
                choices[len(owners)] = n
                owners.append(e)
        if not name.strip():
            return pool
        hits = process.extract(
            name,
            choices,
            scorer=fuzz.WRatio,
            processor=utils.default_process,
            score_cutoff=60,
            limit=50,
        )
        out: list[Entity] = []
        for _choice, _score, key in hits:
            ent = owners[key]
            if ent not in out:
                out.append(ent)
        return out


def fact_ref(fact: Fact) -> FactRef:
    question = fact.questions[0] if fact.questions else fact.title
    return FactRef(fact.id, fact.title, question)


def _source_ref(source: Any) -> SourceRef:
    return SourceRef(
        id=source.id,
        title=source.title,
        url=source.url,
        licence=source.licence,
        licence_url=source.licence_url,
        attribution=source.attribution,
    )


def _listed(names: list[str], conjunction: str) -> str:
    """ "A", "A or B", "A, B and C"."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
