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
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

__all__ = ["BEGIN", "END", "strip_solutions", "exercise_from_solution", "exercise_path"]

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


def write_exercises(solutions_dir: Path) -> list[Path]:
    """Regenerate every exercise from ``solutions_dir``; returns the files written."""
    written = []
    for path in sorted(Path(solutions_dir).glob("*.ipynb")):
        exercise = exercise_from_solution(nbformat.read(path, as_version=4))
        out = exercise_path(path)
        out.parent.mkdir(exist_ok=True)
        nbformat.write(exercise, out)
        written.append(out)
    return written
