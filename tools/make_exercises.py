"""Regenerate exercises/ from solutions/ (run by `make exercises`)."""

from pathlib import Path

from course_lib.exercises import write_exercises

if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    for path in write_exercises(root / "solutions"):
        print("wrote", path.relative_to(root))
