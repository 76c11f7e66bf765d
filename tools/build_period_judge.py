"""Rebuild course_lib/data/period_judge.json: chapter 4's period classifier, fitted once, for the
studio to judge generated music with (course_lib.style.fit_period_judge: 20-s excerpts of the
training works, every period but Modern) and its held-out accuracy at several excerpt lengths.
tests/test_judge.py checks the file against a fresh fit.

    python tools/build_period_judge.py
"""

import json
from importlib import resources

from course_lib import corpus, style


def build() -> dict:
    judge, report = style.fit_period_judge(corpus.load_works(progress=False))
    return {"about": "chapter 4's period judge (course_lib.style.fit_period_judge); rebuilt by "
                     "python tools/build_period_judge.py; held_out: accuracy on validation works' excerpts "
                     "of each length (seconds), four per work",
            "judge": judge.to_dict(), "held_out": {f"{k:g}": v for k, v in report.items()}}


if __name__ == "__main__":
    path = resources.files("course_lib").joinpath("data", style.PERIOD_JUDGE_JSON)
    data = build()
    with open(str(path), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    for seconds, r in data["held_out"].items():
        print(f"{seconds:>3s} s excerpts: accuracy {r['accuracy']:.1%}, balanced accuracy "
              f"{r['balanced_accuracy']:.1%}, {r['excerpts']:,} held-out excerpts")
    print(f"wrote {path}")
