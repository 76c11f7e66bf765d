"""Rebuild the judges the studio ships (course_lib/data/): chapter 4's classifiers, fitted once, for
the studio to judge generated music with, and their held-out accuracy at several excerpt lengths
(course_lib.style.judge_report). tests/test_judge.py checks each file against a fresh fit.

    python tools/build_judges.py            # every judge
    python tools/build_judges.py form       # one of them
"""

import json
import sys
from importlib import resources

from course_lib import corpus, style, tempo_form

# name → (file in course_lib/data, how it is fitted)
JUDGES = {
    "period": (style.PERIOD_JUDGE_JSON, style.fit_period_judge),
    "form": (tempo_form.FORM_JUDGE_JSON, tempo_form.fit_form_judge),
}


def build(name: str = "period", works=None) -> dict:
    """One judge's file content: the fitted judge and its held-out report."""
    filename, fit = JUDGES[name]
    judge, report = fit(works if works is not None else corpus.load_works(progress=False))
    return {"about": f"chapter 4's {name} judge (course_lib.{fit.__module__.split('.')[-1]}.{fit.__name__}); "
                     "rebuilt by python tools/build_judges.py; held_out: accuracy on validation works' "
                     "excerpts of each length (seconds), four per work",
            "judge": judge.to_dict(), "held_out": {f"{k:g}": v for k, v in report.items()}}


if __name__ == "__main__":
    works = corpus.load_works(progress=False)
    for name in sys.argv[1:] or JUDGES:
        path = resources.files("course_lib").joinpath("data", JUDGES[name][0])
        data = build(name, works)
        with open(str(path), "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        for seconds, r in data["held_out"].items():
            print(f"{name}: {seconds:>3s} s excerpts: accuracy {r['accuracy']:.1%}, balanced accuracy "
                  f"{r['balanced_accuracy']:.1%}, {r['excerpts']:,} held-out excerpts")
        print(f"wrote {path}")
