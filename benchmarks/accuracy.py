"""Accuracy of Tarikh's engine against two baselines, on benchmarks/questions.yaml, in one run.

    python benchmarks/accuracy.py [--questions FILE] [--blind FILE ...] [--knowledge DIR] [--misses]
                                  [--typo-seeds N]

Metrics (answerable questions): top-1 (the answer given is a right fact; an abstention counts
as a miss), top-3 and MRR@10 over the ranking; off-topic rejection = share of unanswerable
questions the system declines. Baselines have no abstention of their own, so each is given the
score threshold that maximises its balanced accuracy on this very set (an oracle: generous to
the baselines). Then a robustness check: every answerable question again with one more random
typo in one of its content words (N seeded rounds), Tarikh against BM25. Last, the same table
for each blind set (benchmarks/blind/): questions written by someone who saw neither the engine
nor the main set, which show how the engine generalises.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rank_bm25 import BM25Okapi  # noqa: E402
from rapidfuzz import fuzz, process, utils  # noqa: E402

from bot.analysis import is_content  # noqa: E402
from bot.answer import Answerer  # noqa: E402
from bot.knowledge import Fact, load_pack  # noqa: E402


@dataclass
class Item:
    q: str
    kind: str
    answers: list[str]


@dataclass
class Outcome:
    ranking: list[str]  # fact ids, best first
    answered: bool
    top: str | None  # the fact the system would answer with


def load_items(path: Path) -> list[Item]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Item(str(x["q"]), x.get("kind", "?"), list(x.get("answers") or [])) for x in data["questions"]]


def fact_text(f: Fact) -> str:
    return " ".join([f.title, f.answer, f.excerpt or "", *f.questions])


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def metrics(items: list[Item], outcomes: list[Outcome]) -> dict[str, float]:
    top1 = rank1 = top3 = rr = rejected = 0.0
    n_ans = n_off = 0
    for item, out in zip(items, outcomes, strict=True):
        if item.answers:
            n_ans += 1
            right = set(item.answers)
            if out.answered and out.top in right:
                top1 += 1
            if out.ranking[:1] and out.ranking[0] in right:
                rank1 += 1
            if any(f in right for f in out.ranking[:3]):
                top3 += 1
            for rank, fid in enumerate(out.ranking[:10], 1):
                if fid in right:
                    rr += 1 / rank
                    break
        else:
            n_off += 1
            if not out.answered:
                rejected += 1
    return {
        "top1": top1 / max(n_ans, 1),
        "rank1": rank1 / max(n_ans, 1),
        "top3": top3 / max(n_ans, 1),
        "mrr": rr / max(n_ans, 1),
        "reject": rejected / max(n_off, 1),
        "n_ans": n_ans,
        "n_off": n_off,
    }


def with_oracle_threshold(items: list[Item], scored: list[list[tuple[str, float]]]) -> list[Outcome]:
    """Pick the abstention threshold that maximises balanced accuracy for a baseline."""
    candidates = sorted({s[0][1] for s in scored if s} | {float("inf")})
    best: tuple[float, float] = (-1.0, 0.0)
    for t in candidates:
        outs = [Outcome([f for f, _ in s], bool(s) and s[0][1] >= t, s[0][0] if s else None) for s in scored]
        m = metrics(items, outs)
        balanced = (m["top1"] + m["reject"]) / 2
        if balanced > best[0]:
            best = (balanced, t)
    t = best[1]
    return [Outcome([f for f, _ in s], bool(s) and s[0][1] >= t, s[0][0] if s else None) for s in scored]


def run_baseline_wratio(facts: list[Fact], items: list[Item]) -> tuple[list[Outcome], float]:
    """rapidfuzz WRatio of the question against each fact's title and sample questions (the best
    of them). Against a fact's whole text WRatio saturates (85.5 for almost every fact) and ranks
    nearly at random, so the short fields are the fairer baseline."""
    choices = [(f.id, t) for f in facts for t in (f.title, *f.questions)]
    texts = [t for _, t in choices]
    start = time.perf_counter()
    scored = []
    for it in items:
        best: dict[str, float] = {}
        for _, score, i in process.extract(
            it.q, texts, scorer=fuzz.WRatio, processor=utils.default_process, limit=60
        ):
            fid = choices[i][0]
            best[fid] = max(best.get(fid, 0.0), score)
        scored.append(sorted(best.items(), key=lambda kv: -kv[1])[:10])
    elapsed = time.perf_counter() - start
    return with_oracle_threshold(items, scored), elapsed / len(items) * 1000


class BM25Baseline:
    """Plain BM25 (rank-bm25) over each fact's title, answer, excerpt and sample questions."""

    def __init__(self, facts: Iterable[Fact]) -> None:
        facts = list(facts)
        self.ids = [f.id for f in facts]
        self._bm25 = BM25Okapi([tokens(fact_text(f)) for f in facts])

    def ranking(self, question: str, n: int = 10) -> list[tuple[str, float]]:
        """The n best-scoring facts that score at all, with their scores (equals in pack order)."""
        scores = self._bm25.get_scores(tokens(question))
        order = sorted(range(len(self.ids)), key=lambda i: -scores[i])[:n]
        return [(self.ids[i], float(scores[i])) for i in order if scores[i] > 0]

    def best(self, question: str) -> str:
        """The best-ranked fact, whatever its score (BM25 never abstains)."""
        scores = self._bm25.get_scores(tokens(question))
        return self.ids[max(range(len(self.ids)), key=lambda i: scores[i])]


def run_baseline_bm25(facts: list[Fact], items: list[Item]) -> tuple[list[Outcome], float]:
    bm25 = BM25Baseline(facts)
    start = time.perf_counter()
    scored = [bm25.ranking(it.q) for it in items]
    elapsed = time.perf_counter() - start
    return with_oracle_threshold(items, scored), elapsed / len(items) * 1000


def add_typo(question: str, rng: random.Random) -> str:
    """The question with one random slip (swap, drop, double or replace a letter) in one of its
    longer content words: a robustness check that no one tuned the engine for."""
    ws = question.split()
    spots = [i for i, w in enumerate(ws) if w.isalpha() and len(w) >= 5 and is_content(w.lower())]
    if not spots:
        return question
    i = rng.choice(spots)
    w = ws[i]
    j = rng.randrange(1, len(w) - 1)
    op = rng.choice(("swap", "drop", "double", "replace"))
    if op == "swap":
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif op == "drop":
        w = w[:j] + w[j + 1 :]
    elif op == "double":
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + rng.choice("aeiourstnl") + w[j + 1 :]
    return " ".join([*ws[:i], w, *ws[i + 1 :]])


def typo_robustness(answerer: Answerer, facts: list[Fact], items: list[Item], seeds: int) -> None:
    answerable = [it for it in items if it.answers]
    bm25 = BM25Baseline(facts)
    tarikh = ranked = total = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        for it in answerable:
            q = add_typo(it.q, rng)
            total += 1
            result = answerer.engine.search(q, limit=3)
            tarikh += result.answered and result.best is not None and result.best.fact.id in it.answers
            ranked += bm25.best(q) in it.answers
    print(
        f"\nWith one more random typo a question ({seeds} seeds x {len(answerable)} answerable = {total}):"
        f" Tarikh top-1 {tarikh / total:.1%}; BM25 best-ranked (never abstaining) {ranked / total:.1%}"
    )


def run_tarikh(answerer: Answerer, items: list[Item]) -> tuple[list[Outcome], float]:
    outs = []
    start = time.perf_counter()
    for it in items:
        reply = answerer.ask(it.q)
        ranking = [h.fact.id for h in answerer.engine.search(it.q, limit=10).hits]
        if reply.answered and reply.fact_id and (not ranking or ranking[0] != reply.fact_id):
            ranking = [reply.fact_id, *[r for r in ranking if r != reply.fact_id]]
        outs.append(Outcome(ranking, reply.answered, reply.fact_id))
    elapsed = time.perf_counter() - start
    return outs, elapsed / len(items) * 1000 / 2  # two passes per question above


Row = tuple[str, list[Outcome], float]  # system, outcomes, ms a question


def compare(answerer: Answerer, facts: list[Fact], items: list[Item]) -> list[Row]:
    """Tarikh and the two baselines on one set of questions."""
    return [
        ("tarikh (hybrid)", *run_tarikh(answerer, items)),
        ("rapidfuzz WRatio (titles, sample questions)", *run_baseline_wratio(facts, items)),
        ("BM25 (rank-bm25)", *run_baseline_bm25(facts, items)),
    ]


def print_table(title: str, items: list[Item], rows: list[Row]) -> None:
    n = metrics(items, rows[0][1])
    print(f"{title}: {len(items)} questions ({n['n_ans']:.0f} answerable, {n['n_off']:.0f} off-topic)\n")
    header = "| system | top-1 | best-ranked right (never abstaining) | top-3 | MRR | off-topic rejected"
    print(header + " | ms/question |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, outs, ms in rows:
        m = metrics(items, outs)
        print(
            f"| {name} | {m['top1']:.1%} | {m['rank1']:.1%} | {m['top3']:.1%} | {m['mrr']:.3f} "
            f"| {m['reject']:.1%} | {ms:.2f} |"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=Path, default=ROOT / "benchmarks" / "questions.yaml")
    ap.add_argument(
        "--blind",
        type=Path,
        nargs="*",
        default=sorted((ROOT / "benchmarks" / "blind").glob("*.yaml")),
        help="blind sets reported after the main one (default: benchmarks/blind/*.yaml)",
    )
    ap.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    ap.add_argument("--misses", action="store_true", help="list the questions Tarikh gets wrong")
    ap.add_argument("--typo-seeds", type=int, default=10, help="rounds of the extra-typo check (0: skip)")
    args = ap.parse_args()

    pack = load_pack(args.knowledge)
    items = load_items(args.questions)
    facts = list(pack.facts.values())
    answerer = Answerer(pack)

    rows = compare(answerer, facts, items)
    print_table(f"{args.questions.name}, {len(facts)} facts", items, rows)

    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        by_kind[it.kind].append(i)
    print("\nTarikh by kind of question:\n")
    print("| kind | n | right |")
    print("|---|---:|---:|")
    outs = rows[0][1]
    for kind, idxs in sorted(by_kind.items()):
        ok = 0
        for i in idxs:
            it, out = items[i], outs[i]
            ok += (out.answered and out.top in it.answers) if it.answers else (not out.answered)
        print(f"| {kind} | {len(idxs)} | {ok / len(idxs):.0%} |")

    if args.typo_seeds:
        typo_robustness(answerer, facts, items, args.typo_seeds)

    for path in args.blind:
        blind = load_items(path)
        print()
        print_table(
            f"Blind set {path.name}, written without seeing the engine or the set above",
            blind,
            compare(answerer, facts, blind),
        )

    if args.misses:
        print("\nMisses:")
        for it, out in zip(items, outs, strict=True):
            good = (out.answered and out.top in it.answers) if it.answers else not out.answered
            if not good:
                got = out.top if out.answered else "(declined)"
                print(f"  [{it.kind}] {it.q!r}: got {got}, want {it.answers or '(decline)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
