"""Choose the engine's global parameters on half of the evaluation set; report the other half.

    python benchmarks/tune.py

Questions with an even index are the tuning half, odd ones the check half, so the figures for
the check half are not fitted. Only global knobs are searched (the weights of BM25, fuzzy
matching and coverage, the synonym weight, the weight of unknown words, and the abstention
threshold); nothing here looks at individual questions.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import Item, load_items  # noqa: E402
from bot.knowledge import load_pack  # noqa: E402
from bot.search import Params, SearchEngine, SearchIndex  # noqa: E402

RANKING = {
    "w_bm25": [0.3, 0.5, 0.7],
    "w_fuzzy": [0.1, 0.25, 0.4],
    "w_cover": [0.1, 0.25, 0.4],
    "synonym_weight": [0.2, 0.35, 0.5],
    "unknown_weight": [0.5, 0.8, 1.2],
    "unknown_common_weight": [0.2, 0.5, 0.8],
}
SHARES = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
THRESHOLDS = [x / 100 for x in range(30, 81, 5)]


def evaluate(engine: SearchEngine, items: list[Item]) -> list[tuple[bool, bool, float, float, bool]]:
    """Per question: answerable?, best fact right?, coverage, fuzzy, specific match?"""
    out = []
    for it in items:
        r = engine.search(it.q)
        b = r.best
        specific = r.answered  # (min_confidence is 0 here: declined only as too general or wrong kind)
        out.append(
            (
                bool(it.answers),
                bool(b and b.fact.id in it.answers),
                b.coverage if b else 0.0,
                b.fuzzy if b else 0.0,
                specific and b is not None,
            )
        )
    return out


def score(
    rows: list[tuple[bool, bool, float, float, bool]], share: float, threshold: float
) -> tuple[float, float]:
    top1 = rej = n_ans = n_off = 0
    for answerable, right, cov, fz, specific in rows:
        answered = specific and share * cov + (1 - share) * fz >= threshold
        if answerable:
            n_ans += 1
            top1 += answered and right
        else:
            n_off += 1
            rej += not answered
    return top1 / max(n_ans, 1), rej / max(n_off, 1)


def main() -> int:
    pack = load_pack(ROOT / "knowledge")
    items = load_items(ROOT / "benchmarks" / "questions.yaml")
    tune, check = items[0::2], items[1::2]
    index = SearchIndex(pack)
    best = None
    keys = list(RANKING)
    for values in itertools.product(*(RANKING[k] for k in keys)):
        params = Params(**dict(zip(keys, values, strict=True)), min_confidence=0.0)
        rows = evaluate(SearchEngine(index, params), tune)
        for share in SHARES:
            for t in THRESHOLDS:
                top1, rej = score(rows, share, t)
                objective = (top1 + rej) / 2
                if best is None or objective > best[0]:
                    best = (objective, replace(params, confidence_share=share, min_confidence=t), top1, rej)
    assert best is not None
    _, params, top1, rej = best
    print(f"chosen: {params}")
    print(f"tuning half: top-1 {top1:.1%}, off-topic rejected {rej:.1%}")
    rows = evaluate(SearchEngine(index, replace(params, min_confidence=0.0)), check)
    top1, rej = score(rows, params.confidence_share, params.min_confidence)
    print(f"check half:  top-1 {top1:.1%}, off-topic rejected {rej:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
