"""Text normalisation shared by the validator and the search engine."""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def normalise_quotes_and_space(text: str) -> str:
    """Typographic quotes to ASCII, runs of whitespace to one space (the verbatim rule)."""
    return _WS.sub(" ", text.translate(_QUOTES)).strip()


def clean_user_text(text: str, limit: int = 2000) -> str:
    """What a user typed, made safe to process: no control or invisible characters,
    Unicode-normalised, whitespace folded, and cut to ``limit`` characters."""
    text = unicodedata.normalize("NFKC", text[: limit * 4])
    text = _CONTROL.sub(" ", text)
    return _WS.sub(" ", text).strip()[:limit]


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_APOSTROPHES = frozenset("ʿʾ‘’`´ʻʼ")


def _drop_marks(m: re.Match[str]) -> str:
    return "".join(c for c in m.group() if not unicodedata.combining(c) and c not in _APOSTROPHES)


def fold_accents(text: str) -> str:
    """'Qayrawān' -> 'Qayrawan', 'ʿAbd' -> 'Abd' (for matching only, never for display)."""
    text = text.replace("`", "")
    if text.isascii():
        return text
    return _NON_ASCII.sub(_drop_marks, unicodedata.normalize("NFKD", text))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a plain text (a simple, predictable splitter)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in re.finditer(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z\"'(\[])", text):
        end = m.start()
        if text[start:end].strip():
            spans.append((start, end))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans
