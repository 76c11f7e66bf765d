"""Runs one learner's notebook for ``course-lib check``, in a process of its own (not for notebooks).

:mod:`course_lib.grading` starts ``python -m course_lib._grading_worker`` in a new session,
writes the job (JSON) to its stdin and reads JSON lines from its stdout, so that a notebook
that kills its parent, or a kernel that takes this process down with it, costs the report of
this notebook only. The lines, in order:

    {"kernel": PGID}                 the kernel's process group, as soon as it runs
    {"plan": {...}}                  the chapter, its exercises, the check cells found (see grading.plan_notebook)
    {"cell": {...}}                  after each check cell: how it ended and the outcomes it published
    {"end": {"error": ..., "notes": [...]}}

The worker decides nothing: the grader checks the outcomes' signatures with the key it made.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

KERNEL_NAME = "course-lib-grader"
MAX_RECORD = 8192   # characters of one published outcome; more is not the course's runner


def _emit(out, kind: str, value) -> None:
    out.write(json.dumps({kind: value}) + "\n")
    out.flush()


def _copy_folder(src: Path, dest: Path, notebook: str, max_bytes: int, max_files: int = 5000) -> str | None:
    """Copy the notebook's folder (its files, not the other notebooks in it, not links, not
    special files); when it is too big, copy the notebook alone. Returns a note or None."""
    plan, total = [], 0
    for folder, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != ".ipynb_checkpoints" and not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(src)
            if name.endswith(".ipynb") and str(rel) != notebook:
                continue
            try:
                info = path.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            total += info.st_size
            plan.append(rel)
            if total > max_bytes or len(plan) > max_files:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / notebook, dest / notebook)
                return (f"its folder holds more than {max_bytes >> 20} MB or {max_files} files: "
                        "only the notebook was copied to run it")
    for rel in plan:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(src / rel, dest / rel)
        except OSError:
            pass
    dest.mkdir(parents=True, exist_ok=True)
    return None


def _kernel_client_class():
    from nbclient import NotebookClient

    from ._grading_kernel import DROPPED, MIME

    class Client(NotebookClient):
        """Keeps the course's signed outcomes apart from the notebook's outputs (no clear_output
        or Output widget can hide them) and caps the output kept per notebook."""

        def __init__(self, *args, output_limit: int, **kwargs):
            super().__init__(*args, **kwargs)
            self.records = defaultdict(list)
            self.replies = {}
            self.output_limit, self.output_size, self.output_dropped = output_limit, 0, False
            self.on_cell_executed = self._executed

        def _executed(self, cell, cell_index, execute_reply):
            content = (execute_reply or {}).get("content", {})
            self.replies[cell_index] = {"status": str(content.get("status", ""))[:50],
                                        "ename": str(content.get("ename", ""))[:200],
                                        "evalue": str(content.get("evalue", ""))[:500]}

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content") or {}
            data = content.get("data") if isinstance(content, dict) else None
            if isinstance(data, dict) and MIME in data:
                record = data[MIME]
                if len(self.records[cell_index]) < 20 and len(json.dumps(record, default=str)) < MAX_RECORD:
                    self.records[cell_index].append(record)
                return None
            text = str(content.get("text", "")) if msg.get("msg_type") == "stream" else ""
            if DROPPED in text[:300] or DROPPED in text[-300:]:
                self.output_dropped = True   # the kernel cut the notebook's output
            self.output_size += len(json.dumps(content, default=str))
            if self.output_size > self.output_limit:
                self.output_dropped = True
                return None
            return super().output(outs, msg, display_id, cell_index)

    return Client


def run_job(job: dict, out) -> None:
    """Grade one notebook: read it, plan its checks, run it in a throw-away folder, report."""
    from . import grading

    path = Path(job["path"])
    nb, error = _read_notebook(path, job["max_notebook_mb"])
    if error:
        return _emit(out, "end", {"error": error})
    plan, prepared, checks = grading.plan_notebook(nb, path, job.get("chapter"))
    _emit(out, "plan", plan)
    if plan.get("error") or not checks:
        return _emit(out, "end", {"notes": []})
    root = Path(job["root"])   # made, and removed afterwards, by the grader (this process may be killed)
    kernel: dict = {}
    try:
        _run_in_sandbox(job, path, root, plan, prepared, checks, out, kernel)
    finally:
        if kernel.get("pgid"):
            try:
                os.killpg(kernel["pgid"], signal.SIGKILL)   # whatever the notebook left running in its group
            except OSError:
                pass
        grading.remove_tree(root)


def _read_notebook(path: Path, max_mb: float):
    """The notebook, or why it cannot be graded."""
    import nbformat

    try:
        info = path.stat()
    except FileNotFoundError:
        return None, "no such file"
    except OSError as err:
        return None, f"cannot read it ({err.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    if info.st_size > max_mb * (1 << 20):
        return None, f"larger than {max_mb} MB; not read"
    try:
        return nbformat.read(path, as_version=4), ""
    except Exception as err:   # not JSON, not a notebook: say so, go on with the others
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        return None, f"not a readable notebook ({type(err).__name__}: {first})"


def _sandbox(job: dict, path: Path, root: Path, checks) -> tuple[Path, dict, list[str]]:
    """Copy the submission's folder into ``root`` and write the kernel's spec and settings.

    Returns the folder the notebook runs in, the kernel's environment and notes for the report.
    """
    from . import _grading_kernel, grading

    notes = []
    # Two folders down, so that `../neighbour` and `../../file` still land in the throw-away root.
    work = root / "sandbox" / "submissions" / (path.parent.name or "notebook")
    note = _copy_folder(path.parent, work, path.name, int(job["copy_mb"]) << 20)
    if note:
        notes.append(note)
    for sub in ("home", "tmp", "ipython", "ipc"):
        (root / sub).mkdir()
    spec = root / "spec.json"
    fd = os.open(spec, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"key": job["key"], "checks": checks, "limits": job["limits"]}, f)
    kernel_dir = root / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True)
    # The kernel runs in the notebook's folder: a course_lib/ there must not stand in for the course.
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": _grading_kernel.python_command("course_lib._grading_kernel") + ["-f", "{connection_file}"],
        "display_name": "course-lib check", "language": "python"}))
    env = dict(os.environ)
    env.update({_grading_kernel.SPEC_ENV: str(spec), "HOME": str(root / "home"), "TMPDIR": str(root / "tmp"),
                "IPYTHONDIR": str(root / "ipython"), "MPLBACKEND": "Agg", "PYTHONPATH": grading._python_path()})
    import site
    env.setdefault("PYTHONUSERBASE", site.getuserbase())
    for threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(threads, "1")
    env.pop("JPY_PARENT_PID", None)
    return work, env, notes


def _run_in_sandbox(job, path, root, plan, prepared, checks, out, kernel: dict) -> None:
    """Start a kernel in the throw-away folder and run the prepared notebook's cells."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    work, env, notes = _sandbox(job, path, root, checks)
    specs = KernelSpecManager(kernel_dirs=[str(root / "kernels")])
    # Unix sockets in the private folder rather than TCP ports (no port another process can
    # take between choosing it and binding it, nothing listening on the network), where the
    # path is short enough for a socket's name.
    sockets = root / "ipc" / "kernel"
    ipc = {"transport": "ipc", "ip": str(sockets)} if len(str(sockets)) < 90 else {}
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, **ipc)
    client = _kernel_client_class()(
        prepared, km=km, timeout=job["timeout"], allow_errors=True, shutdown_kernel="immediate",
        startup_timeout=120, output_limit=int(job["limits"]["output_chars"]) * 2)
    log = open(root / "kernel.log", "wb")
    try:
        with client.setup_kernel(cwd=str(work), env=env, stdout=subprocess.DEVNULL, stderr=log):
            kernel["pgid"] = getattr(km.provisioner, "pgid", None) or getattr(km.provisioner, "pid", None)
            _emit(out, "kernel", kernel["pgid"])
            notes += _run_cells(client, prepared, plan, job["timeout"], out)
    except (RuntimeError, TimeoutError) as err:
        log.flush()
        tail = (root / "kernel.log").read_bytes()[-600:].decode(errors="replace").strip().splitlines()
        what = "did not start" if kernel.get("pgid") is None else "failed"
        return _emit(out, "end", {"error": f"the kernel {what} ({err}; {tail[-1] if tail else 'no message'})",
                                  "notes": notes})
    finally:
        log.close()
    if client.output_dropped:
        notes.append(f"its output went past {job['limits']['output_chars']:,} characters; the rest was dropped")
    _emit(out, "end", {"notes": notes})


def _run_cells(client, prepared, plan, timeout, out) -> list[str]:
    """Run the code cells in order, reporting each check cell; stop at the first that does not
    complete. Returns the notes for the report."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    ids = {entry_index: cell_id for cell_id, entry_index in ((c["cell"], c["index"]) for c in plan["occurrences"])}
    count = 0
    for index, cell in enumerate(prepared.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        count += 1
        try:
            client.execute_cell(cell, index, execution_count=count)
            state = "completed"
        except CellTimeoutError:
            state = "timed out"
        except DeadKernelError:
            state = "kernel died"
        except Exception as err:   # lost contact with the kernel, ...
            state = f"{type(err).__name__}"
        if index in ids:
            _emit(out, "cell", {"cell": ids[index], "index": index, "state": state,
                                "records": client.records.get(index, []), "reply": client.replies.get(index)})
        if state != "completed":
            where = f"code cell {count}"
            why = {"timed out": f"{where} ran past the {timeout} s limit",
                   "kernel died": f"the kernel died in {where} (out of memory, a crash, a limit "
                                  "reached, or the notebook stopped it)"}
            return [why.get(state, f"{where}: {state}") + "; the notebook was stopped there"]
    return []


def main() -> None:
    # nbformat imports jsonschema, which imports rfc3987_syntax when it is installed: seconds
    # of grammar building per process, for URI formats no notebook check needs.
    sys.modules.setdefault("rfc3987_syntax", None)
    # The results go out on a private copy of stdout; anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    job = json.loads(sys.stdin.read())
    try:
        run_job(job, out)
    except Exception as err:   # report, never a traceback on the class's report
        _emit(out, "end", {"error": f"the grader failed on it ({type(err).__name__}: {str(err)[:200]})"})


if __name__ == "__main__":
    main()
