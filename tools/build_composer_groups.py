"""Rebuild course_lib/data/composer_groups.csv: composers clustered by style statistics.

k-means over each composer's mean style features (course_lib.style.composer_groups) on
the training works of the shipped corpus. The ``group`` control reads this file, so a
model trained with it keeps its meaning; tests/test_style.py checks the file matches a
fresh clustering.

    python tools/build_composer_groups.py [--k 5]
"""

import argparse
from importlib import resources

from course_lib import corpus, style

HEADER = """\
# Composer groups: k-means (k={k}, seed 0) over each composer's mean style features
# (course_lib.style.style_features of up to four 20-second excerpts of each training work).
# Built by: python tools/build_composer_groups.py --k {k}. Read by the `group` control.
"""


def build(k: int) -> str:
    works = [w for w in corpus.load_works(progress=False) if w.split == "train"]
    groups = style.composer_groups(works, k)
    rows = [f'"{name}",{group}' for name, group in sorted(groups.items(), key=lambda kv: (kv[1], kv[0]))]
    return HEADER.format(k=k) + "composer,group\n" + "\n".join(rows) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    path = resources.files("course_lib").joinpath("data", style.COMPOSER_GROUPS_CSV)
    text = build(args.k)
    with open(str(path), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
