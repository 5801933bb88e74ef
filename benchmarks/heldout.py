"""The pack's own sample questions as a second, larger test: each held out in turn (k-fold).

    python benchmarks/heldout.py [--folds 5] [--knowledge DIR]

For fold k, every fact loses its sample questions number k, k+K, k+2K ... (its first one is
always kept) and the index is built without them; each held-out question is then asked and
must find its own fact. The set is some 3,000 questions written blind to the engine, but they
were written alongside their fact's other sample questions, so they are easier than real users'
questions: the figures compare systems and changes, they do not predict accuracy. BM25 over the
same reduced facts (rank-bm25, never abstaining) runs in the same process as a baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import BM25Baseline  # noqa: E402
from bot.knowledge import KnowledgePack, load_pack  # noqa: E402
from bot.search import SearchEngine, SearchIndex  # noqa: E402


def folds(pack: KnowledgePack, k: int, n: int) -> tuple[KnowledgePack, list[tuple[str, str]]]:
    """The pack without fold k's sample questions, and those questions with their fact ids."""
    facts = {}
    held: list[tuple[str, str]] = []
    for fid, fact in pack.facts.items():
        out = [i for i in range(1, len(fact.questions)) if i % n == k]
        held += [(fact.questions[i], fid) for i in out]
        facts[fid] = replace(fact, questions=tuple(q for i, q in enumerate(fact.questions) if i not in out))
    return replace(pack, facts=facts), held


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    args = ap.parse_args()
    pack = load_pack(args.knowledge)
    counts = {"tarikh": [0, 0, 0], "bm25": [0, 0, 0]}  # right, wrong, declined
    ranked = {"tarikh": 0, "bm25": 0}  # best-ranked fact right, abstention ignored
    total = 0
    start = time.perf_counter()
    for k in range(args.folds):
        reduced, held = folds(pack, k, args.folds)
        engine = SearchEngine(SearchIndex(reduced))
        bm25 = BM25Baseline(reduced.facts.values())
        for question, fid in held:
            total += 1
            result = engine.search(question, limit=3)
            ranked["tarikh"] += bool(result.hits) and result.hits[0].fact.id == fid
            if not result.answered or result.best is None:
                counts["tarikh"][2] += 1
            else:
                counts["tarikh"][0 if result.best.fact.id == fid else 1] += 1
            best = bm25.best(question)
            counts["bm25"][0 if best == fid else 1] += 1
            ranked["bm25"] += best == fid
    print(
        f"{total} held-out sample questions, {len(pack.facts)} facts, {args.folds} folds "
        f"({time.perf_counter() - start:.0f} s)\n"
    )
    print("| system | answered right | answered wrong | declined | best-ranked right |")
    print("|---|---:|---:|---:|---:|")
    for name, (right, wrong, declined) in counts.items():
        print(
            f"| {name} | {right / total:.1%} | {wrong / total:.1%} | {declined / total:.1%} "
            f"| {ranked[name] / total:.1%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
