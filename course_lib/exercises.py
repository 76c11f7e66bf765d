"""Exercises are generated from their solutions, never kept by hand in two copies.

In a solution notebook, a code cell marks what the learner writes::

    def split_time_shift(steps, max_shift=100):
        ### BEGIN SOLUTION
        full, rest = divmod(steps, max_shift)
        return [max_shift] * full + ([rest] if rest else [])
        ### END SOLUTION

The exercise gets ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` in its
place (indented like the block), and all outputs are cleared. Check cells start
with ``# CHECK: <exercise name>`` and stay as they are.

The exercises are written twice by the same function: to ``exercises/`` for learners and
to ``course_lib/data/exercises/`` inside the package. ``course-lib check`` reads the
package's copy, so the list of exercises and their check cells come from the course,
never from the notebook a learner hands in (see :mod:`course_lib.grading`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["BEGIN", "END", "CHECK", "COURSE_EXERCISES", "strip_solutions", "exercise_from_solution",
           "exercise_path", "write_exercises", "check_name", "CourseChapter", "course_chapters"]

CHECK = "# CHECK:"
COURSE_EXERCISES = Path(__file__).resolve().parent / "data" / "exercises"   # the package's copy

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)" + re.escape(BEGIN) + r"[^\n]*\n.*?^[ \t]*" + re.escape(END) + r"[^\n]*(\n|$)",
    re.DOTALL | re.MULTILINE,
)


def strip_solutions(source: str) -> str:
    """Replace every marked solution block of a cell's source with a stub.

    Raises:
        ValueError: a BEGIN without its END (or the reverse).
    """
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers in cell:\n{source[:200]}")

    def stub(match: re.Match) -> str:
        indent = match.group("indent")
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"

    return _BLOCK.sub(stub, source).rstrip("\n")


def exercise_from_solution(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The exercise notebook for a solution notebook: solution blocks stubbed, outputs cleared."""
    exercise = copy.deepcopy(solution)
    for cell in exercise.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)
        if "colab-badge" in cell.get("metadata", {}).get("tags", []):  # tools/colab.py: open the exercise
            cell.source = cell.source.replace("/solutions/", "/exercises/")
    return exercise


def exercise_path(solution_path: Path) -> Path:
    """``solutions/01_x.ipynb`` → ``exercises/01_x.ipynb`` (sibling folder)."""
    solution_path = Path(solution_path)
    return solution_path.parent.parent / "exercises" / solution_path.name


def write_exercises(solutions_dir: Path, package_dir: Path | None = COURSE_EXERCISES) -> list[Path]:
    """Regenerate every exercise from ``solutions_dir`` into ``exercises/`` and the same
    bytes into ``package_dir`` (the copy ``course-lib check`` grades against; ``None``: skip
    it). Files in ``package_dir`` without a solution are removed. Returns the files written."""
    written = []
    names = set()
    for path in sorted(Path(solutions_dir).glob("*.ipynb")):
        exercise = exercise_from_solution(nbformat.read(path, as_version=4))
        text = nbformat.writes(exercise)
        text += "" if text.endswith("\n") else "\n"   # as nbformat.write ends a file
        targets = [exercise_path(path)] + ([Path(package_dir) / path.name] if package_dir is not None else [])
        for out in targets:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            written.append(out)
        names.add(path.name)
    if package_dir is not None:
        for stale in Path(package_dir).glob("*.ipynb"):
            if stale.name not in names:
                stale.unlink()
    return written


def check_name(source: str) -> str | None:
    """The exercise a check cell checks (``# CHECK: beam_step`` → ``"beam_step"``), else None."""
    first = source.lstrip().split("\n", 1)[0].strip() if source.strip() else ""
    if not first.startswith(CHECK):
        return None
    return first[len(CHECK):].strip() or None


_DEF = re.compile(r"^def ([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.MULTILINE)


@dataclass(frozen=True)
class CourseChapter:
    """One chapter's exercises as the course ships them.

    Attributes:
        name: the notebook's stem, e.g. ``"05_beam_vs_stochastic_search"``.
        number: ``"05"``.
        checks: (exercise name, the check cell's source), in the notebook's order.
        functions: the names of the functions the learner writes (the stubbed ones).
    """
    name: str
    number: str
    checks: tuple[tuple[str, str], ...]
    functions: frozenset[str]

    @property
    def exercises(self) -> list[str]:
        return [name for name, _ in self.checks]


def read_chapter(path: Path) -> CourseChapter:
    """The :class:`CourseChapter` of an exercise notebook of the course."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    checks = tuple((check_name(s), s) for s in code if check_name(s))
    functions = frozenset(name for s in code if "raise NotImplementedError()" in s for name in _DEF.findall(s))
    return CourseChapter(path.stem, path.stem.split("_", 1)[0], checks, functions)


def course_chapters(folder: Path = COURSE_EXERCISES) -> dict[str, CourseChapter]:
    """Every chapter's exercises from the package's copy, by name (``"01_event_encoding"``, ...).

    Raises:
        FileNotFoundError: the package was installed without its exercises.
    """
    chapters = {p.stem: read_chapter(p) for p in sorted(Path(folder).glob("*.ipynb"))}
    if not chapters:
        raise FileNotFoundError(f"no exercise notebooks in {folder}: the package was installed without its "
                                "data (reinstall course-lib, or run `make exercises` in a clone)")
    return chapters
