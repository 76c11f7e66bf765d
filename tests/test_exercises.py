"""Exercises must be exactly what the generator makes of their solutions."""

from pathlib import Path

import nbformat
import pytest

from course_lib.exercises import BEGIN, END, exercise_from_solution, exercise_path, strip_solutions

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_strip_keeps_indentation_and_surroundings():
    src = f"def f(x):\n    {BEGIN}\n    return x + 1\n    {END}\n\nprint(f)"
    assert strip_solutions(src) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(f)"


def test_unbalanced_markers_are_an_error():
    with pytest.raises(ValueError, match="unbalanced"):
        strip_solutions(f"{BEGIN}\nx = 1\n")


def test_there_are_solutions():
    assert SOLUTIONS, "no solution notebooks found"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_exercise_is_up_to_date(solution):
    expected = exercise_from_solution(nbformat.read(solution, as_version=4))
    path = exercise_path(solution)
    assert path.exists(), f"{path} is missing: run `make exercises`"
    actual = nbformat.read(path, as_version=4)
    assert [(c.cell_type, c.source) for c in actual.cells] == [
        (c.cell_type, c.source) for c in expected.cells
    ], f"{path.name} is out of date with its solution: run `make exercises`"
    assert all(not c.get("outputs") for c in actual.cells if c.cell_type == "code")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_solution_has_exercises_and_checks(solution):
    nb = nbformat.read(solution, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(BEGIN in s for s in code), "a solution notebook without a marked exercise"
    assert any(s.startswith("# CHECK:") for s in code), "a solution notebook without a check cell"
