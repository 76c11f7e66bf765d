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


def test_the_package_copy_is_the_exercises_byte_for_byte():
    """`course-lib check` grades against course_lib/data/exercises/: it must be exercises/ exactly."""
    from course_lib.exercises import COURSE_EXERCISES

    shipped = sorted(p.name for p in COURSE_EXERCISES.glob("*.ipynb"))
    assert shipped == [p.name for p in SOLUTIONS], "run `make exercises` (it writes both copies)"
    for solution in SOLUTIONS:
        assert (COURSE_EXERCISES / solution.name).read_bytes() == exercise_path(solution).read_bytes(), (
            f"course_lib/data/exercises/{solution.name} differs from exercises/{solution.name}: run `make exercises`")


def test_write_exercises_writes_both_copies_and_drops_stale_ones(tmp_path):
    from course_lib.exercises import course_chapters, write_exercises

    solutions = tmp_path / "solutions"
    solutions.mkdir()
    for solution in SOLUTIONS[:2]:
        (solutions / solution.name).write_bytes(solution.read_bytes())
    package = tmp_path / "package"
    package.mkdir()
    (package / "99_gone.ipynb").write_text("{}")
    write_exercises(solutions, package)
    assert sorted(p.name for p in package.glob("*.ipynb")) == [s.name for s in SOLUTIONS[:2]]
    for solution in SOLUTIONS[:2]:
        assert (package / solution.name).read_bytes() == (tmp_path / "exercises" / solution.name).read_bytes()
    chapters = course_chapters(package)
    first = chapters[SOLUTIONS[0].stem]
    assert first.number == SOLUTIONS[0].name[:2] and first.exercises and first.functions
    assert all(source.startswith("# CHECK: " + name) for name, source in first.checks)


def test_check_name():
    from course_lib.exercises import check_name

    assert check_name("# CHECK: beam_step\nchecks.check_beam_step(beam_step)") == "beam_step"
    assert check_name("\n  # CHECK:  skew  \n") == "skew"
    assert check_name("# CHECK:\npass") is None and check_name("x = 1  # CHECK: f") is None and check_name("") is None
