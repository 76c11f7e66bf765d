"""The corpus cache: its file format, the lock that lets one process build it, and the build.

Parsing with music21 costs about 0.1 s per work, so the corpus is parsed once,
in parallel, and kept in ``<cache_dir>/corpus/<collection>.npz`` (one file per
collection: a test can build a small collection fast, and a full build reuses
it). Each file holds the concatenated note arrays, offsets and a JSON blob of
metadata, read with ``allow_pickle=False`` (loading never executes code). The
file records ``CACHE_VERSION`` and music21's version; a missing, stale or
damaged file is rebuilt with a message. Composer, birth year and period are
looked up in ``composers.csv`` when loading, not stored in the cache, so
editing the table needs no rebuild; so are tempo and form (``tempo_words.csv``,
``forms.csv``: the cache keeps the marks and words they are read from). ``cache_dir`` defaults to
``$COURSE_LIB_CACHE``, else ``~/.cache/course_lib``.

The package ships the whole cache (``course_lib/data/corpus/``, ``SHIPPED_CACHE``): when the
user's cache lacks a collection, or holds a stale copy, the shipped file is read instead.
``course-lib corpus --build`` rebuilds the user's cache; ``make cache`` rebuilds the shipped
one through the same command.

Notebook: notebooks/04_time_period_conditioning.ipynb
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata as _pkg_metadata
from pathlib import Path

import numpy as np

from ..performance import Performance
from .scores import _check_collections, _parse_task, _task_cost, _tasks_for

CACHE_VERSION = 2  # bump when the conversion or the cache layout changes (2: tempo marks, score words)
SHIPPED_CACHE = Path(__file__).parent.parent / "data" / "corpus"  # rebuilt by `make cache`


# ----------------------------------------------------------------------------------------
# The cache files
# ----------------------------------------------------------------------------------------
def _cache_folder(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is None:
        cache_dir = os.environ.get("COURSE_LIB_CACHE") or Path.home() / ".cache" / "course_lib"
    return Path(cache_dir).expanduser() / "corpus"


def _cache_key(collection: str) -> dict:
    return {"cache_version": CACHE_VERSION, "music21": _music21_version(), "collection": collection}


def _music21_version() -> str:
    """music21's major.minor: the course pins ``music21==10.5.*``, and a patch release
    must not throw away the shipped cache."""
    return ".".join(_pkg_metadata.version("music21").split(".")[:2])


@dataclass
class _Collection:
    """One collection as stored: note arrays, offsets and per-work metadata."""

    name: str
    works: list[dict]
    pitch: np.ndarray
    velocity: np.ndarray
    start: np.ndarray
    end: np.ndarray
    offsets: np.ndarray
    failures: list[tuple[str, str]] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    files: int = 0
    seconds: float = 0.0

    @classmethod
    def from_records(cls, name, records, failures, empty, files, seconds) -> _Collection:
        records = sorted(records, key=lambda r: r["id"])
        perfs = [r["notes"] for r in records]
        offsets = np.cumsum([0] + [len(p) for p in perfs]).astype(np.int64)

        def cat(attr, dtype):
            return np.concatenate([getattr(p, attr) for p in perfs] or [np.zeros(0)]).astype(dtype)

        works = [{k: v for k, v in r.items() if k != "notes"} for r in records]
        return cls(name, works, cat("pitch", np.uint8), cat("velocity", np.uint8), cat("start", np.float64),
                   cat("end", np.float64), offsets, sorted(failures), sorted(empty), files, seconds)

    def write(self, path: Path) -> None:
        """Write atomically: a temporary file in the same folder, then ``os.replace``."""
        meta = {
            "key": _cache_key(self.name),
            "works": self.works,
            "failures": self.failures,
            "empty": self.empty,
            "files": self.files,
            "build_seconds": round(self.seconds, 2),
        }
        blob = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".npz.tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, meta=blob, pitch=self.pitch, velocity=self.velocity,
                                    start=self.start, end=self.end, offsets=self.offsets)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a shared cache must be readable
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @classmethod
    def read(cls, path: Path, name: str) -> tuple[_Collection | None, str]:
        """Returns (collection, "") or (None, why it cannot be used)."""
        if not path.exists():
            return None, "missing"
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
                if meta.get("key") != _cache_key(name):
                    return None, f"is stale (built for {meta.get('key')}, need {_cache_key(name)})"
                arrays = {k: npz[k] for k in ("pitch", "velocity", "start", "end", "offsets")}
        except Exception as err:  # OSError, BadZipFile, zlib.error, ValueError, KeyError, JSON errors …
            return None, f"is damaged ({type(err).__name__}: {err})"
        offsets = arrays["offsets"]
        n = len(arrays["pitch"])
        if (len(offsets) != len(meta["works"]) + 1 or offsets[0] != 0 or offsets[-1] != n
                or np.any(np.diff(offsets) < 0)
                or any(len(arrays[k]) != n for k in ("velocity", "start", "end"))):
            return None, "is damaged (array lengths disagree)"
        wrong = _wrong_content(meta, arrays)
        if wrong:
            return None, f"is damaged ({wrong})"
        return cls(name, meta["works"], failures=[tuple(f) for f in meta["failures"]], empty=meta["empty"],
                   files=meta["files"], seconds=meta["build_seconds"], **arrays), ""

    def performances(self) -> list[Performance]:
        o = self.offsets
        return [Performance(self.pitch[a:b], self.velocity[a:b], self.start[a:b], self.end[a:b])
                for a, b in itertools.pairwise(o)]


# Every work record carries these (a cache written by hand or by another version may not).
WORK_FIELDS = ("id", "title", "composer_raw", "source", "meter", "key", "tune_type", "tempo_marks", "score_words")


def _wrong_content(meta: dict, arrays: dict) -> str:
    """What is wrong with a well-formed cache's content ("" if nothing): notes a Performance
    would refuse, or work records without the fields load_works reads."""
    for key in ("works", "failures", "empty", "files", "build_seconds"):
        if key not in meta:
            return f"no {key!r} entry"
    for work in meta["works"]:
        missing = [f for f in WORK_FIELDS if not isinstance(work, dict) or f not in work]
        if missing:
            return f"a work without {', '.join(missing)}"
    pitch, velocity, start, end = (arrays[k] for k in ("pitch", "velocity", "start", "end"))
    if len(pitch) and (pitch.max() > 127 or velocity.min() < 1 or velocity.max() > 127):
        return "pitches or velocities outside 1–127"
    if len(start) and not (np.isfinite(start).all() and np.isfinite(end).all()
                           and start.min() >= 0 and (end > start).all()):
        return "note times that are not 0 <= start < end"
    return ""


# ----------------------------------------------------------------------------------------
# Building
# ----------------------------------------------------------------------------------------
@dataclass
class BuildReport:
    """What :func:`build_cache` did.

    Attributes:
        collections: per collection: files, works, notes, failures, seconds.
        failures: ``(file or id, reason)`` for everything music21 could not parse.
        seconds: wall-clock time of the whole build.
        workers: processes used.
    """

    collections: dict[str, dict] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    def __str__(self) -> str:
        lines = [f"{'collection':<20}{'files':>7}{'works':>8}{'notes':>11}{'failed':>8}{'empty':>7}"]
        for name, c in self.collections.items():
            lines.append(f"{name:<20}{c['files']:>7}{c['works']:>8}{c['notes']:>11,}"
                         f"{c['failures']:>8}{c['empty']:>7}")
        total = {k: sum(c[k] for c in self.collections.values())
                 for k in ("files", "works", "notes", "failures", "empty")}
        lines.append(f"{'total':<20}{total['files']:>7}{total['works']:>8}{total['notes']:>11,}"
                     f"{total['failures']:>8}{total['empty']:>7}")
        lines.append(f"built in {self.seconds:.1f} s with {self.workers} worker(s)")
        if self.failures:
            lines.append(f"{len(self.failures)} file(s) or tune(s) music21 could not parse (skipped):")
            lines += [f"  {src}: {why}" for src, why in self.failures]
        return "\n".join(lines)


@contextlib.contextmanager
def _build_lock(folder: Path):
    """One build at a time per cache folder (torchrun ranks, pytest-xdist workers): the
    others wait, then find the cache built. Without fcntl (Windows) or a writable folder, no lock."""
    try:
        import fcntl

        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".build.lock", "w")
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))  # each worker holds music21 (~200 MB)


def _build(names: list[str], folder: Path, workers: int | None, progress: bool) -> tuple[dict, BuildReport]:
    """Parse the named collections, write each cache file as soon as it is complete."""
    from tqdm.auto import tqdm

    workers = workers or _default_workers()
    report = BuildReport(workers=workers)
    started = time.perf_counter()
    tasks = {name: _tasks_for(name) for name in names}
    remaining = {name: len(t) for name, t in tasks.items()}
    results: dict[str, list] = {name: [[], [], [], time.perf_counter()] for name in names}
    ordered = sorted((t for ts in tasks.values() for t in ts), key=_task_cost, reverse=True)
    built: dict[str, _Collection] = {}

    def finish(name: str) -> None:
        records, failures, empty, t0 = results.pop(name)
        files = len({t[0] for t in tasks[name]})
        coll = _Collection.from_records(name, records, failures, empty, files, time.perf_counter() - t0)
        try:
            coll.write(folder / f"{name}.npz")
        except OSError as err:
            print(f"corpus: could not write the cache for {name!r} ({err}); it stays in memory only",
                  file=sys.stderr)
        built[name] = coll
        report.collections[name] = {"files": files, "works": len(coll.works), "notes": len(coll.pitch),
                                    "failures": len(coll.failures), "empty": len(coll.empty),
                                    "seconds": round(coll.seconds, 1)}
        report.failures.extend(coll.failures)

    def collect(source: str, records, failures, empty) -> None:
        name = source.split("/", 1)[0]
        results[name][0].extend(records)
        results[name][1].extend(failures)
        results[name][2].extend(empty)
        remaining[name] -= 1
        if remaining[name] == 0:
            finish(name)

    for name in [n for n, k in remaining.items() if k == 0]:
        finish(name)
    bar = tqdm(total=len(ordered), desc=f"parsing {', '.join(names)}"[:60] if len(names) < 4
               else f"parsing {len(names)} collections", unit="file", disable=not progress)
    try:
        if workers == 1 or len(ordered) <= 1:
            for task in ordered:
                collect(*_parse_task(task))
                bar.update()
        else:
            import multiprocessing

            context = multiprocessing.get_context("spawn")  # safe after torch/Jupyter threads
            with context.Pool(min(workers, len(ordered))) as pool:
                for result in pool.imap_unordered(_parse_task, ordered, chunksize=1):
                    collect(*result)
                    bar.update()
    finally:
        bar.close()
    report.seconds = time.perf_counter() - started
    report.failures.sort()
    return built, report


def build_cache(
    collections: list[str] | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> BuildReport:
    """Parse music21's corpus (or some collections) and write the cache, in parallel.

    Each collection's file is written as soon as it is complete, so an
    interrupted build keeps what it finished. Failures are listed, never raised.

    Args:
        collections: folder names (see :func:`available_collections`); None for all.
        cache_dir: the cache root (default ``$COURSE_LIB_CACHE`` or ``~/.cache/course_lib``).
        workers: processes (default: the usable CPUs, at most 8); 1 parses in this process.
        progress: show a progress bar.

    Returns:
        A :class:`BuildReport`; ``print(report)`` gives counts, timing and failures.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    names = _check_collections(collections)
    folder = _cache_folder(cache_dir)
    with _build_lock(folder):
        _, report = _build(names, folder, workers, progress)
    return report



# ----------------------------------------------------------------------------------------
# What load_works asks of the cache
# ----------------------------------------------------------------------------------------
def _read_cached(names: list[str], folder: Path) -> dict[str, _Collection]:
    """The named collections that have a usable cache file: the one in ``folder``, else the one
    the package ships. A file in ``folder`` that is stale or damaged (and not shipped) is reported."""
    loaded: dict[str, _Collection] = {}
    for name in names:
        coll, why = _Collection.read(folder / f"{name}.npz", name)
        if coll is None:  # missing, stale or damaged here: the cache that ships with the package
            coll, _ = _Collection.read(SHIPPED_CACHE / f"{name}.npz", name)
        if coll is not None:
            loaded[name] = coll
        elif why != "missing":
            print(f"corpus: the cache of {name!r} {why}; rebuilding it", file=sys.stderr)
    return loaded


def _parse_into_cache(names: list[str], folder: Path, *, workers: int | None, progress: bool,
                      recheck: bool) -> dict[str, _Collection]:
    """Parse the named collections and write their cache files, one process at a time per folder.

    With ``recheck``, a collection that another process cached while this one waited for the
    lock is read, not parsed again. Failures are printed, never raised.
    """
    loaded: dict[str, _Collection] = {}
    with _build_lock(folder):
        if recheck:
            for name in names:
                coll, _ = _Collection.read(folder / f"{name}.npz", name)
                if coll is not None:
                    loaded[name] = coll
        todo = [name for name in names if name not in loaded]
        if todo:
            if progress:
                print(f"corpus: parsing {len(todo)} collection(s) with music21 into {folder} "
                      "(once; later loads take a second)", file=sys.stderr)
            built, report = _build(todo, folder, workers, progress)
            loaded.update(built)
            if report.failures:
                print(report, file=sys.stderr)
    return loaded
