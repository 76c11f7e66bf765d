"""Rebuild the course's held-out evaluation set from the corpus (course_lib/data/eval/<name>.json).

    python tools/build_eval_set.py                      # rebuild heldout-v1 in place
    python tools/build_eval_set.py --check              # exit 1 if the rebuild differs from the shipped file
    python tools/build_eval_set.py --name heldout-v2    # a new version, after the corpus or encoding changed

The rule (course_lib/evaluation.py): 384 windows of 128 events from the test split, an equal
share per period, one window per work per round, works and windows in sha256 order of their ids.
A set that ships is never rewritten with other content under the same name: when the corpus
changes, build a new version and move the chapters to it.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from course_lib import evaluation

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default=evaluation.EVAL_SET)
    parser.add_argument("--check", action="store_true", help="compare with the shipped file, write nothing")
    args = parser.parse_args()

    data = evaluation.build_eval_set(name=args.name)
    shipped = evaluation.EVAL_DIR / f"{args.name}.json"
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            same = shipped.exists() and evaluation.write_eval_set(data, tmp).read_bytes() == shipped.read_bytes()
        print(f"{shipped}: {'matches the rebuild' if same else 'DIFFERS from the rebuild'}")
        sys.exit(0 if same else 1)
    if shipped.exists() and args.name == evaluation.EVAL_SET:
        print(f"note: rewriting the shipped {args.name}; if its windows change, give the new set a new name",
              file=sys.stderr)
    path = evaluation.write_eval_set(data)
    print(f"{Path(path)}: {data['size']} windows of {data['length']} events from "
          f"{len({w['work'] for w in data['windows']})} works")
