"""Turning text into search terms: words, stems, stop words, synonyms, typo repair, dates.

Everything here is topic-neutral; a knowledge pack only adds vocabulary and synonyms.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA
from wordfreq import top_n_list, zipf_frequency

from bot.dates import (
    SEASONS,
    YMD,
    julian_span_of_ah_year,
    julian_span_of_ce_year,
)
from bot.text import clean_user_text, fold_accents

_WORD = re.compile(r"[a-z0-9]+")

DATA_DIR = Path(__file__).resolve().parent / "data"


def _word_list(name: str) -> frozenset[str]:
    """Words of a data file (``#`` starts a comment)."""
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() for w in line.split("#", 1)[0].split())


# Words that carry no topic: function words, chat filler, and question scaffolding.
STOP_WORDS = _word_list("stopwords.txt")
FILLER_WORDS = _word_list("filler.txt")
QUESTION_WORDS = frozenset({"who", "whom", "whose", "when", "where", "why", "how", "what", "which"})
PRONOUNS = frozenset(
    {
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "they",
        "them",
        "their",
        "theirs",
        "it",
        "its",
        "there",
        "that",
        "this",
        "those",
        "these",
        "then",
    }
)
COMMON_ZIPF = 3.0  # words at least this frequent in English are never "typo-corrected"
KNOWN_ZIPF = 2.0  # ... and words this frequent only by a single edit

_SEASON_WORDS = {"spring": 21, "summer": 22, "autumn": 23, "fall": 23, "winter": 24}
_MONTH_WORDS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
_AH_MARK = re.compile(r"^(ah|h|hijri|hijra|hegira)$")
_CE_MARK = re.compile(r"^(ce|ad|bce|bc)$")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """Snowball stem of the word's base form: irregular verb forms are read as their base
    first ("fought" -> "fight", "took" -> "take"), which no suffix-stripping stemmer does."""
    return _STEMMER.stemWord(IRREGULAR_FORMS.get(word, word))


_STEMMER = snowballstemmer.stemmer("english")


def stem(word: str) -> str:
    return _stem(word)


def _pairs(name: str) -> dict[str, str]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    pairs = (line.split("#", 1)[0].split() for line in text.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2}


CHAT_SPELLINGS = _pairs("chat_spellings.txt")
IRREGULAR_FORMS = _pairs("irregular_verbs.txt")  # "took" -> "take"


def _framing(name: str) -> dict[str, str]:
    """word -> the kind of answer it asks for ("year" -> "when")."""
    out: dict[str, str] = {}
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        kind, sep, ws = line.split("#", 1)[0].partition(":")
        if sep:
            out.update(dict.fromkeys(ws.split(), kind.strip()))
    return out


FRAMING_WORDS = _framing("framing.txt")


def plain_words(text: str) -> list[str]:
    """Lower-case, accent-folded words (for indexing the knowledge's own well-spelt text)."""
    return _WORD.findall(fold_accents(text).lower())


def words(text: str) -> list[str]:
    """Lower-case, accent-folded words of a text (numbers kept, chat spellings read as words)."""
    return [CHAT_SPELLINGS.get(w, w) for w in _WORD.findall(fold_accents(text).lower())]


NON_CONTENT = STOP_WORDS | FILLER_WORDS | QUESTION_WORDS


def is_content(word: str) -> bool:
    return word not in NON_CONTENT


def terms(text: str) -> list[str]:
    """Stemmed content terms of a text (stop words, chat filler and question words removed)."""
    return [_stem(w) for w in words(text) if is_content(w)]


@lru_cache(maxsize=100_000)
def is_common_english(word: str, zipf: float = COMMON_ZIPF) -> bool:
    """True for words at least this frequent in English (wordfreq's Zipf scale: 3 = once per
    million words)."""
    return zipf_frequency(word, "en") >= zipf


def load_synonym_groups(paths: Iterable[Path]) -> dict[str, frozenset[str]]:
    """Stem -> the stems it may stand for (union of every group it belongs to)."""
    groups: dict[str, set[str]] = {}
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            stems = {_stem(w) for w in words(line)}
            for s in stems:
                groups.setdefault(s, set()).update(stems - {s})
    return {k: frozenset(v) for k, v in groups.items()}


_OBJECT_PRONOUNS = frozenset({"them", "him", "her", "it", "us", "me", "you"})


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    start: int  # index of the expression's first word in the question's words
    end: int  # one past its last word
    means: tuple[str, ...]  # stems of the single words it stands for


class PhraseBook:
    """Multi-word expressions and the single words they mean ("take over" = seize succeed),
    so a casual question meets the formal words of the facts. Matched on base stems, so every
    inflection counts ("took over", "taking over"); a two-word expression may have an object
    pronoun between its words ("kick them out")."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.entries: dict[tuple[str, ...], tuple[str, ...]] = {}
        for path in paths:
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                left, sep, right = line.split("#", 1)[0].partition("=")
                key = tuple(_stem(w) for w in words(left))
                means = tuple(dict.fromkeys(_stem(w) for w in words(right)))
                if sep and len(key) >= 2 and means:
                    self.entries[key] = tuple(dict.fromkeys(self.entries.get(key, ()) + means))
        self.lengths = sorted({len(k) for k in self.entries}, reverse=True)

    def find(self, ws: list[str]) -> list[PhraseMatch]:
        """Expressions in the words, longest first, not overlapping."""
        if not self.entries:
            return []
        bases = [_stem(w) for w in ws]
        found: list[PhraseMatch] = []
        i = 0
        while i < len(ws):
            match = None
            for n in self.lengths:
                key = tuple(bases[i : i + n])
                if len(key) == n and key in self.entries:
                    match = PhraseMatch(i, i + n, self.entries[key])
                    break
                if n == 2 and i + 2 < len(ws) and ws[i + 1] in _OBJECT_PRONOUNS:
                    key = (bases[i], bases[i + 2])
                    if key in self.entries:
                        match = PhraseMatch(i, i + 3, self.entries[key])
                        break
            if match is None:
                i += 1
            else:
                found.append(match)
                i = match.end
        return found


@dataclass(frozen=True, slots=True)
class DateQuery:
    """A date span a question mentions, e.g. 'in 741', 'spring 742', '123 AH'."""

    start: YMD
    end: YMD
    label: str


def _thousands(head: str, group: str) -> bool:
    """Are these two words one number written with a separator ("120,000", "1 200")? Only a
    round group counts, so that "739/740" stays two years."""
    round_group = len(group) == 3 and group.isdigit() and group.endswith("00")
    return round_group and 1 <= len(head) <= 3 and head.isdigit()


def find_dates(ws: list[str]) -> list[DateQuery]:
    """Years (CE unless marked AH), optionally with a season or month, found in the words."""
    found: list[DateQuery] = []
    for i, w in enumerate(ws):
        if not w.isdigit() or not (2 <= len(w) <= 4):
            continue
        year = int(w)
        after = ws[i + 1] if i + 1 < len(ws) else ""
        before = ws[i - 1] if i > 0 else ""
        if _thousands(w, after) or _thousands(before, w):
            continue  # "120,000 Berbers", "1,200": one number split at its thousands, not a year
        if _AH_MARK.match(after):
            if not 1 <= year <= 1500:
                continue
            start, end = julian_span_of_ah_year(year)
            found.append(DateQuery(start, end, f"{year} AH"))
            continue
        if len(w) < 3 and not _CE_MARK.match(after):
            continue  # "2 armies", "40 men": not years
        if not 1 <= year <= 2100:
            continue
        start, end = julian_span_of_ce_year(year)
        label = f"{year} CE"
        if before in _SEASON_WORDS:
            season = _SEASON_WORDS[before]
            first = {21: 3, 22: 6, 23: 9, 24: 12}[season]
            start, end = (year, first, 1), (year, min(first + 2, 12), 31)
            label = f"{SEASONS[season]} {year} CE"
        elif before in _MONTH_WORDS:
            month = _MONTH_WORDS[before]
            start, end = (year, month, 1), (year, month, 31)
            label = f"{before.capitalize()} {year} CE"
        found.append(DateQuery(start, end, label))
    return found


class Vocabulary:
    """The knowledge's surface words, for repairing misspelt rare words in questions."""

    def __init__(self, surface_words: Iterable[str], frequency: dict[str, int] | None = None) -> None:
        self._known: set[str] = set()
        self._freq = frequency or {}
        by_length: dict[int, list[str]] = {}
        for w in surface_words:
            if w in self._known or w.isdigit():
                continue
            self._known.add(w)
            by_length.setdefault(len(w), []).append(w)
        self._by_length = by_length

    def __contains__(self, word: str) -> bool:
        return word in self._known

    def repair(self, word: str, max_edits: int | None = None) -> str | None:
        """The known word a misspelt one was meant to be, or None.

        Only words that are neither known nor ordinary English (zipf < 3) are repaired, to a known
        word within a small edit distance (a swap of two letters counts as one edit: "blaj" ->
        "balj"): one edit up to 5 letters, two up to 9, three beyond (or at most ``max_edits``).
        Among equally close words the one the knowledge uses most wins. "pizza" is never turned
        into anything, and a word English knows at all (zipf >= 2: "saladin") only into a word
        one edit away.
        """
        if len(word) < 4 or word.isdigit() or word in self._known or is_common_english(word):
            return None
        if max_edits is None:
            max_edits = 1 if len(word) <= 5 else 2 if len(word) <= 9 else 3
        candidates: list[str] = []
        for n in range(len(word) - 2, len(word) + 3):
            candidates.extend(self._by_length.get(n, ()))
        if not candidates:
            return None
        found = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=max_edits, limit=32)
        if not found:
            return None
        nearest = min(d for _, d, _ in found)
        if nearest >= 2 and is_common_english(word, KNOWN_ZIPF):
            return None  # a real if rare word ("saladin") is not two slips away from another one
        tied = [w for w, d, _ in found if d == nearest]
        # Ties: the same letters in another order first ("seige" -> "siege", not "seize"), then
        # the word the knowledge uses most ("burber" -> "berber", not "burner"), then the
        # longest shared beginning.
        return max(
            tied, key=lambda w: (-_letter_difference(w, word), self._freq.get(w, 0), _common_prefix(w, word))
        )


EVERYDAY_ZIPF = 4.5  # a misspelt word outside the knowledge is only read as a word this common


@lru_cache(maxsize=1)
def everyday_words() -> Vocabulary:
    """Everyday English words (zipf >= EVERYDAY_ZIPF), each counted by how common it is, as a
    vocabulary to repair slips against (wordfreq's list is ordered by frequency: the cut is
    found by bisection)."""
    ranked = top_n_list("en", 6000)
    cut = bisect_left(ranked, -EVERYDAY_ZIPF, key=lambda w: -zipf_frequency(w, "en"))
    common = [w for w in ranked[:cut] if w.isalpha() and w.isascii()]
    return Vocabulary(common, {w: len(common) - i for i, w in enumerate(common)})


@lru_cache(maxsize=20_000)
def repair_everyday(word: str) -> str | None:
    """The everyday English word a misspelt one was meant to be ("happend" -> "happened",
    "thier" -> "their"), or None: only a word that is not itself ordinary English, one edit
    (or one swap) away from a very common word; the same letters first, then the most common.
    For slips the knowledge's own vocabulary cannot repair, so that they neither weigh as
    unknown words nor go unread ("whne" is still a "when" question)."""
    meant = everyday_words().repair(word, max_edits=1)
    if meant is not None and len(word) < 5 and is_content(meant):
        return None  # four letters from a word are as likely a name ("oran", "wali") as a slip
    return meant


def _letter_difference(a: str, b: str) -> int:
    ca, cb = Counter(a), Counter(b)
    return sum(((ca - cb) + (cb - ca)).values())


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def prepare_question(text: str) -> str:
    return clean_user_text(text, limit=500)
