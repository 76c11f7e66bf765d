"""`course-lib check`: a learner's notebook → passed / failed / not attempted per exercise."""

import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib import cli
from course_lib.grading import FAILED, NOT_ATTEMPTED, PASSED, check_notebook, check_notebooks, format_reports

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = ROOT / "exercises" / "01_event_encoding.ipynb"
SOLUTION = ROOT / "solutions" / "01_event_encoding.ipynb"


def _statuses(report):
    return {e.name: e.status for e in report.exercises}


def test_a_solution_passes_every_exercise():
    report = check_notebook(SOLUTION)
    assert not report.error
    assert set(_statuses(report).values()) == {PASSED} and len(report.exercises) == 3


def test_an_untouched_exercise_notebook_is_not_attempted():
    report = check_notebook(EXERCISE)
    assert _statuses(report) == {"split_time_shift": NOT_ATTEMPTED, "velocity_to_bin": NOT_ATTEMPTED,
                                 "transpose_events": NOT_ATTEMPTED}


def _learner(tmp_path, answers: dict[str, str]) -> Path:
    """The exercise notebook with some stubs replaced by a learner's code."""
    nb = nbformat.read(EXERCISE, as_version=4)
    for cell in nb.cells:
        for name, code in answers.items():
            if cell.cell_type == "code" and cell.source.startswith(f"def {name}("):
                cell.source = code
    path = tmp_path / "student" / EXERCISE.name
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


def test_right_wrong_and_missing_answers(tmp_path):
    path = _learner(tmp_path, {
        "split_time_shift": "def split_time_shift(steps, max_shift=100):\n"
                            "    full, rest = divmod(steps, max_shift)\n"
                            "    return [max_shift] * full + ([rest] if rest else [])",
        "velocity_to_bin": "def velocity_to_bin(velocity):\n    return velocity // 4",   # off by one
    })
    report = check_notebook(path)
    assert _statuses(report) == {"split_time_shift": PASSED, "velocity_to_bin": FAILED,
                                 "transpose_events": NOT_ATTEMPTED}
    failed = next(e for e in report.exercises if e.status == FAILED)
    assert failed.message.startswith("AssertionError: velocity_to_bin(")   # the check's own message
    text = format_reports([report])
    assert "✓ split_time_shift" in text and "✗ velocity_to_bin" in text and "· transpose_events" in text
    assert "1 passed, 1 failed, 1 not attempted" in text


def test_a_broken_file_among_good_ones_is_reported_and_the_rest_checked(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    good = tmp_path / EXERCISE.name
    shutil.copy(EXERCISE, good)
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), plain)
    reports = check_notebooks([broken, good, plain, tmp_path / "missing.ipynb"], jobs=2)
    assert "not a readable notebook" in reports[0].error
    assert set(_statuses(reports[1]).values()) == {NOT_ATTEMPTED}
    assert "no exercise in it" in reports[2].error
    assert reports[3].error == "no such file"
    assert cli.main(["check", str(broken), str(good)]) == 1      # a file that could not be checked
    assert "could not be checked" in capsys.readouterr().out


def test_the_command_line_writes_a_class_table(tmp_path, capsys):
    table = tmp_path / "progress.csv"
    assert cli.main(["check", str(SOLUTION), "--csv", str(table)]) == 0
    rows = table.read_text().splitlines()
    assert rows[0] == "notebook,exercise,status,message" and len(rows) == 4
    assert all(",passed," in r for r in rows[1:])
    assert cli.main(["check", str(EXERCISE), "--strict"]) == 1


@pytest.mark.parametrize("source", ["x = 1", "# CHECK: f\ncheck(f)"])
def test_only_check_cells_count(source, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    report = check_notebook(path)
    if source.startswith("# CHECK"):
        assert [(e.name, e.status) for e in report.exercises] == [("f", FAILED)]
        assert "NameError" in report.exercises[0].message
    else:
        assert report.exercises == [] and "no exercise" in report.error
