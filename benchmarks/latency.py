"""Latency of one question, index build time and memory, at 150 facts and at synthetic bases.

    python benchmarks/latency.py [--sizes 10000 100000] [--repeat 3]

Each size runs in a fresh subprocess, so its peak memory (max RSS) is its own. Synthetic bases
are made from the real pack: each synthetic fact is a real fact whose names are replaced by
generated ones (new vocabulary, new entities), so the index grows the way a real base would.
Questions are the evaluation set's, asked in order, `--repeat` times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.answer import Answerer  # noqa: E402
from bot.knowledge import Entity, Fact, KnowledgePack, load_pack  # noqa: E402
from bot.search import SearchEngine, SearchIndex  # noqa: E402

SYLLABLES = "ka ra ba al mu sa di na ha qu zi ta fi lo ye wa ja ri so me ul ne".split()  # noqa: SIM905


def synthetic_pack(real: KnowledgePack, size: int, seed: int = 7) -> KnowledgePack:
    rng = random.Random(seed)
    entities = dict(real.entities)
    facts: dict[str, Fact] = dict(real.facts)
    base = list(real.facts.values())
    names = [e.name for e in real.entities.values() if e.kind == "person"]
    name = place = eid = ""
    i = 0
    while len(facts) < size:
        src = base[i % len(base)]
        i += 1
        if i % 10 == 1:  # a new person every ten facts: a large base names many, but not one per fact
            name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
            place = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
            eid = f"syn-{i}"
            entities[eid] = Entity(id=eid, name=f"{name} ibn {place}", kind="person", description="synthetic")

        def swap(text: str, name: str = name, place: str = place) -> str:
            for n in names:
                text = text.replace(n, f"{name} ibn {place}")
            return text.replace("Tangier", place).replace("Kairouan", place)

        fid = f"{src.id}-{i}"
        facts[fid] = replace(
            src,
            id=fid,
            title=swap(src.title) + f" ({name})",
            answer=swap(src.answer),
            excerpt=swap(src.excerpt or ""),
            questions=tuple(swap(q) for q in src.questions),
            who=(*src.who, eid),
            related=(),
        )
    return KnowledgePack(path=real.path, info=real.info, sources=real.sources, entities=entities, facts=facts)


def resident_mb() -> float:
    """The process's resident memory now (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(size: int, repeat: int) -> dict[str, float]:
    real = load_pack(ROOT / "knowledge")
    pack = real if size <= len(real.facts) else synthetic_pack(real, size)
    questions = [
        str(q["q"]) for q in yaml.safe_load((ROOT / "benchmarks" / "questions.yaml").read_text())["questions"]
    ]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    held_before = resident_mb()
    start = time.perf_counter()
    engine = SearchEngine(SearchIndex(pack))
    build = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    held = resident_mb() - held_before
    answerer = Answerer(pack, engine)
    answerer.ask("warm up")
    times = []
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            answerer.ask(q)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "facts": len(pack.facts),
        "build_s": build,
        "index_mb": max(rss_after - rss_before, 0) / 1024,
        "held_mb": max(held, 0.0),
        "peak_mb": rss_after / 1024,
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
        "mean_ms": statistics.fmean(times),
        "questions": len(times),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.repeat)))
        return 0
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print()
    print(
        "| facts | index build | memory the index holds | RSS growth at the build's peak | peak RSS "
        "| p50 / question | p99 / question |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in [0, *args.sizes]:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"| {m['facts']:,} | {m['build_s']:.2f} s | {m['held_mb']:.0f} MB | {m['index_mb']:.0f} MB "
            f"| {m['peak_mb']:.0f} MB "
            f"| {m['p50_ms']:.2f} ms | {m['p99_ms']:.2f} ms |"
        )
    print("\nTargets: p50 <= 2 ms at 150 facts, p99 <= 50 ms at 100,000 facts, build <= 15 s at 100,000.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
