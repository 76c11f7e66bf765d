"""The kernel ``course-lib check`` runs a learner's notebook in (not for notebooks to import).

:mod:`course_lib.grading` starts it through a kernel spec whose command runs :func:`main`.
Before the first cell of the notebook runs, :func:`main`

1. reads its instructions from the file named by ``COURSE_LIB_GRADER_SPEC`` and deletes
   the file: a random key for this run only, the course's check cells by cell id, the limits;
2. sets the resource limits (``setrlimit``: address space, CPU seconds, size of a file it
   writes, number of processes; no core files), which hold for everything the notebook starts;
3. imports ``course_lib.checks`` and the modules the chapter's checks use, keeps the
   original check functions, and takes a snapshot of those modules (and numpy, torch,
   builtins) to notice a notebook that rewrites them;
4. caps the output it may send (streams, displays, results, tracebacks);
5. puts ``__course_lib_grader__`` in the notebook's namespace. The grader replaces every check
   cell by ``__course_lib_grader__.run("<cell id>")``, which runs the course's own source of
   that check cell with the original check functions and publishes the outcome (passed,
   failed with its message, not attempted) signed with the key (HMAC-SHA256). Only the
   grader, which made the key, can tell a genuine outcome from a printed imitation.

What this does not stop: code in the same process can read the key from memory or rewrite
the library in ways the snapshot does not cover. It stops the everyday ways a notebook
"passes" (a check cell replaced, a check function patched, errors hidden, a kernel that
dies); docs/instructor.md says what it is not.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import inspect
import json
import os
import resource
import signal
import sys
import types

SPEC_ENV = "COURSE_LIB_GRADER_SPEC"
RUNNER = "__course_lib_grader__"
MIME = "application/vnd.course-lib.check+json"
PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
DROPPED = "[course-lib check: output beyond"


def python_command(module: str) -> list[str]:
    """``python -c`` running ``module.main()``, with the working folder (a notebook's, or one it can
    write to) dropped from ``sys.path`` before anything is imported: no file there can stand in
    for a module of the course or its dependencies."""
    boot = f"import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; from {module} import main; main()"
    return [sys.executable, "-c", boot]


def sign(key: bytes, cell: str, exercise: str, status: str, message: str) -> str:
    """The HMAC the grader expects for one check cell's outcome."""
    payload = json.dumps([cell, exercise, status, message], ensure_ascii=True).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def user_task_count(uid: int | None = None) -> int:
    """Processes and threads of this user now (what ``RLIMIT_NPROC`` counts on Linux)."""
    uid = os.getuid() if uid is None else uid
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def apply_limits(limits: dict) -> None:
    """``setrlimit`` for this process and all it starts; a value of 0 or None: no limit."""
    mib = 1 << 20

    def cap(which: int, soft: int, hard: int | None = None) -> None:
        _, old_hard = resource.getrlimit(which)
        hard = soft if hard is None else hard
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(which, (soft, hard))

    cap(resource.RLIMIT_CORE, 0)
    if limits.get("memory_mb"):
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * mib)
    if limits.get("cpu_seconds"):   # SIGXCPU at the soft limit, SIGKILL a little later
        cap(resource.RLIMIT_CPU, int(limits["cpu_seconds"]), int(limits["cpu_seconds"]) + 5)
    if limits.get("file_mb"):       # a bigger write fails with EFBIG instead of killing the kernel
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        cap(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * mib)
    if limits.get("processes") and os.path.isdir("/proc"):   # counts all this user's tasks: allow N more
        cap(resource.RLIMIT_NPROC, user_task_count() + int(limits["processes"]))


def reference_modules(check_names, checks_module) -> set[str]:
    """The modules the given check functions import when they run (their lazy imports and those
    of the helpers they call), so that they can be imported, and watched, before the notebook runs."""
    tree = ast.parse(inspect.getsource(checks_module))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    package = checks_module.__name__.rsplit(".", 1)[0]
    modules: set[str] = set()
    seen: set[str] = set()
    todo = [n for n in check_names if n in functions]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                modules.add(f"{package}.{base}".rstrip(".") if node.level else base)
            elif isinstance(node, ast.Name) and node.id in functions:
                todo.append(node.id)
    return modules


class _Snapshot:
    """Who is who in the modules the checks rely on, to notice one rewritten by the notebook."""

    WATCHED = ("builtins", "numpy", "torch", "torch.nn.functional", "scipy.sparse")

    def __init__(self) -> None:
        self.entries: list[tuple[str, object, dict]] = []
        for name, module in list(sys.modules.items()):
            if module is not None and (name in self.WATCHED or name == "course_lib" or name.startswith("course_lib.")):
                self._watch(name, module)
                for value in list(vars(module).values()):
                    if isinstance(value, type) and getattr(value, "__module__", "").startswith("course_lib"):
                        self._watch(f"{value.__module__}.{value.__qualname__}", value)
        torch = sys.modules.get("torch")
        if torch is not None:
            self._watch("torch.Tensor", torch.Tensor)

    # IPython and ipykernel swap these builtins in and out around every cell; torch._dynamo,
    # imported on first use of an optimizer, wraps torch.manual_seed.
    IGNORED = {"builtins": {"exit", "quit", "get_ipython", "display", "dreload", "help", "input", "raw_input",
                            "_", "__", "___"},
               "torch": {"manual_seed"}}

    def _watch(self, label: str, owner) -> None:
        ignored = self.IGNORED.get(label, ())
        # Functions, classes and modules: what a check calls. Data (caches, counters) may change.
        values = {k: v for k, v in vars(owner).items()
                  if k not in ignored and (callable(v) or isinstance(v, types.ModuleType))}
        codes = {k: v.__code__ for k, v in values.items() if isinstance(v, types.FunctionType)}
        self.entries.append((label, owner, {"values": values, "codes": codes}))

    def changed(self) -> list[str]:
        """Names rebound, added over, or functions whose code was swapped since the snapshot."""
        found = []
        for label, owner, saved in self.entries:
            now = vars(owner)
            for key, value in saved["values"].items():
                if now.get(key, _GONE) is not value:
                    found.append(f"{label}.{key}")
                elif key in saved["codes"] and value.__code__ is not saved["codes"][key]:
                    found.append(f"{label}.{key}.__code__")
            if len(found) > 5:
                break
        return found


_GONE = object()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")[:300]


def make_runner(key: bytes, cells: dict, shell, publish, write_note):
    """``__course_lib_grader__``: ``run(cell_id)`` runs the course's check cell of that id (once)
    and publishes its signed outcome. The key stays in this closure."""
    from course_lib import checks

    pristine = types.SimpleNamespace(**{n: getattr(checks, n) for n in dir(checks) if n.startswith("check_")},
                                     NotAttempted=checks.NotAttempted)
    not_attempted = (checks.NotAttempted, NotImplementedError)
    compiled = {cell: (entry["exercise"], compile(entry["source"], f"<course check {entry['exercise']}>", "exec"))
                for cell, entry in cells.items()}
    snapshot = _Snapshot()
    done: set[str] = set()
    busy = [False]

    def run(cell_id: str) -> None:
        if cell_id not in compiled or cell_id in done or busy[0]:
            raise RuntimeError("course-lib check: this is not a check cell the grader put here")
        done.add(cell_id)
        exercise, code = compiled[cell_id]
        status, message = FAILED, "the check did not finish"
        namespace = shell.user_ns
        saved = namespace.get("checks", _GONE)
        busy[0] = True
        before: list[str] = []
        try:
            before = snapshot.changed()
            namespace["checks"] = pristine
            exec(code, namespace)
            status, message = PASSED, ""
        except not_attempted:
            status, message = NOT_ATTEMPTED, ""
            raise
        except BaseException as err:   # KeyboardInterrupt and SystemExit too: never a pass
            status, message = FAILED, _first_line(err)
            raise
        finally:
            busy[0] = False
            if saved is _GONE:
                namespace.pop("checks", None)
            else:
                namespace["checks"] = saved
            changed = before + [c for c in snapshot.changed() if c not in before]
            if changed:
                status = FAILED
                message = ("the notebook changed the course's code in the kernel (" + ", ".join(changed[:2])
                           + (", ..." if len(changed) > 2 else "") + "); the check cannot be trusted")
                write_note(f"\ncourse-lib check: {message}\n")
            record = {"cell": cell_id, "exercise": exercise, "status": status, "message": message}
            record["mac"] = sign(key, cell_id, exercise, status, message)
            publish({MIME: record, "text/plain": f"[course-lib check: {exercise} {status}]"})

    return types.SimpleNamespace(run=run)


def _cap_output(shell, streams, limit: int, write_note) -> None:
    """At most ``limit`` characters of output in all: stdout and stderr (the fd-level output of
    C code and child processes goes through the same ``write``), displays and cell results;
    what comes after is dropped with one note. Tracebacks are cut to a readable length."""
    left = [limit]

    def take(size: int) -> bool:
        if left[0] <= 0:
            return False
        if size > left[0]:
            left[0] = 0
            write_note(f"\n{DROPPED} {limit:,} characters was dropped]\n")
            return False
        left[0] -= size
        return True

    def capped_write(original):
        def write(text):
            n = len(text)
            if left[0] > 0 and n > left[0]:
                original(text[: left[0]])
                take(n)
                return n
            return original(text) if take(n) else n
        return write

    for stream in streams:
        stream.write = capped_write(stream.write)

    def size(data) -> int:
        return sum(len(v) if isinstance(v, (str, bytes)) else 100 for v in dict(data or {}).values())

    publish = shell.display_pub.publish

    def capped_publish(data, *args, **kwargs):
        if take(size(data)):
            return publish(data, *args, **kwargs)
    shell.display_pub.publish = capped_publish

    hook = shell.displayhook
    if hasattr(hook, "write_format_data"):
        write_format_data = hook.write_format_data

        def capped_result(format_dict, *args, **kwargs):
            if not take(size(format_dict)):
                format_dict = {"text/plain": "[course-lib check: output dropped]"}
            return write_format_data(format_dict, *args, **kwargs)
        hook.write_format_data = capped_result

    if hasattr(shell, "_showtraceback"):
        show = shell._showtraceback

        def short_traceback(etype, evalue, stb):
            return show(etype, str(evalue)[:2000], [str(line)[:2000] for line in list(stb)[-60:]])
        shell._showtraceback = short_traceback


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    spec_path = os.environ.pop(SPEC_ENV)
    with open(spec_path) as f:
        spec = json.load(f)
    os.unlink(spec_path)
    apply_limits(spec.get("limits", {}))

    from course_lib import checks

    names = {n for entry in spec["checks"].values() for n in _called_checks(entry["source"])}
    for module in sorted(reference_modules(names, checks)):
        try:
            __import__(module)
        except ImportError:
            pass   # the check will say so when it runs

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv + ["--HistoryManager.enabled=False"])
    shell = app.shell
    stdout, stderr = sys.stdout, sys.stderr
    note = stderr.write
    publish = shell.display_pub.publish

    def publish_data(data):
        publish(data=data, metadata={})

    runner = make_runner(bytes.fromhex(spec["key"]), spec["checks"], shell, publish_data, note)
    _cap_output(shell, [stdout, stderr], int(spec.get("limits", {}).get("output_chars") or 1 << 62), note)
    shell.user_ns[RUNNER] = runner
    shell.user_ns_hidden[RUNNER] = runner
    if os.getcwd() not in sys.path:   # as in any kernel: the notebook may import modules next to it
        sys.path.insert(0, os.getcwd())
    app.start()


def _called_checks(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr.startswith("check_")}
