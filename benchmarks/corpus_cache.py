"""Benchmark: build the corpus cache from scratch, then time loading it.

    python benchmarks/corpus_cache.py                # full build into a temporary folder
    python benchmarks/corpus_cache.py --collections bach verdi --workers 1
    python benchmarks/corpus_cache.py --cache-dir ~/.cache/course_lib --no-build   # time loading only

Prints per-collection counts and build time, the median of 5 loads, works and notes
per period, the files music21 could not parse and the cache size on disk.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from course_lib import corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", nargs="+", help="only these corpus folders")
    parser.add_argument("--workers", type=int, help="parallel processes (default: usable CPUs, at most 8)")
    parser.add_argument("--cache-dir", help="use this cache root instead of a temporary folder (kept)")
    parser.add_argument("--no-build", action="store_true", help="time loading an existing cache only")
    parser.add_argument("--repeats", type=int, default=5, help="loads to time (median reported)")
    args = parser.parse_args(argv)

    import music21
    import numpy

    print(f"python {platform.python_version()}, music21 {music21.__version__}, numpy {numpy.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}, cache version {corpus.CACHE_VERSION}")
    with tempfile.TemporaryDirectory(prefix="corpus-cache-") as tmp:
        cache_dir = Path(args.cache_dir).expanduser() if args.cache_dir else Path(tmp)
        if not args.no_build:
            report = corpus.build_cache(args.collections, cache_dir=cache_dir, workers=args.workers,
                                        progress=sys.stderr.isatty())
            print(f"\n== build from scratch into {cache_dir}")
            print(report)

        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            works = corpus.load_works(collections=args.collections, cache_dir=cache_dir, progress=False)
            times.append(time.perf_counter() - t0)
        print(f"\n== load_works() from the cache: median {statistics.median(times):.2f} s of {args.repeats} "
              f"(min {min(times):.2f}, max {max(times):.2f})")
        print(corpus.format_summary(corpus.summary(works)))

        periods = collections.Counter(w.period for w in works)
        notes = collections.Counter()
        for w in works:
            notes[w.period] += len(w.performance)
        print("\n== per period")
        for period in corpus.PERIODS:
            print(f"{period:<12}{periods[period]:>7} works{notes[period]:>11,} notes")
        reasons = collections.Counter("same pitches as an earlier work" if why.startswith("same pitches")
                                      else why for _, why in works.skipped)
        print(f"works: {len(works):,}   notes: {sum(notes.values()):,}   left out at load: "
              f"{len(works.skipped)} {dict(reasons)}")
        splits = collections.Counter(w.split for w in works)
        print(f"splits: {dict(splits)}")
        files = sorted((cache_dir / "corpus").glob("*.npz"))
        size = sum(f.stat().st_size for f in files)
        print(f"cache: {len(files)} files, {size / 2**20:.1f} MB on disk in {cache_dir / 'corpus'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
