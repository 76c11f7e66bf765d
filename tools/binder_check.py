"""Binder reality check: run every chapter notebook the way Binder would, on one core, and
record wall time and peak memory per notebook in benchmarks/RESULTS.md.

Binder gives one core and 2 GB. Each notebook runs in a fresh kernel pinned to one CPU
(taskset) with BLAS and torch threads at 1, in memory (the notebook file is not
changed). Peak memory is the kernel's peak resident set size, measured by the kernel's
parent (getrusage of its waited-for children), not estimated. Targets: ≤ 2 minutes and
≤ 1.5 GB a notebook.

    make binder-check                                  # all of notebooks/, then RESULTS.md
    python tools/binder_check.py notebooks/03_*.ipynb --no-record
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- binder-check:begin -->", "<!-- binder-check:end -->"
LIMIT_SECONDS, LIMIT_MIB = 120, 1536
ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "COURSE_LIB_THREADS": "1"}


def run_one(path: Path) -> dict:
    """Execute one notebook in memory (the file is not changed) and measure it; runs in a child process."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    error = ""
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute(stderr=subprocess.DEVNULL)
    except Exception as err:   # report it with the numbers, go on with the next notebook
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:200] if str(err).strip() else ''}"
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # the kernel, now ended and waited for
    return {"notebook": path.name, "seconds": round(wall, 1), "peak_mib": round(peak_kib / 1024), "error": error}


def measure(path: Path, cpu: int = 0) -> dict:
    """One notebook in a fresh process pinned to ``cpu``, with one BLAS/torch thread."""
    command = [sys.executable, __file__, "--one", str(path)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu)] + command
    done = subprocess.run(command, env={**os.environ, **ONE_CORE}, capture_output=True, text=True)
    if done.returncode != 0:
        return {"notebook": str(path), "seconds": float("nan"), "peak_mib": 0,
                "error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = ["| notebook | wall time (s) | peak memory (MiB) | within 2 min and 1.5 GB |", "|---|---|---|---|"]
    for r in rows:
        ok = r["seconds"] <= LIMIT_SECONDS and r["peak_mib"] <= LIMIT_MIB and not r["error"]
        lines.append(f"| {Path(r['notebook']).name} | {r['seconds']:.0f} | {r['peak_mib']:,} | "
                     f"{'yes' if ok else 'NO'}{' — ' + r['error'] if r['error'] else ''} |")
    return "\n".join(lines)


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}; one core (taskset), 1 BLAS/torch thread; Python {platform.python_version()}, torch {torch.__version__}"


def record(rows: list[dict], results: Path = RESULTS) -> None:
    """Replace the binder-check section of RESULTS.md (or append it)."""
    section = (f"{BEGIN}\n## Binder reality check — `make binder-check` ({time.strftime('%Y-%m-%d')})\n\n"
               f"Machine: {machine()}.\n\n{table(rows)}\n\n"
               f"Total {sum(r['seconds'] for r in rows) / 60:.1f} min; the slowest notebook "
               f"{max(r['seconds'] for r in rows):.0f} s, the largest peak {max(r['peak_mib'] for r in rows):,} MiB.\n"
               f"{END}")
    text = results.read_text() if results.exists() else ""
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: section, text, flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    results.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in notebooks/")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=0, help="the core to pin to (default 0)")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(Path(args.one).resolve())))
        return 0
    paths = [Path(p).resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    rows = []
    for path in paths:
        rows.append(measure(path, args.cpu))
        r = rows[-1]
        print(f"{Path(r['notebook']).name}: {r['seconds']:.0f} s, peak {r['peak_mib']:,} MiB"
              + (f"  ERROR {r['error']}" if r["error"] else ""), flush=True)
    print(table(rows))
    if not args.no_record:
        record(rows)
        print(f"recorded in {RESULTS.relative_to(ROOT)}")
    over = [r for r in rows if r["error"] or r["seconds"] > LIMIT_SECONDS or r["peak_mib"] > LIMIT_MIB]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
