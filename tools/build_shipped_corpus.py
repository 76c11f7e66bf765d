"""Rebuild the corpus cache that ships inside the package (course_lib/data/corpus/).

Parsing music21's corpus takes about 11 minutes on two cores; the result is about
4 MB, so the package ships it and nobody else waits (tests/test_corpus_shipped.py
checks that it matches a fresh parse).

    python tools/build_shipped_corpus.py [--workers N]
"""

import argparse
import shutil
import tempfile
from pathlib import Path

from course_lib import corpus

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(corpus.build_cache(cache_dir=tmp, workers=args.workers))
        corpus.SHIPPED_CACHE.mkdir(parents=True, exist_ok=True)
        for old in corpus.SHIPPED_CACHE.glob("*.npz"):
            old.unlink()
        for path in sorted((Path(tmp) / "corpus").glob("*.npz")):
            shutil.copy2(path, corpus.SHIPPED_CACHE / path.name)
    size = sum(p.stat().st_size for p in corpus.SHIPPED_CACHE.glob("*.npz"))
    print(f"shipped cache: {len(list(corpus.SHIPPED_CACHE.glob('*.npz')))} files, {size / 1e6:.1f} MB "
          f"in {corpus.SHIPPED_CACHE}")
