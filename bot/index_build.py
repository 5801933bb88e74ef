"""Building the search index's postings for many facts at once.

The index of a large base (100,000 facts, some 20 million words) must build in seconds, so the
work per word happens in numpy, never in a Python loop:

* ``WordSplitter`` splits a batch of texts into words exactly as ``bot.analysis.plain_words``
  does (accents folded, lower case, runs of ``[a-z0-9]``), from the UTF-8 bytes of the batch:
  each word gets a 64-bit hash of its bytes, the distinct hashes of the batch are found with
  ``np.unique``, and only those few thousand distinct words become Python strings (each is
  numbered once, in a dict shared by all batches).
* ``PostingsBuilder`` turns word numbers into term numbers (stop words dropped, stems worked
  out once per distinct word), finds entities' names as runs of terms (one hash per window of
  terms, checked exactly only where a hash matches a name), and sums the field weights of each
  (fact, term) pair with ``np.unique`` and ``np.bincount``. It also counts each (word, fact)
  pair over every word, unstemmed, for the search's plain view.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.analysis import NON_CONTENT
from bot.knowledge.models import Fact
from bot.text import fold_accents

BATCH = 2000  # facts per batch: big enough to amortise numpy's per-call cost, small in memory
_SEP = "\x01"  # between the texts of a batch (a text holding it has it replaced by a space)
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[list(b"abcdefghijklmnopqrstuvwxyz0123456789")] = True
_P = 0x100000001B3  # the FNV prime: odd, so invertible modulo 2**64
_P_INV = pow(_P, -1, 2**64)
_MASK = 2**64 - 1


class Numbering(dict[str, int]):
    """str -> dense number, assigned on first sight; ``order`` lists them by number."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []

    def __missing__(self, key: str) -> int:
        n = self[key] = len(self.order)
        self.order.append(key)
        return n


def _powers(base: int, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64."""
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)  # unsigned products wrap modulo 2**64


@dataclass(frozen=True, slots=True)
class HashedWords:
    """The words of a batch of texts, grouped by hash but not yet numbered."""

    raw: bytes
    starts: np.ndarray
    ends: np.ndarray
    text_of: np.ndarray
    order: np.ndarray  # word positions sorted by hash
    first_of_group: np.ndarray  # in ``order``: True where a new hash starts
    group: np.ndarray  # in ``order``: the group number of each position


class WordSplitter:
    """Words of many texts at once, numbered in ``words`` (shared by every call).

    ``hash`` is the numpy part and may run in another thread (it shares nothing that changes);
    ``number`` gives the words their numbers and must run in one thread, in batch order, so the
    numbering is the same on every build."""

    def __init__(self) -> None:
        self.words = Numbering()
        self._pow = np.ones(1, dtype=np.uint64)
        self._inv = np.ones(1, dtype=np.uint64)
        self._grow_lock = threading.Lock()

    def split(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(word number, index of its text) for every word of ``texts``, in order."""
        return self.number(self.hash(texts))

    def hash(self, texts: Sequence[str]) -> HashedWords | None:
        folded = [t if t.isascii() else fold_accents(t) for t in texts]
        joined = _SEP.join(folded)
        if joined.count(_SEP) != len(texts) - 1:
            joined = _SEP.join(t.replace(_SEP, " ") for t in folded)
        # bytes.lower() touches only A-Z; other letters are not word characters here, and
        # folding has already turned letters such as the Kelvin sign into plain ones
        raw = joined.replace("`", "").encode("utf-8").lower()
        data = np.frombuffer(raw, dtype=np.uint8)
        if not len(data):
            return None
        is_word = np.concatenate(([False], _WORD_BYTE[data], [False]))
        edges = np.diff(is_word.view(np.int8))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        if not len(starts):
            return None
        text_of = np.cumsum(data == 1, dtype=np.int32)[starts]
        # hash(word) = sum(byte_i * P**i) over its bytes, from prefix sums of byte * P**position
        powers, inverses = self._tables(len(data) + 1)
        prefix = np.zeros(len(data) + 1, dtype=np.uint64)
        np.cumsum(data * powers[: len(data)], dtype=np.uint64, out=prefix[1:])
        lengths = (ends - starts).astype(np.uint64)
        hashes = (prefix[ends] - prefix[starts]) * inverses[starts] + lengths * np.uint64(0x9E3779B97F4A7C15)
        # group equal hashes (np.unique's return_index would force a slower stable sort)
        order = np.argsort(hashes)
        ordered = hashes[order]
        new_group = np.ones(len(ordered), dtype=bool)
        new_group[1:] = ordered[1:] != ordered[:-1]
        group = np.cumsum(new_group) - 1
        return HashedWords(raw, starts, ends, text_of, order, new_group, group)

    def number(self, hashed: HashedWords | None) -> tuple[np.ndarray, np.ndarray]:
        if hashed is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        raw, starts, ends, order = hashed.raw, hashed.starts, hashed.ends, hashed.order
        number = self.words.__getitem__
        local = np.fromiter(
            (number(raw[starts[i] : ends[i]].decode("ascii")) for i in order[hashed.first_of_group].tolist()),
            dtype=np.int32,
            count=int(hashed.group[-1]) + 1,
        )
        words = np.empty(len(order), dtype=np.int32)
        words[order] = local[hashed.group]
        return words, hashed.text_of

    def _tables(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """P**i and P**-i modulo 2**64 for i < n (grown, never shrunk: a reader keeps its arrays)."""
        with self._grow_lock:
            if len(self._pow) < n:
                size = max(n, 2 * len(self._pow))
                self._pow = _powers(_P, size)
                self._inv = _powers(_P_INV, size)
            return self._pow, self._inv


class PostingsBuilder:
    """(fact, term, summed field weight) for a pack's facts, a batch at a time.

    ``register(fact, mentioned)`` is called once per fact, in order, with the entities whose
    names its title, answer or excerpt mention; it returns extra terms for the fact (entity
    tokens, the terms of its entities' names) with their weights.
    """

    NAME_FIELDS = ("title", "answer", "excerpt")  # also searched for entities' names
    OTHER_FIELDS = ("questions", "tags")

    def __init__(
        self,
        field_weights: Mapping[str, float],
        stem: Callable[[str], str],
        phrases: Mapping[tuple[str, ...], Iterable[str]],
        register: Callable[[Fact, Iterable[str]], tuple[list[str], list[float]]],
    ) -> None:
        self.splitter = WordSplitter()
        self.terms = Numbering()
        self._stem = stem
        self._register = register
        self._word_term = np.zeros(0, dtype=np.int32)  # word number -> term number, -1: not a term
        self._word_count = np.zeros(0, dtype=np.int64)
        self._name_weights = np.array([field_weights[f] for f in self.NAME_FIELDS], dtype=np.float32)
        self._other_weights = np.array([field_weights[f] for f in self.OTHER_FIELDS], dtype=np.float32)
        # entities' names as runs of term numbers, by length: (sorted hashes, runs, entities)
        by_size: dict[int, dict[int, tuple[tuple[int, ...], list[str]]]] = defaultdict(dict)
        self._collided: dict[tuple[int, ...], list[str]] = {}  # names sharing a hash (rare)
        for phrase, ids in phrases.items():
            numbers = tuple(self.terms[t] for t in phrase)
            table, key = by_size[len(numbers)], _run_hash(numbers)
            if key in table:
                self._collided[numbers] = sorted(ids)
            else:
                table[key] = (numbers, sorted(ids))
        self._names: list[tuple[int, np.ndarray, np.ndarray, list[list[str]]]] = []
        for size, table in sorted(by_size.items()):
            keys = sorted(table)
            runs = np.array([table[k][0] for k in keys], dtype=np.int32).reshape(len(keys), size)
            self._names.append((size, np.array(keys, dtype=np.uint64), runs, [table[k][1] for k in keys]))
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._lengths: list[np.ndarray] = []
        self._plain_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._plain_lengths: list[np.ndarray] = []

    def prepare(self, facts: Sequence[Fact]) -> tuple[HashedWords | None, HashedWords | None]:
        """The numpy work on a batch's texts; may run in another thread while ``add`` runs."""
        name_texts: list[str] = []
        other_texts: list[str] = []
        for f in facts:
            name_texts += (f.title, f.answer, f.excerpt or "")
            other_texts += ("\n".join(f.questions), " ".join(f.tags))
        return self.splitter.hash(name_texts), self.splitter.hash(other_texts)

    def add(
        self,
        facts: Sequence[Fact],
        start: int,
        prepared: tuple[HashedWords | None, HashedWords | None] | None = None,
    ) -> None:
        """Add facts numbered ``start``, ``start + 1``, ... (``prepared``: ``prepare(facts)``)."""
        name_words, other_words = prepared if prepared is not None else self.prepare(facts)
        name_numbers, name_texts = self.splitter.number(name_words)
        other_numbers, other_texts = self.splitter.number(other_words)
        self._add_plain(name_numbers, name_texts, other_numbers, other_texts, len(facts), start)
        names = self._content(name_numbers, name_texts, self._name_weights)
        others = self._content(other_numbers, other_texts, self._other_weights)
        mentioned = self._mentions(names[0], names[1])
        extra_docs: list[int] = []
        extra_terms: list[int] = []
        extra_weights: list[float] = []
        number = self.terms.__getitem__
        for i, f in enumerate(facts):
            tokens, weights = self._register(f, mentioned.get(i, ()))
            extra_terms += map(number, tokens)
            extra_docs += [i] * len(tokens)
            extra_weights += weights
        per_name, per_other = len(self.NAME_FIELDS), len(self.OTHER_FIELDS)  # texts a fact
        docs = np.concatenate(
            [names[1] // per_name, others[1] // per_other, np.array(extra_docs, dtype=np.int32)]
        )
        terms = np.concatenate([names[0], others[0], np.array(extra_terms, dtype=np.int32)])
        weights = np.concatenate([names[2], others[2], np.array(extra_weights, dtype=np.float32)])
        self._lengths.append(np.bincount(docs, weights=weights, minlength=len(facts)))
        # the summed weight of each (term, fact), term-major: the batches' runs then need only
        # merging into the postings' order (term, then fact)
        size = max(len(facts), 1)
        keys, tfs = _sum_by_key(_pair_keys(terms, docs, len(self.terms.order), size), weights)
        self._parts.append(((keys % size).astype(np.int32) + start, (keys // size).astype(np.int32), tfs))

    def _add_plain(
        self,
        name_words: np.ndarray,
        name_texts: np.ndarray,
        other_words: np.ndarray,
        other_texts: np.ndarray,
        n: int,
        start: int,
    ) -> None:
        """The plain view of a batch: how often each word (every word, unstemmed) occurs in each
        fact's title, answer, excerpt and sample questions (not its tags), and its length."""
        per_name, per_other = len(self.NAME_FIELDS), len(self.OTHER_FIELDS)
        asked = other_texts % per_other == self.OTHER_FIELDS.index("questions")
        docs = np.concatenate([name_texts // per_name, other_texts[asked] // per_other])
        words = np.concatenate([name_words, other_words[asked]])
        self._plain_lengths.append(np.bincount(docs, minlength=n).astype(np.float32))
        size = max(n, 1)
        pairs = _pair_keys(words, docs, len(self.splitter.words.order), size)
        keys, counts = np.unique(pairs, return_counts=True)
        facts = (keys % size).astype(np.int32) + start
        counts = np.minimum(counts, np.iinfo(np.uint16).max).astype(np.uint16)  # 6 bytes a pair in all
        self._plain_parts.append((facts, (keys // size).astype(np.int32), counts))

    def finish_plain(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """The plain view: facts, word numbers and counts (word-major within each batch), each
        fact's length in words, and the words by number."""
        if self._plain_parts:
            docs, words, tfs = (np.concatenate(x) for x in zip(*self._plain_parts, strict=True))
            lengths = np.concatenate(self._plain_lengths)
        else:
            docs, words, tfs = np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint16)
            lengths = np.zeros(n, np.float32)
        self._plain_parts.clear()  # the concatenated arrays replace them
        return docs, words, tfs, lengths, self.splitter.words.order

    def _content(
        self, words: np.ndarray, text_of: np.ndarray, field_weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term, text index, weight) of the content words among ``words``."""
        order = self.splitter.words.order
        if len(order) > len(self._word_term):
            new = order[len(self._word_term) :]
            number, stem = self.terms.__getitem__, self._stem
            more = np.array([-1 if w in NON_CONTENT else number(stem(w)) for w in new], dtype=np.int32)
            self._word_term = np.concatenate([self._word_term, more])
            self._word_count = np.concatenate([self._word_count, np.zeros(len(new), dtype=np.int64)])
        terms = self._word_term[words]
        keep = terms >= 0
        self._word_count += np.bincount(words[keep], minlength=len(self._word_count))
        text_of = text_of[keep]
        return terms[keep], text_of, field_weights[text_of % len(field_weights)]

    def _mentions(self, terms: np.ndarray, text_of: np.ndarray) -> dict[int, list[str]]:
        """Batch-relative fact number -> entities whose name is a run of terms in one text."""
        found: dict[int, list[str]] = defaultdict(list)
        for size, keys, runs, ids in self._names:
            if len(terms) < size:
                continue
            windows = len(terms) - size + 1
            hashes = _window_hashes(terms, size)
            hits = np.flatnonzero((text_of[:windows] == text_of[size - 1 :]) & np.isin(hashes, keys))
            if not len(hits):
                continue
            name = np.searchsorted(keys, hashes[hits])
            exact = (terms[hits[:, None] + np.arange(size)] == runs[name]).all(axis=1)
            for i in hits[~exact].tolist():  # a hash shared by two names: compare by hand
                eids = self._collided.get(tuple(terms[i : i + size].tolist()))
                if eids:
                    found[int(text_of[i]) // len(self.NAME_FIELDS)].extend(eids)
            # each (fact, name) once: names recur within a fact
            pairs = np.unique(
                (text_of[hits[exact]] // len(self.NAME_FIELDS)).astype(np.int64) * len(keys) + name[exact]
            )
            for fact, n in zip((pairs // len(keys)).tolist(), (pairs % len(keys)).tolist(), strict=True):
                found[fact].extend(ids[n])
        return found

    def finish(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
        """Facts, terms and summed weights (term-major within each batch), the facts' lengths
        (total weight), and how often each content word occurs."""
        if self._parts:
            docs, terms, tfs = (np.concatenate(x) for x in zip(*self._parts, strict=True))
        else:
            docs, terms, tfs = np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32)
        lengths = (
            np.concatenate(self._lengths).astype(np.float32) if self._lengths else np.zeros(n, np.float32)
        )
        counts = self._word_count.tolist()
        freq = {w: c for w, c in zip(self.splitter.words.order, counts, strict=True) if c}
        return docs, terms, tfs, lengths.astype(np.float32), freq


def _pair_keys(items: np.ndarray, docs: np.ndarray, items_total: int, size: int) -> np.ndarray:
    """(item, fact of the batch) as one sortable number, item-major: item * size + fact. In 32
    bits while it fits (sorting those is twice as fast as 64-bit ones), else in 64."""
    key_type = np.int32 if items_total * size < 2**31 else np.int64
    return items.astype(key_type) * size + docs.astype(key_type)


def _sum_by_key(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys, ascending, and the summed weight of each (as float32, summed in
    float64 like np.bincount). 32-bit keys are sorted together with their positions packed into
    one 64-bit number: a plain sort of those is several times faster than the argsort that
    np.unique(return_inverse=True) needs."""
    if not len(keys):
        return keys, np.zeros(0, np.float32)
    if keys.dtype != np.int32:
        unique, inverse = np.unique(keys, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=weights, minlength=len(unique))
        return unique, sums.astype(np.float32)
    packed = np.sort((keys.astype(np.int64) << 32) | np.arange(len(keys), dtype=np.int64))
    order = packed & 0xFFFFFFFF
    ordered = (packed >> 32).astype(np.int32)
    first = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    sums = np.add.reduceat(weights[order].astype(np.float64), starts)
    return ordered[starts], sums.astype(np.float32)


def release_free_memory() -> None:
    """Hand the memory a large build freed back to the system: glibc keeps freed heap memory
    for reuse (some 300 MB after 100,000 facts, twice the index itself). Elsewhere, nothing."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        ctypes.CDLL("libc.so.6").malloc_trim(0)


_Q = 0x9E3779B97F4A7C15  # odd multiplier for hashing runs of term numbers


def _run_hash(numbers: Sequence[int]) -> int:
    h = 0
    for t in numbers:
        h = (h * _Q + t + 1) & _MASK
    return h


def _window_hashes(terms: np.ndarray, size: int) -> np.ndarray:
    """_run_hash of every run of ``size`` consecutive terms."""
    windows = len(terms) - size + 1
    values = terms.astype(np.uint64) + np.uint64(1)
    h = np.zeros(windows, dtype=np.uint64)
    for j in range(size):
        h = h * np.uint64(_Q) + values[j : j + windows]
    return h
