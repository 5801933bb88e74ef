"""What kind of answer a question asks for, and whether a fact can give it.

"when ...?" wants a date, "how many ...?" a number, "who ...?" someone; a question about a
birth or a death wants a fact that tells of one. The search engine declines a best match that
cannot give what was asked (and ranks facts that can a little higher), and so one that does not
state an age, a look, a language ... that the question asks for. Topic-neutral.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from bot.analysis import DATA_DIR, FRAMING_WORDS, is_common_english, is_content, plain_words, stem
from bot.knowledge.models import Fact

# "how many/much/old/long ...?" asks for a number ("how far" may ask for a place); a fact that
# states none cannot answer it.
QUANTITY_WORDS = frozenset({"many", "much", "old", "long"})
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "  # noqa: SIM905
    "hundred hundreds thousand thousands million dozen dozens half "
    "second third fourth fifth sixth seventh eighth ninth tenth "  # "the third army" counts too
    # "how long ...?" may be answered by a span of time without a number ("for centuries")
    "decade decades century centuries generation generations".split()
)


_NUMBER = re.compile(r"\d[\d,]*")


@lru_cache(maxsize=8192)
def has_quantity(fact: Fact, *, years_count: bool = True) -> bool:
    """Does the fact state a number ("30,000", "two years", "a dozen")? A bare number of three or
    four digits in a history text is a year ("in 741"): it tells how long something lasted,
    but not how many horses there were, so ``years_count=False`` passes over it."""
    text = f"{fact.answer} {fact.excerpt or ''}"
    for match in _NUMBER.finditer(text):
        number = match.group().rstrip(",")
        if years_count or "," in number or not 3 <= len(number) <= 4:
            return True
    return not NUMBER_WORDS.isdisjoint(plain_words(text))


# "how many HORSES": a fact that states a count of them names them (or a synonym) within a few
# words of a number ("some 10,000 men", "the Syrian regiments, down to about 10,000").
COUNT_WINDOW = 6


@lru_cache(maxsize=4096)
def _own_text_words(fact: Fact) -> tuple[str, ...]:
    """The words of the fact's own text (title, answer, excerpt; not its sample questions), in order."""
    return tuple(plain_words(f"{fact.title} {fact.answer} {fact.excerpt or ''}"))


@lru_cache(maxsize=4096)
def _own_stems(fact: Fact) -> tuple[str, ...]:
    return tuple(stem(w) for w in _own_text_words(fact))


@lru_cache(maxsize=4096)
def _own_words(fact: Fact) -> frozenset[str]:
    return frozenset(_own_text_words(fact))


def _is_year(word: str) -> bool:
    """Three or four digits, not "000" (the tail of "30,000"): in a history text, a year."""
    return len(word) in (3, 4) and word.isdigit() and word[0] != "0"


def _is_count(word: str) -> bool:
    """A number that may count things: not a bare year ("in 741"); "000" is the tail of "10,000"."""
    if word.isdigit():
        return not _is_year(word)
    return word in NUMBER_WORDS


def counts(fact: Fact, things: Iterable[str]) -> bool:
    """Does the fact's own text give a number of these things (stems: the noun asked about and
    its synonyms) within a few words of one of them?"""
    ws, stems = _own_text_words(fact), _own_stems(fact)
    wanted = set(things)
    for i, s in enumerate(stems):
        if s in wanted and any(_is_count(w) for w in ws[max(0, i - COUNT_WINDOW) : i + COUNT_WINDOW + 1]):
            return True
    return False


def counted_noun(ws: Sequence[str]) -> int | None:
    """Where the noun a "how many N / how much N" question counts is ("how many HORSES"), unless
    it only frames the answer ("how many years", "how many times")."""
    for i in range(1, len(ws) - 1):
        if ws[i] in ("many", "much") and ws[i - 1] == "how":
            noun = ws[i + 1]
            return i + 1 if _names_a_thing(noun) and not is_light_noun(noun) else None
    return None


TIME_UNITS = frozenset(
    "day days week weeks month months year years decade decades century centuries "  # noqa: SIM905
    "generation generations".split()
)


def asks_a_count(ws: Sequence[str]) -> bool:
    """ "how many men / how much tribute / how old", not a span of time ("how long", "how many
    years": dates may answer those) nor an extent ("how much of Morocco")."""
    after = dict(pairwise(ws))
    return "long" not in ws and TIME_UNITS.isdisjoint(ws) and after.get("much") != "of"


# "what happened to X", "what became of X", "the fate of X": what befell X in the end, so the
# later of X's facts answer it rather than the one that introduces X.
FATE_PAIRS = frozenset(
    {("happened", "to"), ("happen", "to"), ("became", "of"), ("become", "of"), ("fate", "of")}
)


def asks_a_fate(ws: Sequence[str]) -> bool:
    return any(pair in FATE_PAIRS for pair in pairwise(ws))


@lru_cache(maxsize=4096)
def has_date(fact: Fact) -> bool:
    """Is the fact dated, or does its text name a year (three or four digits, not "000" as in
    "30,000")?"""
    if fact.when is not None:
        return True
    return any(_is_year(w) for w in plain_words(fact.answer))


def _asked_and_told(path: Path) -> list[tuple[str, frozenset[str]]]:
    """The lines "what asks | words that tell" of a data file: the asking side as written, and
    the telling words (comments after "#" and lines without "|" left out)."""
    rules = []
    for line in path.read_text(encoding="utf-8").splitlines():
        asks, sep, told = line.split("#", 1)[0].partition("|")
        if sep:
            rules.append((asks, frozenset(told.split())))
    return rules


LIFE_EVENTS = [
    (frozenset(asks.split()), told) for asks, told in _asked_and_told(DATA_DIR / "life_events.txt")
]
PARTICLES = frozenset({"down", "out", "away", "off", "up", "of", "from"})  # "died down", "born of"


def _attributes(path: Path) -> dict[str, list[tuple[tuple[str, ...], frozenset[str]]]]:
    """Lines "asking phrase, asking phrase | word word": each phrase (as words) with the words
    that state its attribute, filed under the phrase's first word."""
    by_first: dict[str, list[tuple[tuple[str, ...], frozenset[str]]]] = {}
    for asks, told in _asked_and_told(path):
        for phrase in (tuple(p.split()) for p in asks.split(",") if p.strip()):
            by_first.setdefault(phrase[0], []).append((phrase, told))
    return by_first


# "how old was X", "what did X look like", "what language did they speak": a question that asks
# for an attribute the fact must state in words (bot/data/attributes.txt, written blind).
ATTRIBUTES = _attributes(DATA_DIR / "attributes.txt")


def attributes_asked(ws: Sequence[str]) -> list[frozenset[str]]:
    """For each attribute the question asks for, the words a fact may state it with."""
    found = []
    for i, w in enumerate(ws):
        for phrase, told in ATTRIBUTES.get(w, ()):
            if tuple(ws[i : i + len(phrase)]) == phrase:
                found.append(told)
    return found


def tells_what_was_asked(ws: Sequence[str], fact: Fact) -> bool:
    """A question about a birth or a death needs a fact that tells of one; one that asks for an
    age, a look, a language ... needs a fact with a word that can state it."""
    own = _own_words(fact)
    asked = {w for w, after in zip(ws, [*ws[1:], ""], strict=True) if after not in PARTICLES}
    for question_words, told in LIFE_EVENTS:
        if asked & question_words and own.isdisjoint(told):
            return False
    return all(not own.isdisjoint(told) for told in attributes_asked(ws))


# "what WEAPONS did they use", "which TRIBES", "what was the CAPITAL of": the noun a "what" or
# "which" question asks for. A fact that never speaks of it cannot answer, however many of the
# other words it shares. Words that only frame the question are not such a noun.
COPULAS = frozenset({"is", "was", "are", "were", "s"})
ARTICLES = frozenset({"the", "a", "an"})
KIND_OF = frozenset({"kind", "sort", "type", "kinds", "sorts", "types"})
AUXILIARIES = COPULAS | {"did", "do", "does", "had", "has", "have", "could", "would", "will", "can"}
LIGHT_NOUNS = frozenset(
    line.strip()
    for line in (DATA_DIR / "answer_nouns.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


def is_light_noun(word: str) -> bool:
    """A noun naming only the kind of answer ("role", "outcome", "happened"), also misspelt by
    a letter ("hapened", "happend"; not an English word like "sports" ~ "sorts")."""
    if word in LIGHT_NOUNS:
        return True
    if len(word) < 5 or is_common_english(word, 3.0):
        return False
    return any(Levenshtein.distance(word, light, score_cutoff=1) <= 1 for light in LIGHT_NOUNS)


def asked_nouns(ws: Sequence[str]) -> list[int]:
    """Positions of the nouns a question asks for: "what SPORTS did they play", "which TRIBES
    were ...", "what was the CAPITAL of ..." (or only the kind of answer: "what ROLE did ...").
    Only where the words around it make it a noun (an auxiliary after it, or "the N of"): not
    "what caused ...", "what famous quote ...", nor "what did the man do" (there the man is who
    acted, not what is asked)."""
    found: list[int] = []
    for i, w in enumerate(ws):
        if w not in ("what", "which"):
            continue
        j = i + 1
        copula = j < len(ws) and ws[j] in COPULAS
        j += copula
        if j < len(ws) and ws[j] in ARTICLES:  # "what is the N of", "whats the N of"
            j += 1
            needs = ("of",)
        elif copula:
            continue  # "what is going on", "what was it": nothing named
        else:
            needs = AUXILIARIES - {"s"}  # "which city's ...": a possessive, not "is"
            if j + 2 < len(ws) and ws[j] in KIND_OF and ws[j + 1] == "of":  # "what kind of N did"
                j += 2
        noun = ws[j] if j + 1 < len(ws) and ws[j + 1] in needs else ""
        if _names_a_thing(noun):
            found.append(j)
    return found


def _names_a_thing(word: str) -> bool:
    """Can this word, where a question puts the noun it asks about, name a thing (not a function
    word, nor one that frames the answer such as "year")?"""
    return len(word) > 2 and is_content(word) and word not in FRAMING_WORDS


def question_kind(ws: Iterable[str]) -> str | None:
    """who / when / where / why / howmany, or None: the kind of answer the words ask for. The
    first question word decides: "what did the caliph say when he heard" asks for words, not a
    date, but "what year ..." / "which place ..." ask for the kind their noun frames."""
    ws = list(ws)
    if "how" in ws and not QUANTITY_WORDS.isdisjoint(ws):
        return "howmany"
    for i, w in enumerate(ws):
        if w in ("who", "whom", "whose"):
            return "who"
        if w == "when" or FRAMING_WORDS.get(w) == "when":
            return "when"
        if w == "where":
            return "where"
        if w == "why":
            return "why"
        if w in ("what", "which", "how"):
            following = ws[i + 1 : i + 2]
            return FRAMING_WORDS.get(following[0]) if following else None
    return None
