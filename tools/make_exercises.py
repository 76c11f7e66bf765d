"""Regenerate exercises/ from solutions/ (run by `make exercises`), and the package's copy
course_lib/data/exercises/ that `course-lib check` grades against (tests/test_exercises.py
fails when either has drifted)."""

from pathlib import Path

from course_lib.exercises import write_exercises

if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    for path in write_exercises(root / "solutions", root / "course_lib" / "data" / "exercises"):
        print("wrote", path.relative_to(root))
