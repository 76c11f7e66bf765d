"""`course-lib check`: a learner's notebook → passed / failed / not attempted / not run / missing
per exercise, decided by the course's own checks, never by what the submission shows.

Every notebook here is graded in a real kernel. To keep the suite quick, notebooks are graded
in batches (``check_notebooks(..., jobs=2)``, as an instructor would), once per module, and
each case is asserted on its own.
"""

import csv
import os
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from course_lib import cli
from course_lib.exercises import course_chapters
from course_lib.grading import (FAILED, MISSING, NOT_ATTEMPTED, NOT_RUN, PASSED, Limits, check_notebook,
                                check_notebooks, clean, csv_safe, format_reports, plan_notebook, write_csv)

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = ROOT / "exercises" / "01_event_encoding.ipynb"
SOLUTION = ROOT / "solutions" / "01_event_encoding.ipynb"
NAME = EXERCISE.name
CHAPTER = course_chapters()["01_event_encoding"]
CHECKS = dict(CHAPTER.checks)
EXERCISES = CHAPTER.exercises   # split_time_shift, velocity_to_bin, transpose_events

SETUP = "import numpy as np\n\nfrom course_lib import checks\nfrom course_lib.encoding import PerformanceEncoding"
RIGHT = {
    "split_time_shift": "def split_time_shift(steps, max_shift=100):\n"
                        "    full, rest = divmod(steps, max_shift)\n"
                        "    return [max_shift] * full + ([rest] if rest else [])",
    "velocity_to_bin": "def velocity_to_bin(velocity):\n    return (velocity - 1) // 4",
    "transpose_events": "def transpose_events(events, semitones):\n    events = np.asarray(events).copy()\n"
                        "    events[events < 256] += semitones\n    return events",
}
WRONG = {
    "split_time_shift": "def split_time_shift(steps, max_shift=100):\n    return [steps]",
    "velocity_to_bin": "def velocity_to_bin(velocity):\n    return velocity // 4",
    "transpose_events": "def transpose_events(events, semitones):\n    return np.asarray(events) + semitones",
}
STUB = {name: f"def {name}(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError()" for name in EXERCISES}


def _write(folder: Path, cells: list[str], name: str = NAME) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return path


def _chapter_one(answers: dict, checks: dict | None = None, before: str | None = None,
                 after_first: str | None = None) -> list[str]:
    """Chapter 1 as a learner hands it in: set-up, then per exercise its function and its check
    cell (the course's unless ``checks`` says otherwise); ``before``: a cell after the set-up;
    ``after_first``: a cell after the first check."""
    cells = [SETUP] + ([before] if before else [])
    for i, name in enumerate(EXERCISES):
        cells += [answers[name], (checks or CHECKS)[name]]
        if i == 0 and after_first:
            cells.append(after_first)
    return cells


def _statuses(report) -> dict:
    return {e.name: e.status for e in report.exercises}


# ---------------------------------------------------------------------------------------------
# Planning: which chapter, which check cells (no kernel)

def _nb(cells):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def test_the_plan_replaces_every_check_cell_with_the_course_one():
    cells = _chapter_one(RIGHT, checks={**CHECKS, "velocity_to_bin": "# CHECK: velocity_to_bin\npass"})
    plan, prepared, checks = plan_notebook(_nb(cells), Path("alice") / NAME)
    assert plan["chapter"] == "01_event_encoding" and plan["how"] == "file name" and not plan["error"]
    assert plan["exercises"] == EXERCISES and plan["missing"] == []
    edited = {o["exercise"]: o["edited"] for o in plan["occurrences"]}
    assert edited == {"split_time_shift": False, "velocity_to_bin": True, "transpose_events": False}
    for occurrence in plan["occurrences"]:
        source = prepared.cells[occurrence["index"]].source
        assert "pass" not in source and occurrence["cell"] in source   # the learner's text is gone
        assert checks[occurrence["cell"]] == {"exercise": occurrence["exercise"],
                                              "source": CHECKS[occurrence["exercise"]]}
    assert len({o["cell"] for o in plan["occurrences"]}) == 3          # one random id per check cell
    assert all(not c.outputs for c in prepared.cells)


def test_the_plan_reports_missing_and_foreign_check_cells():
    cells = [SETUP, RIGHT["split_time_shift"], CHECKS["split_time_shift"], "# CHECK: my_own\nprint('ok')"]
    plan, _, checks = plan_notebook(_nb(cells), Path(NAME))
    assert plan["missing"] == ["velocity_to_bin", "transpose_events"] and plan["extra"] == ["my_own"]
    assert [c["exercise"] for c in checks.values()] == ["split_time_shift"]


def test_the_chapter_comes_from_the_option_the_file_name_or_the_content():
    cells = _chapter_one(RIGHT)
    assert plan_notebook(_nb(cells), Path("work.ipynb"))[0]["how"] == "content"
    assert plan_notebook(_nb(cells), Path("alice_01.ipynb"))[0]["how"] == "file name"
    plan = plan_notebook(_nb(cells), Path("work.ipynb"), chapter="1")[0]
    assert (plan["chapter"], plan["how"]) == ("01_event_encoding", "--chapter")
    with pytest.raises(ValueError, match="no chapter"):
        plan_notebook(_nb(cells), Path("work.ipynb"), chapter="42")
    plan = plan_notebook(_nb(["x = 1"]), Path("work.ipynb"))[0]
    assert "cannot tell which chapter" in plan["error"]


def test_a_notebook_of_another_chapter_is_reported_as_such():
    chapter5 = nbformat.read(ROOT / "solutions" / "05_beam_vs_stochastic_search.ipynb", as_version=4)
    for kwargs in ({}, {"chapter": "01"}):
        plan, prepared, _ = plan_notebook(chapter5, Path(NAME), **kwargs)
        assert "not a notebook of chapter 01_event_encoding" in plan["error"]
        assert "05_beam_vs_stochastic_search" in plan["error"] and prepared is None


def test_names_are_printed_without_control_characters_and_quoted_for_spreadsheets():
    assert clean("a\x1b[31mred\x1b[0m\u202eb\x00\nc") == "a[31mred[0mb c"
    assert [csv_safe(t) for t in ("=1+1", "+x", "-2", "@SUM(A1)", "ok", "a=b")] == [
        "'=1+1", "'+x", "'-2", "'@SUM(A1)", "ok", "a=b"]
    assert csv_safe("\x07=cmd") == "'=cmd"   # cleaned first, then quoted


def test_the_csv_never_holds_a_formula_or_a_control_character(tmp_path):
    from course_lib.grading import ExerciseResult, NotebookReport

    reports = [NotebookReport("=HYPERLINK(\"http://x\")\x1b[2J.ipynb", "01_event_encoding", [
        ExerciseResult("@SUM(A1)", FAILED, "-1 is not +1\x07\r\nbye", "edited")]),
        NotebookReport("+broken.ipynb", error="=not a readable notebook")]
    rows = list(csv.reader(write_csv(reports, tmp_path / "t.csv").open(newline="")))
    assert rows[1] == ["'=HYPERLINK(\"http://x\")[2J.ipynb", "01_event_encoding", "'@SUM(A1)", FAILED, "edited",
                       "'-1 is not +1  bye"]
    assert rows[2] == ["'+broken.ipynb", "", "", "error", "", "'=not a readable notebook"]
    text = format_reports(reports)
    assert "\x1b" not in text and "\x07" not in text


# ---------------------------------------------------------------------------------------------
# Honest notebooks

def test_a_solution_passes_and_an_untouched_exercise_is_not_attempted(tmp_path):
    reports = check_notebooks([SOLUTION, EXERCISE], jobs=2)
    assert [r.error for r in reports] == ["", ""]
    assert set(_statuses(reports[0]).values()) == {PASSED} and len(reports[0].exercises) == 3
    assert _statuses(reports[1]) == dict.fromkeys(EXERCISES, NOT_ATTEMPTED)


def test_right_wrong_and_missing_answers(tmp_path):
    answers = {**STUB, "split_time_shift": RIGHT["split_time_shift"], "velocity_to_bin": WRONG["velocity_to_bin"]}
    report = check_notebook(_write(tmp_path / "student", _chapter_one(answers)))
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
    good = _write(tmp_path / "good", _chapter_one(STUB))
    plain = _write(tmp_path, ["1 + 1"], "plain.ipynb")
    reports = check_notebooks([broken, good, plain, tmp_path / "missing.ipynb", tmp_path], jobs=2)
    assert "not a readable notebook" in reports[0].error
    assert set(_statuses(reports[1]).values()) == {NOT_ATTEMPTED}
    assert "cannot tell which chapter" in reports[2].error
    assert reports[3].error == "no such file" and reports[4].error == "not a regular file"
    assert cli.main(["check", str(broken), str(good)]) == 1      # a file that could not be checked
    assert "could not be checked" in capsys.readouterr().out


def test_the_command_line_writes_a_class_table(tmp_path, capsys, monkeypatch):
    table = tmp_path / "progress.csv"
    monkeypatch.chdir(tmp_path)   # a folder name chosen by a student, given as a relative path
    odd = _write(Path("=HYPERLINK(x)\x1b[2J"), _chapter_one(RIGHT), f"=cmd_{NAME}")
    assert cli.main(["check", str(SOLUTION), str(odd), "--csv", str(table), "--jobs", "2"]) == 0
    rows = list(csv.reader(table.open()))
    assert rows[0] == ["notebook", "chapter", "exercise", "status", "check cell", "message"] and len(rows) == 7
    assert all(r[3] == PASSED for r in rows[1:])
    assert all(not r[0].startswith(("=", "+", "-", "@")) and "\x1b" not in r[0] for r in rows[1:])
    assert "\x1b" not in capsys.readouterr().out
    assert cli.main(["check", str(EXERCISE), "--strict"]) == 1
    assert cli.main(["check", str(EXERCISE), "--chapter", "42"]) == 2


# ---------------------------------------------------------------------------------------------
# Forged submissions: none of them may pass

TAMPER = "the notebook changed the course's code"
FORGED = {
    # the check call replaced by `pass`: the course's check runs anyway
    "pass instead of the check": (_chapter_one(STUB, checks={n: f"# CHECK: {n}\npass" for n in EXERCISES}),
                                  dict.fromkeys(EXERCISES, NOT_ATTEMPTED)),
    "pass instead of the check, wrong answers": (
        _chapter_one(WRONG, checks={n: f"# CHECK: {n}\npass" for n in EXERCISES}), dict.fromkeys(EXERCISES, FAILED)),
    # a notebook made only of check cells with `pass`
    "only check cells": ([f"# CHECK: {n}\npass" for n in EXERCISES], dict.fromkeys(EXERCISES, FAILED)),
    # the check functions replaced by ones that print what a pass prints
    "checks monkeypatched": (_chapter_one(WRONG, before="\n".join(
        f"checks.check_{n} = lambda fn: print('✓ {n}: 11 cases agree with the library')" for n in EXERCISES)),
        dict.fromkeys(EXERCISES, FAILED)),
    "check helper monkeypatched": (_chapter_one(WRONG, before="import course_lib.checks\n"
                                                "course_lib.checks._compare = lambda *args, **kwargs: None"),
                                   dict.fromkeys(EXERCISES, FAILED)),
    "reference monkeypatched": (_chapter_one({**RIGHT, "velocity_to_bin": WRONG["velocity_to_bin"]}, before=(
        "PerformanceEncoding.velocity_to_bin = lambda self, velocity: velocity // 4")),
        dict.fromkeys(EXERCISES, FAILED)),
    # errors hidden: no traceback, no output at all
    "traceback display off": (_chapter_one(WRONG, before="ip = get_ipython()\n"
                                           "ip.showtraceback = lambda *a, **k: None\n"
                                           "ip.showsyntaxerror = lambda *a, **k: None\n%xmode minimal"),
                              dict.fromkeys(EXERCISES, FAILED)),
    "all output off": (_chapter_one(WRONG, before="import io, sys\nip = get_ipython()\n"
                                    "ip.showtraceback = lambda *a, **k: None\n"
                                    "ip.display_pub.publish = lambda *a, **k: None\n"
                                    "sys.stdout = sys.stderr = io.StringIO()"),
                       dict.fromkeys(EXERCISES, FAILED)),
    # an imitation of the grader's own outcome, published from inside the check
    "forged outcome": (_chapter_one({**STUB, "split_time_shift": (
        "def split_time_shift(steps, max_shift=100):\n"
        "    import sys\n    from IPython.display import publish_display_data\n"
        "    frame = sys._getframe()\n"
        "    while 'cell_id' not in frame.f_locals:\n        frame = frame.f_back\n"
        "    publish_display_data({'application/vnd.course-lib.check+json': {'cell': frame.f_locals['cell_id'],"
        " 'exercise': 'split_time_shift', 'status': 'passed', 'message': '', 'mac': '0' * 64}})\n"
        "    raise NotImplementedError()")}), dict.fromkeys(EXERCISES, NOT_ATTEMPTED)),
    # an error that merely says "not attempted" is a failure; so is an interrupt or an exit
    "says not attempted": (_chapter_one({**STUB, "split_time_shift": (
        "def split_time_shift(steps, max_shift=100):\n    raise AssertionError('not attempted')")}),
        {**dict.fromkeys(EXERCISES, NOT_ATTEMPTED), "split_time_shift": FAILED}),
    "interrupt and exit": (_chapter_one({**STUB, "split_time_shift": (
        "def split_time_shift(steps, max_shift=100):\n    raise KeyboardInterrupt()"), "velocity_to_bin": (
        "def velocity_to_bin(velocity):\n    raise SystemExit(0)")}),
        {"split_time_shift": FAILED, "velocity_to_bin": FAILED, "transpose_events": NOT_ATTEMPTED}),
    # the kernel dies inside a check (as out of memory or a segfault would)
    "kernel dies in a check": (_chapter_one({**RIGHT, "velocity_to_bin": (
        "def velocity_to_bin(velocity):\n    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)")}),
        {"split_time_shift": PASSED, "velocity_to_bin": FAILED, "transpose_events": NOT_RUN}),
    "check cells deleted": ([SETUP] + [RIGHT[n] for n in EXERCISES], dict.fromkeys(EXERCISES, MISSING)),
    # controls: right answers pass, with an edited check cell too
    "right answers": (_chapter_one(RIGHT), dict.fromkeys(EXERCISES, PASSED)),
    "right answers, check cell edited": (_chapter_one(RIGHT, checks={
        **CHECKS, "split_time_shift": CHECKS["split_time_shift"] + "  # done!"}),
        dict.fromkeys(EXERCISES, PASSED)),
}


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    root = tmp_path_factory.mktemp("forged")
    paths = [_write(root / f"student{i:02d}", cells) for i, (cells, _) in enumerate(FORGED.values())]
    started = time.perf_counter()
    reports = check_notebooks(paths, jobs=2)
    print(f"{len(paths)} forged notebooks graded in {time.perf_counter() - started:.0f} s")
    return dict(zip(FORGED, reports))


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_submissions_do_not_pass(forged, case):
    report = forged[case]
    assert _statuses(report) == FORGED[case][1], format_reports([report])


def test_how_forgeries_are_reported(forged):
    assert all(e.check_cell == "edited" for e in forged["pass instead of the check"].exercises)
    assert all("NameError" in e.message for e in forged["only check cells"].exercises)
    for case in ("checks monkeypatched", "check helper monkeypatched", "reference monkeypatched"):
        assert all(TAMPER in e.message for e in forged[case].exercises), case
    assert all("expected" in e.message for e in forged["traceback display off"].exercises)
    died = forged["kernel dies in a check"]
    assert "kernel died" in died.exercises[1].message and "kernel died" in " ".join(died.notes)
    assert [e.check_cell for e in forged["right answers, check cell edited"].exercises][0] == "edited"
    assert [e.check_cell for e in forged["check cells deleted"].exercises] == ["missing"] * 3


# ---------------------------------------------------------------------------------------------
# One notebook cannot spoil the others

KILLS_PARENT = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"
KILLS_GROUP = "import os, signal\nos.killpg(os.getpgid(os.getppid()), signal.SIGKILL)"
BIG_OUTPUT = ("print('x' * 300_000_000)\nfor _ in range(100):\n    print('y' * 1_000_000)\n"
              "from IPython.display import display\ndisplay({'text/plain': 'z' * 300_000_000}, raw=True)\n"
              "'w' * 300_000_000")


def _writes_outside(pid_file: Path) -> str:
    return ("import os, shutil, subprocess\n"
            "open('../bob/01_event_encoding.ipynb', 'w').write('overwritten') if os.path.isdir('../bob') else None\n"
            "os.makedirs('../bob', exist_ok=True)\nopen('../bob/01_event_encoding.ipynb', 'w').write('overwritten')\n"
            "open('../../escaped.txt', 'w').write('escaped')\n"
            f"open('{NAME}', 'w').write('my own file, overwritten')\n"
            "open('data.txt', 'w').write('changed')\n"
            "shutil.rmtree('..', ignore_errors=True)\n"
            "child = subprocess.Popen(['sleep', '300'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_bad_notebooks_cost_only_their_own_report(tmp_path, monkeypatch):
    """Killing the grader's process, writing outside its folder, leaving a process behind,
    printing 300 MB, bringing a course_lib of its own: each such notebook gets its own report,
    and its neighbours are graded."""
    scratch = tmp_path / "scratch"      # where the grader makes its throw-away folders
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    subs = tmp_path / "submissions"
    bob = _write(subs / "bob", _chapter_one(RIGHT))
    (subs / "bob" / "data.txt").write_text("bob's data")
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "data.txt").write_text("alice's data")
    alice = _write(subs / "alice", _chapter_one(RIGHT, after_first=_writes_outside(tmp_path / "pid")))
    killer = _write(subs / "carol", _chapter_one(RIGHT, after_first=KILLS_PARENT))
    group_killer = _write(subs / "dave", _chapter_one(RIGHT, after_first=KILLS_GROUP))
    loud = _write(subs / "erin", _chapter_one(RIGHT, after_first=BIG_OUTPUT))
    impostor = _write(subs / "mallory", _chapter_one(WRONG))   # brings its own course_lib, whose checks pass all
    fake = subs / "mallory" / "course_lib"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "checks.py").write_text("".join(f"def check_{n}(fn):\n    print('✓')\n" for n in EXERCISES))
    (fake / "_grading_kernel.py").write_text("def main():\n    raise SystemExit('not the course')\n")
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}

    started = time.perf_counter()
    reports = check_notebooks([killer, bob, alice, group_killer, loud, impostor], jobs=2)
    seconds = time.perf_counter() - started
    by = dict(zip(["killer", "bob", "alice", "group_killer", "loud", "impostor"], reports))
    assert _statuses(by["impostor"]) == dict.fromkeys(EXERCISES, FAILED), format_reports([by["impostor"]])

    for name in ("killer", "group_killer"):   # the first check had passed; then the grader's process was killed
        report = by[name]
        assert "ended early (signal SIGKILL" in report.error, format_reports([report])
        assert _statuses(report) == {"split_time_shift": PASSED, "velocity_to_bin": NOT_RUN,
                                     "transpose_events": NOT_RUN}
    for name in ("bob", "alice", "loud"):
        assert _statuses(by[name]) == dict.fromkeys(EXERCISES, PASSED), format_reports([by[name]])
    assert any("the rest was dropped" in note for note in by["loud"].notes)
    assert {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()} == before   # nothing outside its copy
    assert not (tmp_path / "escaped.txt").exists()
    assert not _alive(int((tmp_path / "pid").read_text()))                          # its process group is gone
    assert list(scratch.iterdir()) == []                                            # no copy left behind
    assert seconds < 300


def test_resource_limits_stop_a_notebook_not_the_grader(tmp_path):
    def with_answer(name, body):
        return _write(tmp_path / name, _chapter_one({**RIGHT, "split_time_shift": (
            "def split_time_shift(steps, max_shift=100):\n" + body)}))

    memory = with_answer("memory", "    block = bytearray(3 << 30)\n    return [len(block)]")
    cpu = with_answer("cpu", "    while True:\n        pass")
    disk = with_answer("disk", "    open('big.bin', 'wb').write(bytes(20 << 20))\n    return []")
    slow = with_answer("slow", "    import time\n    time.sleep(600)")
    reports = check_notebooks([memory, cpu, disk, slow], jobs=2, timeout=20,
                              limits=Limits(memory_mb=2048, cpu_seconds=4, file_mb=10))
    by = dict(zip(["memory", "cpu", "disk", "slow"], reports))
    assert by["memory"].exercises[0].message.startswith("MemoryError")
    assert "kernel died" in by["cpu"].exercises[0].message       # SIGXCPU
    assert "File too large" in by["disk"].exercises[0].message     # EFBIG, not a dead kernel
    assert "ran past the 20 s limit" in by["slow"].exercises[0].message
    for report in reports:
        assert report.exercises[0].status == FAILED, format_reports([report])
    for name in ("memory", "disk"):       # the kernel survived: the other checks ran and passed
        assert [e.status for e in by[name].exercises[1:]] == [PASSED, PASSED]
    for name in ("cpu", "slow"):          # stopped: the checks after it did not run
        assert [e.status for e in by[name].exercises[1:]] == [NOT_RUN, NOT_RUN]


@pytest.mark.skipif(os.geteuid() == 0, reason="RLIMIT_NPROC does not hold for root")
def test_a_notebook_cannot_start_processes_without_end(tmp_path):
    path = _write(tmp_path / "forks", _chapter_one({**RIGHT, "split_time_shift": (
        "def split_time_shift(steps, max_shift=100):\n    import subprocess\n"
        "    children = [subprocess.Popen(['sleep', '30']) for _ in range(200)]\n    return []")}))
    report = check_notebook(path, limits=Limits(processes=50))
    assert report.exercises[0].status == FAILED, format_reports([report])   # fork fails: EAGAIN


# ---------------------------------------------------------------------------------------------
# A class of 30, as a workshop would grade it

@pytest.mark.slow
def test_a_class_of_30_with_one_of_each_bad_kind(tmp_path):
    subs = tmp_path / "submissions"
    kinds = {
        "pass instead of the check": FORGED["pass instead of the check"][0],
        "only check cells": FORGED["only check cells"][0],
        "checks monkeypatched": FORGED["checks monkeypatched"][0],
        "traceback display off": FORGED["traceback display off"][0],
        "forged outcome": FORGED["forged outcome"][0],
        "kernel dies in a check": FORGED["kernel dies in a check"][0],
        "kills its parent": _chapter_one(WRONG, before=KILLS_PARENT),
        "writes outside its folder": _chapter_one(STUB, after_first=_writes_outside(tmp_path / "pid")),
        "300 MB output": _chapter_one(STUB, after_first=BIG_OUTPUT),
        "check cells deleted": FORGED["check cells deleted"][0],
    }
    paths, expected = [], {}
    for i in range(30):
        folder = subs / f"student{i:02d}"
        if i < len(kinds):
            kind = list(kinds)[i]
            paths.append(_write(folder, kinds[kind]))
        elif i == len(kinds):
            kind = "another chapter"
            folder.mkdir(parents=True)
            paths.append(folder / NAME)
            paths[-1].write_bytes((ROOT / "solutions" / "05_beam_vs_stochastic_search.ipynb").read_bytes())
        elif i == len(kinds) + 1:
            kind = "broken file"
            folder.mkdir(parents=True)
            paths.append(folder / NAME)
            paths[-1].write_text('{"cells": [')
        else:
            kind = "finished" if i % 3 else "untouched"
            paths.append(_write(folder, _chapter_one(RIGHT if kind == "finished" else STUB)))
        expected[str(paths[-1])] = kind
    before = {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()}

    table = tmp_path / "class.csv"
    started = time.perf_counter()
    code = cli.main(["check", *map(str, paths), "--jobs", "2", "--csv", str(table)])
    seconds = time.perf_counter() - started
    print(f"class of 30 graded in {seconds:.0f} s with --jobs 2")
    assert code == 1                                         # the broken file could not be checked
    rows = list(csv.reader(table.open()))[1:]
    by_notebook: dict = {}
    for notebook, _, exercise, status, _, _ in rows:
        by_notebook.setdefault(notebook, {})[exercise] = status
    assert len(by_notebook) == 30
    for notebook, kind in expected.items():
        statuses = by_notebook[notebook]
        if kind == "finished":
            assert set(statuses.values()) == {PASSED}, (kind, statuses)
        elif kind == "untouched":
            assert set(statuses.values()) == {NOT_ATTEMPTED}, (kind, statuses)
        elif kind == "broken file":
            assert statuses == {"": "error"}
        else:                                                # not one bad notebook passes anything
            assert PASSED not in statuses.values() or kind == "kernel dies in a check", (kind, statuses)
            assert statuses.get("velocity_to_bin") != PASSED, (kind, statuses)
    assert {p: p.read_bytes() for p in subs.rglob("*") if p.is_file()} == before
    assert not _alive(int((tmp_path / "pid").read_text()))
