"""Retrieval benchmark: exact top-10 over the whole corpus, and MinHash LSH over up to a
million synthetic sets (build time, memory, query time, recall against exact search).

    python benchmarks/retrieval.py [--sizes 10000 100000 1000000]

Prints a report; copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np

from course_lib import corpus
from course_lib.measure import median_seconds
from course_lib.retrieval import JaccardIndex, MinHashIndex, jaccard, minhash_signatures, shingles


def rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def exact_over_corpus() -> None:
    works = corpus.load_works(progress=False)
    sets = [shingles(w.performance, "interval", 4) for w in works]
    start = time.perf_counter()
    index = JaccardIndex(sets)
    built = time.perf_counter() - start
    queries = [sets[i] for i in np.random.default_rng(0).choice(len(sets), 200, replace=False)]
    per_query = median_seconds(lambda: [index.query(q, 10) for q in queries], repeat=5) / len(queries)
    python_sets = median_seconds(lambda: sorted(((jaccard(queries[0], s), i) for i, s in enumerate(sets)),
                                                reverse=True)[:10], repeat=3)
    print(f"exact top-10 over the corpus ({len(sets):,} works, interval 4-grams, {len(index.vocabulary):,} "
          f"distinct): built in {built:.1f} s; {per_query * 1e3:.2f} ms per query (median of 5 runs over 200 "
          f"queries); a loop over Python sets: {python_sets * 1e3:.0f} ms per query")


def synthetic(size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    sets = [set(row) for row in rng.integers(0, 10 * size, (size, 30)).tolist()]
    originals = rng.choice(size, 200, replace=False)
    copies = [set(list(sets[i])[:27]) | set(rng.integers(10 * size, 20 * size, 3).tolist()) for i in originals]
    return sets, originals, copies


def lsh_at(size: int) -> None:
    sets, originals, copies = synthetic(size)
    before = rss_gb()
    start = time.perf_counter()
    minhash_signatures(sets[: min(size, 100_000)])
    sig_rate = min(size, 100_000) / (time.perf_counter() - start)
    start = time.perf_counter()
    index = MinHashIndex(sets, num_perm=128, threshold=0.5)
    built = time.perf_counter() - start
    memory = rss_gb() - before
    t_lsh = median_seconds(lambda: [index.query(c, 1) for c in copies], repeat=3) / len(copies)
    found = [index.query(c, 1) for c in copies]
    recall = np.mean([bool(f) and f[0][0] == o for f, o in zip(found, originals)])
    exact = JaccardIndex(sets)
    t_exact = median_seconds(lambda: [exact.query(c, 1) for c in copies[:50]], repeat=3) / 50
    truth = np.mean([exact.query(c, 1)[0][0] == o for c, o in zip(copies[:50], originals[:50])])
    print(f"{size:>9,d} sets: signatures {sig_rate:,.0f} sets/s; LSH built in {built:6.1f} s (signatures "
          f"included), +{memory:.1f} GB peak memory; query {t_lsh * 1e3:.3f} ms, recall@1 {recall:.1%} of "
          f"200 planted near-copies; exact query {t_exact * 1e3:.2f} ms (finds {truth:.0%})")
    del index, exact


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")
    exact_over_corpus()
    for size in args.sizes:
        lsh_at(size)
