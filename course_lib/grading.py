"""Check learners' exercise notebooks: run each one and report every exercise as passed,
failed (with the check's message) or not attempted.

An exercise is a check cell (``# CHECK: <name>``, see :mod:`course_lib.exercises`); it
passed when its cell ran without an error. The checks raise ``NotImplementedError`` (or
say "not attempted") while the learner's cell is still the stub.

    course-lib check submissions/*/05_beam_vs_stochastic_search.ipynb --jobs 4 --csv progress.csv
"""

from __future__ import annotations

import csv
import os
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PASSED", "FAILED", "NOT_ATTEMPTED", "NOT_RUN", "ExerciseResult", "NotebookReport", "check_notebook",
           "check_notebooks", "format_reports", "write_csv"]

PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN = "passed", "failed", "not attempted", "not run"
_MARK = {PASSED: "✓", FAILED: "✗", NOT_ATTEMPTED: "·", NOT_RUN: "?"}


@dataclass
class ExerciseResult:
    name: str
    status: str
    message: str = ""


@dataclass
class NotebookReport:
    path: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    error: str = ""          # the notebook could not be read or run at all
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(e.status == status for e in self.exercises)


def _check_name(source: str) -> str | None:
    first = source.lstrip().splitlines()[0] if source.strip() else ""
    return first[len("# CHECK:"):].strip() if first.startswith("# CHECK:") else None


def _status(cell) -> ExerciseResult:
    name = _check_name(cell.source)
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if cell.get("execution_count") is None and not errors:
        return ExerciseResult(name, NOT_RUN, "the cell did not run (the kernel stopped before it)")
    if not errors:
        return ExerciseResult(name, PASSED)
    ename, evalue = errors[0].get("ename", ""), str(errors[0].get("evalue", ""))
    if ename == "NotImplementedError" or "not attempted" in evalue:
        return ExerciseResult(name, NOT_ATTEMPTED)
    first_line = evalue.strip().splitlines()[0] if evalue.strip() else ""
    return ExerciseResult(name, FAILED, f"{ename}: {first_line}"[:300])


def check_notebook(path: str | os.PathLike, timeout: int = 600) -> NotebookReport:
    """Run a learner's notebook (in its own folder, with a fresh kernel; errors do not stop it)
    and report each exercise. A file that cannot be read or run is reported, never raised."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(path)
    report = NotebookReport(str(path))
    started = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        report.error = "no such file"
        return report
    except Exception as err:   # not JSON, not a notebook: say so, go on with the others
        report.error = f"not a readable notebook ({type(err).__name__}: {str(err).splitlines()[0][:200]})"
        return report
    checks = [c for c in nb.cells if c.cell_type == "code" and _check_name(c.source)]
    if not checks:
        report.error = "no exercise in it (no cell starts with '# CHECK:'); is it an exercise notebook of the course?"
        return report
    for cell in nb.cells:   # a learner's stored outputs must not count
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute(stderr=subprocess.DEVNULL)   # the kernel's own start-up chatter, times 30 students
    except DeadKernelError as err:
        report.error = f"the kernel died ({err}); the exercises after that point did not run"
    except Exception as err:   # a cell ran past the timeout, the kernel failed to start, ...
        report.error = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:200] if str(err).strip() else ''}"
    report.exercises = [_status(c) for c in checks]
    report.seconds = time.perf_counter() - started
    return report


def check_notebooks(paths, jobs: int = 1, timeout: int = 600) -> list[NotebookReport]:
    """:func:`check_notebook` for many notebooks, ``jobs`` at a time, in the order given."""
    paths = [str(p) for p in paths]
    if jobs <= 1 or len(paths) <= 1:
        return [check_notebook(p, timeout) for p in paths]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(check_notebook, paths, [timeout] * len(paths)))


def format_reports(reports: list[NotebookReport]) -> str:
    """Per notebook, per exercise: ✓ passed, ✗ failed (with the message), · not attempted; then totals."""
    lines = []
    for r in reports:
        lines.append(f"{r.path}" + (f"  ({r.seconds:.0f} s)" if r.seconds else ""))
        if r.error:
            lines.append(f"  ! {r.error}")
        width = max((len(e.name) for e in r.exercises), default=0)
        for e in r.exercises:
            lines.append(f"  {_MARK[e.status]} {e.name.ljust(width)}  {e.status}" + (f" — {e.message}" if e.message else ""))
    totals = {s: sum(r.count(s) for r in reports) for s in (PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN)}
    unreadable = sum(bool(r.error) and not r.exercises for r in reports)
    lines.append(f"{len(reports)} notebook(s): " + ", ".join(f"{n} {s}" for s, n in totals.items() if n or s != NOT_RUN)
                 + (f"; {unreadable} could not be checked" if unreadable else ""))
    return "\n".join(lines)


def write_csv(reports: list[NotebookReport], path: str | os.PathLike) -> Path:
    """One row per exercise (notebook, exercise, status, message), for a spreadsheet of the class."""
    path = Path(path)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["notebook", "exercise", "status", "message"])
        for r in reports:
            if r.error and not r.exercises:
                out.writerow([r.path, "", "error", r.error])
            for e in r.exercises:
                out.writerow([r.path, e.name, e.status, e.message])
    return path
