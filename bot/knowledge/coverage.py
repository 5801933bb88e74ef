"""Which sentences of each source are cited by some fact's excerpt."""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.models import KnowledgePack
from bot.text import normalise_quotes_and_space, split_sentences

# A sentence counts as cited when excerpts cover at least this share of its characters.
CITED_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class SourceCoverage:
    source_id: str
    sentences: list[str]
    uncited: list[str]

    @property
    def cited(self) -> int:
        return len(self.sentences) - len(self.uncited)

    @property
    def share(self) -> float:
        return self.cited / len(self.sentences) if self.sentences else 1.0


def coverage(pack: KnowledgePack) -> list[SourceCoverage]:
    result = []
    for sid, source in pack.sources.items():
        text = normalise_quotes_and_space(source.text)
        covered = bytearray(len(text))
        for fact in pack.facts.values():
            if fact.source != sid or not fact.excerpt:
                continue
            needle = normalise_quotes_and_space(fact.excerpt)
            start = text.find(needle)
            while start != -1:
                covered[start : start + len(needle)] = b"\x01" * len(needle)
                start = text.find(needle, start + 1)
        sentences, uncited = [], []
        for a, b in split_sentences(text):
            sentence = text[a:b]
            sentences.append(sentence)
            if sum(covered[a:b]) < CITED_SHARE * (b - a):
                uncited.append(sentence)
        result.append(SourceCoverage(sid, sentences, uncited))
    return result
