"""Check learners' exercise notebooks: run each one and report every exercise of its chapter as
passed, failed (with the check's message), not attempted, not run or missing.

The course decides what is checked and what passed, never the submitted file:

- **The course's exercises.** The chapter is told by ``--chapter``, else by the file's name,
  and confirmed by the notebook's content (its check cells and exercise functions); a
  notebook of another chapter is reported as such. Its exercises and their check cells come
  from the package's copy of ``exercises/NN_*.ipynb`` (:func:`course_lib.exercises.course_chapters`).
  Every check cell of the submission is replaced by the course's version before the notebook
  runs; an edited one is reported, a missing one is reported as "missing".
- **A positive signal.** A check passes only when the course's check code says so: the
  kernel's start-up (:mod:`course_lib._grading_kernel`) runs each check cell with the
  original check functions and publishes the outcome signed with a random key made for
  this notebook alone (HMAC-SHA256), which the grader verifies. A kernel that died, a cell
  that timed out or was interrupted, an outcome nobody signed: failed or not run, never
  passed. "Not attempted" is the check's own :class:`course_lib.checks.NotAttempted` (the
  stub's ``NotImplementedError``), never a message that happens to say so.
- **One notebook cannot spoil the others.** Each runs in a throw-away copy of its folder,
  from a process of its own (:mod:`course_lib._grading_worker`) in a new session, its kernel
  in a process group of its own under resource limits (:class:`Limits`). When a notebook
  stops its parent or hangs, its report says so and the others are graded as usual.
- **Safe to print and to open in a spreadsheet.** Names and messages that come from a
  submission are printed without control characters, and a CSV cell never starts with
  ``=``, ``+``, ``-`` or ``@`` (it gets a leading ``'``).

It is not a security sandbox: docs/instructor.md says what the isolation gives and how to
run it in a container.

    course-lib check submissions/*/05_beam_vs_stochastic_search.ipynb --jobs 4 --csv progress.csv
"""

from __future__ import annotations

import csv
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["PASSED", "FAILED", "NOT_ATTEMPTED", "NOT_RUN", "MISSING", "STATUSES", "Limits", "ExerciseResult",
           "NotebookReport", "plan_notebook", "check_notebook", "check_notebooks", "format_reports", "write_csv"]

PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN, MISSING = "passed", "failed", "not attempted", "not run", "missing"
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN, MISSING)
_MARK = {PASSED: "✓", FAILED: "✗", NOT_ATTEMPTED: "·", NOT_RUN: "?", MISSING: "-"}
AS_GIVEN, EDITED = "as given", "edited"


@dataclass(frozen=True)
class Limits:
    """What one notebook's kernel may use (``setrlimit`` in the kernel's start-up; 0: no limit).

    Attributes:
        memory_mb: address space of the kernel, and of each process it starts.
        cpu_seconds: CPU time of the kernel (each process it starts has as much again).
        file_mb: the largest file it may write (a bigger write fails with an error).
        processes: how many more processes and threads it may start than the user has
            when it starts (Linux counts every process of the user; root is not limited).
        output_mb: printed output kept per notebook (millions of characters); the rest is dropped.
    """
    memory_mb: int = 4096
    cpu_seconds: int = 1800
    file_mb: int = 1024
    processes: int = 256
    output_mb: float = 10

    def for_kernel(self) -> dict:
        values = asdict(self)
        values["output_chars"] = int(self.output_mb * 1_000_000)
        return values


@dataclass
class ExerciseResult:
    name: str
    status: str
    message: str = ""
    check_cell: str = AS_GIVEN   # "as given", "edited" (the course's version ran instead) or "missing"


@dataclass
class NotebookReport:
    path: str
    chapter: str = ""
    exercises: list[ExerciseResult] = field(default_factory=list)
    error: str = ""          # the notebook could not be checked at all (or not as this chapter)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(e.status == status for e in self.exercises)

    @property
    def all_passed(self) -> bool:
        return not self.error and bool(self.exercises) and all(e.status == PASSED for e in self.exercises)


# ---------------------------------------------------------------------------------------------
# Which chapter, which check cells: the course's, matched against the submission

def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


_DEF = re.compile(r"^def ([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.MULTILINE)


def _chapter_by_option(chapter: str, chapters: dict) -> str:
    wanted = Path(str(chapter)).stem
    if wanted in chapters:
        return wanted
    by_number = [name for name, c in chapters.items() if wanted.isdigit() and int(c.number) == int(wanted)]
    if len(by_number) == 1:
        return by_number[0]
    raise ValueError(f"no chapter {chapter!r} in the course; chapters: {', '.join(chapters)}")


def _chapter_by_file_name(path: Path, chapters: dict) -> str | None:
    stem = path.stem.lower()
    named = [name for name in chapters if name.lower() in stem]
    if len(named) == 1:
        return named[0]
    numbers = {int(n) for n in re.findall(r"(?<![0-9])[0-9]{1,2}(?![0-9])", stem)}
    numbered = [name for name, c in chapters.items() if int(c.number) in numbers]
    return numbered[0] if len(numbered) == 1 and len(numbers) == 1 else None


def plan_notebook(nb, path, chapter: str | None = None, chapters: dict | None = None):
    """How the grader will run a submission: its chapter, and the notebook to run, in which
    every check cell of the chapter is the course's (run through the signed runner).

    Args:
        nb: the submitted notebook (``nbformat`` v4).
        path: its file (its name may tell the chapter).
        chapter: the chapter it must be (``"05"`` or ``"05_beam_vs_stochastic_search"``), else None.
        chapters: :func:`course_lib.exercises.course_chapters` (read when None).

    Returns:
        ``(plan, notebook, checks)``: the plan (a JSON-able dict: ``chapter``, ``how`` it was
        told, ``error`` when it is not this chapter's or cannot be told, ``exercises``,
        ``occurrences`` of check cells with their random ``cell`` id, ``missing``, ``extra``
        check cells the chapter does not have), the code cells to run (outputs cleared) and,
        by cell id, the course's check cell each id stands for.
    """
    import nbformat

    from ._grading_kernel import RUNNER
    from .exercises import check_name, course_chapters

    chapters = course_chapters() if chapters is None else chapters
    path = Path(path)
    code = [c.get("source", "") for c in nb.cells if c.get("cell_type") == "code"]
    code = [s if isinstance(s, str) else "".join(s) for s in code]
    found = [check_name(s) for s in code]
    signature = {n for n in found if n} | {name for s in code for name in _DEF.findall(s)}
    scores = {name: len(signature & (set(c.exercises) | set(c.functions))) for name, c in chapters.items()}
    best = max(scores.values(), default=0)
    leaders = [name for name, score in scores.items() if score == best and best > 0]

    plan: dict = {"chapter": None, "how": "", "error": "", "exercises": [], "occurrences": [], "missing": [],
                  "extra": sorted({n for n in found if n} - {e for c in chapters.values() for e in c.exercises})}
    if chapter is not None:
        claimed, how = _chapter_by_option(chapter, chapters), "--chapter"
    else:
        claimed, how = _chapter_by_file_name(path, chapters), "file name"
    if claimed is None:
        if len(leaders) != 1:
            plan["error"] = ("cannot tell which chapter this notebook is (no check cell or exercise function of "
                             "the course in it); name the file after its chapter (e.g. 05_....ipynb) or pass --chapter")
            return plan, None, {}
        claimed, how = leaders[0], "content"
    elif best > 0 and scores[claimed] < best:
        plan.update(chapter=claimed, how=how, exercises=chapters[claimed].exercises)
        plan["error"] = (f"this is not a notebook of chapter {claimed}: its exercises are those of "
                         f"{' or '.join(leaders)}")
        return plan, None, {}
    course = chapters[claimed]
    plan.update(chapter=claimed, how=how, exercises=course.exercises)

    sources = dict(course.checks)
    cells, checks = [], {}
    for source, name in zip(code, found):
        if name in sources:
            cell_id = secrets.token_hex(8)
            checks[cell_id] = {"exercise": name, "source": sources[name]}
            plan["occurrences"].append({"cell": cell_id, "index": len(cells), "exercise": name,
                                        "edited": _normal(source) != _normal(sources[name])})
            source = (f"# CHECK: {name}\n# course-lib check runs the course's version of this check cell\n"
                      f"{RUNNER}.run({cell_id!r})")
        cells.append(nbformat.v4.new_code_cell(source))
    plan["missing"] = [name for name in course.exercises if name not in found]
    notebook = nbformat.v4.new_notebook(cells=cells)
    return plan, notebook, checks


# ---------------------------------------------------------------------------------------------
# From what the worker saw to a verdict: only outcomes signed with this notebook's key count

def _verdict(name: str, runs: list[dict], key: bytes, timeout: int) -> tuple[str, str]:
    from ._grading_kernel import sign

    last = runs[-1]   # the check cell that ran last decides (a learner may have copied it)
    state, reply = last.get("state"), last.get("reply") or {}
    if state == "timed out":
        return FAILED, f"the check ran past the {timeout} s limit"
    if state == "kernel died":
        return FAILED, ("the kernel died while the check ran (out of memory, a crash, a limit reached, or the "
                        "notebook stopped it)")
    if state != "completed":
        return FAILED, f"the check did not complete ({state})"
    records = last.get("records") or []
    genuine = []
    for r in records:
        if not isinstance(r, dict) or not all(isinstance(r.get(k), str) for k in ("cell", "exercise", "status",
                                                                                  "message", "mac")):
            continue
        expected = sign(key, last["cell"], name, r["status"], r["message"])
        if r["cell"] == last["cell"] and r["exercise"] == name and hmac.compare_digest(r["mac"], expected):
            genuine.append(r)
    if len(genuine) != 1 or genuine[0]["status"] not in (PASSED, FAILED, NOT_ATTEMPTED):
        why = "the check reported no result the grader can verify"
        if len(records) > len(genuine):
            why += " (an output imitating one was ignored)"
        if reply.get("status") == "error":
            why += f"; the cell ended with {reply.get('ename', 'an error')}: {reply.get('evalue', '')}"
        return FAILED, why
    outcome = genuine[0]
    if outcome["status"] == PASSED and reply.get("status") not in ("ok", None):
        return FAILED, "the check passed but its cell then ended with an error"
    return outcome["status"], outcome["message"]


def _report(path: str, events: dict, key: bytes, timeout: int) -> NotebookReport:
    report = NotebookReport(path)
    plan, end = events.get("plan"), events.get("end")
    if isinstance(end, dict):
        report.error = str(end.get("error") or "")
        report.notes += [str(n) for n in end.get("notes") or []]
    if not isinstance(plan, dict):
        report.error = report.error or events.get("stopped", "the notebook could not be checked")
        return report
    report.chapter = str(plan.get("chapter") or "")
    if plan.get("how") == "content":
        report.notes.append(f"its chapter ({report.chapter}) was told from its content, not its file name")
    if plan.get("error"):
        report.error = str(plan["error"])
    if plan.get("extra"):
        report.notes.append("check cells the chapter does not have were run as ordinary cells: "
                            + ", ".join(map(str, plan["extra"][:5])))
    if events.get("stopped"):
        report.error = events["stopped"]
    occurrences = {o["cell"]: o for o in plan.get("occurrences", []) if isinstance(o, dict) and "cell" in o}
    ran = [c for c in events.get("cells", []) if isinstance(c, dict) and c.get("cell") in occurrences]
    for name in plan.get("exercises", []):
        mine = [o for o in occurrences.values() if o.get("exercise") == name]
        cell = EDITED if any(o.get("edited") for o in mine) else AS_GIVEN
        if name in plan.get("missing", []) and not plan.get("error"):
            report.exercises.append(ExerciseResult(name, MISSING, "the notebook has no check cell for it", "missing"))
            continue
        if len(mine) > 1:
            report.notes.append(f"the check cell of {name} appears {len(mine)} times; the last one that ran counts")
        runs = [c for c in ran if occurrences[c["cell"]].get("exercise") == name]
        if plan.get("error"):
            report.exercises.append(ExerciseResult(name, NOT_RUN, "the notebook is not this chapter's", cell))
        elif not runs:
            report.exercises.append(ExerciseResult(name, NOT_RUN, "the notebook stopped before this check", cell))
        else:
            status, message = _verdict(name, runs, key, timeout)
            if cell == EDITED:
                message = (message + "; " if message else "") + "its check cell was edited (the course's version ran)"
            report.exercises.append(ExerciseResult(name, status, message, cell))
    return report


# ---------------------------------------------------------------------------------------------
# Running: one worker process per notebook, in a session of its own

def _read_events(stream, events: dict) -> None:
    """JSON lines from a worker; whatever is not one is skipped, and there is a bound on both."""
    count = 0
    while count < 2000:
        line = stream.readline(1 << 20)
        if not line:
            break
        count += 1
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or len(event) != 1:
            continue
        (kind, value), = event.items()
        if kind == "cell":
            events["cells"].append(value)
        elif kind in ("plan", "end", "kernel") and kind not in events:
            events[kind] = value
    stream.close()


def _exited(proc: subprocess.Popen) -> bool:
    """Has the process ended? Where the system allows, it stays a zombie (not reaped), so that
    its process group id cannot be reused before we kill the group."""
    if not hasattr(os, "waitid"):   # macOS
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_group(pgid) -> None:
    if isinstance(pgid, int) and pgid > 1 and pgid != os.getpgrp():
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def _python_path() -> str:
    """PYTHONPATH for the grader's processes: this course_lib first, then the caller's entries made
    absolute (the processes run elsewhere)."""
    package_root = str(Path(__file__).resolve().parent.parent)
    entries = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join([package_root] + [p for p in entries if p != package_root])


def remove_tree(root) -> None:
    """``rm -rf``, also through folders a notebook made unreadable."""
    def unlock(func, path, _):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=unlock)
    else:
        shutil.rmtree(root, onerror=unlock)


def _grade(path: str, options: dict, live: dict) -> NotebookReport:
    key = secrets.token_bytes(32)
    root = tempfile.mkdtemp(prefix="course-lib-check-")   # the throw-away folder the notebook runs in
    try:
        return _run_worker(path, options, live, key, root)
    finally:
        remove_tree(root)


def _run_worker(path: str, options: dict, live: dict, key: bytes, root: str) -> NotebookReport:
    job = dict(options, path=str(Path(path).absolute()), key=key.hex(), root=root)
    events: dict = {"cells": []}
    started = time.perf_counter()
    from ._grading_kernel import python_command

    env = dict(os.environ, PYTHONPATH=_python_path())
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(python_command("course_lib._grading_worker"), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errors, start_new_session=True, env=env, cwd=root)
        live[proc.pid] = events
        reader = threading.Thread(target=_read_events, args=(proc.stdout, events), daemon=True)
        reader.start()
        try:
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        except OSError:
            pass
        deadline = time.monotonic() + options["notebook_timeout"]
        while not _exited(proc) and time.monotonic() < deadline:
            time.sleep(0.05)
        timed_out = not _exited(proc)
        _kill_group(proc.pid)                 # the worker and anything left in its session
        reader.join(10)                       # its output ends with it
        _kill_group(events.get("kernel"))     # the kernel's own group, if the worker could not
        returncode = proc.wait()
        live.pop(proc.pid, None)
        if timed_out:
            events["stopped"] = (f"it ran past {options['notebook_timeout']} s in all and was stopped; "
                                 "the checks after that point did not run")
        elif "end" not in events:
            how = (f"signal {signal.Signals(-returncode).name}" if returncode < 0 else f"exit status {returncode}")
            errors.seek(0)
            last = errors.read()[-300:].decode(errors="replace").strip().splitlines()
            events["stopped"] = (f"the process running it ended early ({how}: a notebook that stops its parent, "
                                 "or the machine out of memory)" + (f": {last[-1]}" if last and returncode > 0 else "")
                                 + "; the checks after that point did not run")
    report = _report(str(path), events, key, options["timeout"])
    report.seconds = time.perf_counter() - started
    return report


def check_notebooks(paths, jobs: int = 1, timeout: int = 600, chapter: str | None = None,
                    limits: Limits | None = None, notebook_timeout: int = 1800, max_notebook_mb: int = 50,
                    copy_mb: int = 200) -> list[NotebookReport]:
    """Check many notebooks, ``jobs`` at a time; the reports come in the order given.

    Args:
        paths: the submitted notebooks.
        jobs: notebooks checked at once (give each a core).
        timeout: seconds one cell may run.
        chapter: the chapter every notebook must be (``"05"``); None: told by each file's name
            or, failing that, its content.
        limits: what each kernel may use (:class:`Limits`).
        notebook_timeout: seconds one notebook may take in all (kernel start included).
        max_notebook_mb: a bigger file is not read.
        copy_mb: a folder bigger than this is not copied, only the notebook.

    Returns:
        One :class:`NotebookReport` per notebook. A notebook that cannot be read or run, or that
        stops its own grading, gets a report that says so; it is never raised.

    Raises:
        ValueError: ``chapter`` is not a chapter of the course.
    """
    if chapter is not None:
        from .exercises import course_chapters

        chapter = _chapter_by_option(chapter, course_chapters())
    options = {"timeout": int(timeout), "chapter": chapter, "limits": (limits or Limits()).for_kernel(),
               "notebook_timeout": notebook_timeout, "max_notebook_mb": max_notebook_mb, "copy_mb": copy_mb}
    paths = [str(p) for p in paths]
    live: dict = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(paths) or 1))) as pool:
            return list(pool.map(lambda p: _grade(p, options, live), paths))
    finally:   # interrupted (Ctrl-C): leave no notebook running
        for pid, events in list(live.items()):
            _kill_group(pid)
            _kill_group(events.get("kernel"))


def check_notebook(path, timeout: int = 600, **options) -> NotebookReport:
    """:func:`check_notebooks` for one notebook."""
    return check_notebooks([path], jobs=1, timeout=timeout, **options)[0]


# ---------------------------------------------------------------------------------------------
# Reports: text for the terminal, CSV for a spreadsheet

def clean(text) -> str:
    """``text`` without control or format characters (escape sequences, bidi overrides, NUL, ...):
    what a submission named cannot move the cursor or recolour the instructor's terminal."""
    text = str(text)
    return "".join(" " if ch in "\t\n\r" else ch for ch in text
                   if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))


def csv_safe(text) -> str:
    """:func:`clean`, and a leading ``=``, ``+``, ``-`` or ``@`` quoted (``'``), so that a
    spreadsheet shows the text instead of running it as a formula."""
    text = clean(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def format_reports(reports: list[NotebookReport]) -> str:
    """Per notebook, per exercise: ✓ passed, ✗ failed (with the message), · not attempted,
    ? not run, - missing; then totals."""
    lines = []
    for r in reports:
        head = clean(r.path) + (f"  [{clean(r.chapter)}]" if r.chapter else "")
        lines.append(head + (f"  ({r.seconds:.0f} s)" if r.seconds else ""))
        if r.error:
            lines.append(f"  ! {clean(r.error)}")
        for note in r.notes:
            lines.append(f"  note: {clean(note)}")
        width = max((len(clean(e.name)) for e in r.exercises), default=0)
        for e in r.exercises:
            lines.append(f"  {_MARK.get(e.status, '?')} {clean(e.name).ljust(width)}  {e.status}"
                         + (f" — {clean(e.message)}" if e.message else ""))
    totals = {s: sum(r.count(s) for r in reports) for s in STATUSES}
    unreadable = sum(bool(r.error) and not r.exercises for r in reports)
    lines.append(f"{len(reports)} notebook(s): "
                 + ", ".join(f"{n} {s}" for s, n in totals.items() if n or s in (PASSED, FAILED, NOT_ATTEMPTED))
                 + (f"; {unreadable} could not be checked" if unreadable else ""))
    return "\n".join(lines)


def write_csv(reports: list[NotebookReport], path) -> Path:
    """One row per exercise (notebook, chapter, exercise, status, check cell, message), for a
    spreadsheet of the class; a notebook that could not be checked gets one row with its error."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["notebook", "chapter", "exercise", "status", "check cell", "message"])
        for r in reports:
            if r.error and not r.exercises:
                out.writerow([csv_safe(r.path), csv_safe(r.chapter), "", "error", "", csv_safe(r.error)])
            for e in r.exercises:
                out.writerow([csv_safe(r.path), csv_safe(r.chapter), csv_safe(e.name), e.status, e.check_cell,
                              csv_safe(e.message)])
    return path
