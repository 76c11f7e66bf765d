"""Workshop benchmark: what the instructor's two commands cost on this machine.

1. ``course-lib train-all`` rehearsed: every model the chapters load, quick architecture,
   20 steps each, trained and shipped into a scratch folder (the time is mostly start-up,
   data loading and the 512-window held-out NLL of each shipped model).
2. ``course-lib check`` on a class of 30 chapter-5 notebooks: 15 finished (copies of the
   solution) and 15 untouched (copies of the exercise), as many at once as there are cores.
   Each notebook runs in a kernel of its own, in a throw-away copy of its folder, with the
   course's check cells (see course_lib.grading).

    python benchmarks/workshop.py [--students 30] [--chapter 05] [--check-only]

Prints a report; copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from course_lib.grading import STATUSES, check_notebooks
from course_lib.pretrained import machine_description
from course_lib.workshop import train_all

ROOT = Path(__file__).resolve().parents[1]


def rehearse(scratch: Path) -> None:
    lines: list[str] = []
    started = time.perf_counter()
    entries = train_all("quick", scratch / "runs", overrides={"steps": 20}, ship_to=scratch / "checkpoints",
                        log=lines.append)
    total = time.perf_counter() - started
    print(f"train-all --profile quick --steps 20: {len(entries)} models trained and shipped in {total:.0f} s")
    for line in lines:
        if "trained in" in line or "shipped" in line:
            print("  " + line)


def check_class(scratch: Path, students: int, chapter: str) -> None:
    solution = next((ROOT / "solutions").glob(f"{chapter}_*.ipynb"))
    exercise = ROOT / "exercises" / solution.name
    paths = []
    for i in range(students):
        folder = scratch / "submissions" / f"student{i:02d}"
        folder.mkdir(parents=True)
        paths.append(Path(shutil.copy(solution if i % 2 == 0 else exercise, folder / solution.name)))
    jobs = os.cpu_count() or 1
    started = time.perf_counter()
    reports = check_notebooks(paths, jobs=jobs, timeout=600)
    total = time.perf_counter() - started
    counts = {s: sum(r.count(s) for r in reports) for s in STATUSES}
    print(f"check {students} notebooks of {solution.name} (half finished, half untouched), --jobs {jobs}: "
          f"{total:.0f} s, {total / students:.1f} s per notebook")
    print("  exercises: " + ", ".join(f"{n} {s}" for s, n in counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--chapter", default="05")
    parser.add_argument("--check-only", action="store_true", help="skip the train-all rehearsal")
    args = parser.parse_args()
    print(f"{machine_description()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as scratch:
        if not args.check_only:
            rehearse(Path(scratch))
        check_class(Path(scratch), args.students, args.chapter)


if __name__ == "__main__":
    main()
