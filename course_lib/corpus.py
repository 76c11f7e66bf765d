"""The default corpus: music21's bundled scores as performances, with composer, period and tags.

music21 ships about 3,200 score files (Trecento to Webern, plus folk collections).
This module turns every usable one into a :class:`Work`: its notes as a
:class:`~course_lib.performance.Performance` (seconds), the composer with year of
birth and period from ``course_lib/data/composers.csv``, and the tags that
chapter 6 retrieves on (meter, key, ABC tune type).

What becomes a work
    * One file is one work, except ABC files that hold many tunes (essenFolksong,
      oneills1850, airdsAirs, miscFolk, nottingham-dataset): each tune is a work,
      with id ``"<file>#<X: number>"``, e.g. ``"essenFolksong/han1#12"``.
      The ABC files of ``josquin`` hold the *voices* of one piece under several
      ``X:`` numbers, so their voices are merged into one work (``ABC_VOICE_FOLDERS``).
    * Ids are the path inside music21's corpus without extension: stable across
      runs and machines.

What is skipped, and why
    * ``.rntxt`` files (bach/choraleAnalyses, monteverdi): Roman-numeral analyses, not music.
    * ``demos/`` and ``theoryExercises/``: music21's test and exercise files (layout
      tests, a chord-symbol test file, a drum sample, a deliberately wrong time signature).
    * The same work encoded twice in one folder (e.g. ``beethoven/opus18no1/movement1``
      as ``.krn`` and ``.mxl``): one format is kept, in the order of ``FORMAT_PREFERENCE``.
    * Works without notes, and files or tunes music21 cannot parse (listed in the build summary).
    * Duplicates: works with the same sequence of pitches as a work with a smaller id
      (the corpus holds identical files under two names, overlapping O'Neill files, and
      Essen variants of one song in other rhythms): without this a piece could sit in
      train and in test. ``load_works(dedupe=False)`` keeps them.

From score to performance (:func:`score_to_performance`)
    * Tempo from the score's metronome marks (sounding tempo included; a mark given only
      as a word counts with music21's number for it, Allegro = 132), else
      ``DEFAULT_QPM`` = 120 quarter notes a minute (music21's and MIDI's default).
    * Velocity from the latest dynamic mark of the part (music21's scale: p = 44,
      mf = 70, f = 89, ff = 108), else ``DEFAULT_VELOCITY`` = 70 (= mf).
    * Tied notes become one note; grace notes (no duration) and chord symbols
      (lead-sheet harmony, not played) are left out; all parts are merged, program 0.
    * Repeats are *not* expanded: every notated bar sounds once. music21's own MIDI export
      expands them, but it was 20-70x slower here (deep copies of the score) and
      fails on badly formed repeats (e.g. chopin/mazurka06-2); repeats add no new music.

The cache
    Parsing with music21 costs about 0.1 s per work, so the corpus is parsed once,
    in parallel, and kept in ``<cache_dir>/corpus/<collection>.npz`` (one file per
    collection: a test can build a small collection fast, and a full build reuses
    it). Each file holds the concatenated note arrays, offsets and a JSON blob of
    metadata, read with ``allow_pickle=False`` (loading never executes code). The
    file records ``CACHE_VERSION`` and music21's version; a missing, stale or
    damaged file is rebuilt with a message. Composer, birth year and period are
    looked up in ``composers.csv`` when loading, not stored in the cache, so
    editing the table needs no rebuild. ``cache_dir`` defaults to
    ``$COURSE_LIB_CACHE``, else ``~/.cache/course_lib``.

Command line: ``python -m course_lib.corpus --build`` (re)builds the cache and prints counts.

Notebook: notebooks/04_time_period_conditioning.ipynb
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import csv
import hashlib
import io
import itertools
import json
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata as _pkg_metadata
from importlib import resources, util
from pathlib import Path, PurePosixPath

import numpy as np

from .midi import MidiError, read_midi
from .performance import Performance

__all__ = [
    "PERIODS",
    "normalise_tune_type",
    "UNKNOWN",
    "DEFAULT_QPM",
    "DEFAULT_VELOCITY",
    "CACHE_VERSION",
    "ComposerInfo",
    "Work",
    "WorkList",
    "BuildReport",
    "composer_table",
    "available_collections",
    "split_of",
    "score_to_performance",
    "load_works",
    "build_cache",
    "load_midi_folder",
    "summary",
    "format_summary",
    "main",
]

PERIODS = ("Medieval", "Renaissance", "Baroque", "Classical", "Romantic", "Modern", "Traditional")
UNKNOWN = "Unknown"  # composer and period of works from load_midi_folder only
DEFAULT_QPM = 120.0  # quarter notes per minute when a score has no metronome mark
DEFAULT_VELOCITY = 70  # velocity when no dynamic is marked: mf on music21's scale (0.55 * 127)
CACHE_VERSION = 1  # bump when the conversion or the cache layout changes
SHIPPED_CACHE = Path(__file__).parent / "data" / "corpus"  # rebuilt by tools/build_shipped_corpus.py

SPLIT_FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}
SKIPPED_FOLDERS = {
    "demos": "music21's demonstration and test files, not repertoire",
    "theoryExercises": "exercise templates, not repertoire",
}
SKIPPED_EXTENSIONS = {".rntxt": "Roman-numeral analysis, not music"}
FORMAT_PREFERENCE = (".mxl", ".musicxml", ".xml", ".krn", ".abc")
ABC_VOICE_FOLDERS = frozenset({"josquin"})
_ABC_TUNES_PER_TASK = 100

_COMPOSERS_CSV = "composers.csv"


# ----------------------------------------------------------------------------------------
# Composers
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComposerInfo:
    """A row of ``course_lib/data/composers.csv``.

    Attributes:
        name: display name ("Johann Sebastian Bach", "Traditional", "Anonymous").
        born: year of birth, None when unknown.
        period: one of :data:`PERIODS`.
        note: free text (approximate dates, why a period was chosen).
    """

    name: str
    born: int | None
    period: str
    note: str = ""


def _composers_text() -> str:
    return resources.files("course_lib").joinpath("data", _COMPOSERS_CSV).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _composer_table_cached() -> tuple[tuple[str, ComposerInfo], ...]:
    lines = [line for line in _composers_text().splitlines() if not line.startswith("#")]
    rows = []
    for row in csv.DictReader(lines):
        key = row["key"].strip()
        period = row["period"].strip()
        if period not in PERIODS:
            raise ValueError(f"{_COMPOSERS_CSV}: row {key!r} has period {period!r}; use one of {PERIODS}")
        born = row["born"].strip()
        rows.append((key, ComposerInfo(row["name"].strip(), int(born) if born else None, period,
                                       (row.get("note") or "").strip())))
    return tuple(rows)


def composer_table() -> dict[str, ComposerInfo]:
    """The composer table: key (folder, ``folder/path-prefix`` or ``folder@Name``) → info.

    Returns:
        A new dict, in file order. The key syntax is explained at the top of
        ``course_lib/data/composers.csv``.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    return dict(_composer_table_cached())


class _ComposerIndex:
    """Finds the composer row of a work: path prefix, then metadata name, then folder."""

    def __init__(self, table: dict[str, ComposerInfo]):
        self.folder: dict[str, ComposerInfo] = {}
        self.prefixes: dict[str, list[tuple[str, ComposerInfo]]] = {}
        self.names: dict[str, list[tuple[str, ComposerInfo]]] = {}
        for key, info in table.items():
            if "@" in key:
                folder, name = key.split("@", 1)
                self.names.setdefault(folder, []).append((name.lower(), info))
            elif "/" in key:
                self.prefixes.setdefault(key.split("/", 1)[0], []).append((key, info))
            else:
                self.folder[key] = info
        for entries in (*self.prefixes.values(), *self.names.values()):
            entries.sort(key=lambda e: -len(e[0]))

    def covers(self, folder: str) -> bool:
        return folder in self.folder or folder in self.prefixes or folder in self.names

    def find(self, source: str, raw_composer: str | None) -> tuple[ComposerInfo | None, str | None]:
        """Returns (info, warning); info is None when nothing matches."""
        folder = source.split("/", 1)[0]
        for prefix, info in self.prefixes.get(folder, []):
            if source.rsplit(".", 1)[0].startswith(prefix):
                return info, None
        if folder in self.names and raw_composer:
            wanted = raw_composer.lower()
            for name, info in self.names[folder]:
                if wanted.startswith(name):
                    return info, None
            default = self.folder.get(folder)
            if default is None:
                return None, f"{source}: composer {raw_composer!r} has no row in {_COMPOSERS_CSV}"
            return (
                ComposerInfo(raw_composer, None, default.period),
                (f"{source}: composer {raw_composer!r} has no row in {_COMPOSERS_CSV}; "
                 f"kept with the folder's period ({default.period})"),
            )
        info = self.folder.get(folder)
        return info, None if info else f"{source}: no row for folder {folder!r} in {_COMPOSERS_CSV}"


# ----------------------------------------------------------------------------------------
# Works and splits
# ----------------------------------------------------------------------------------------
def split_of(work_id: str) -> str:
    """The split of a work, from a stable hash of its id: 80 % train, 10 % valid, 10 % test.

    Splitting by work (never by window) keeps every piece on one side, and
    sha256 (not Python's salted ``hash``) gives the same answer on every machine.

    Args:
        work_id: a :attr:`Work.id`, e.g. ``"bach/bwv66.6"``.

    Returns:
        ``"train"``, ``"valid"`` or ``"test"``.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    digest = hashlib.sha256(work_id.encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    edge = 0.0
    for name, fraction in SPLIT_FRACTIONS.items():
        edge += fraction
        if u < edge:
            return name
    return "test"


@dataclass(frozen=True)
class Work:
    """One piece of the corpus (or of a MIDI folder) with its metadata.

    Attributes:
        id: stable id, the path without extension (``"bach/bwv66.6"``), ``#n`` for
            tune ``X:n`` of a multi-tune ABC file (``"essenFolksong/han1#12"``).
        title: title from the score, else the file name.
        composer: display name; ``"Traditional"`` for folk collections.
        born: the composer's year of birth, None when unknown.
        period: one of :data:`PERIODS` (:data:`UNKNOWN` for :func:`load_midi_folder`).
        collection: corpus folder (``"bach"``, ``"ryansMammoth"``) or MIDI folder name.
        source: path inside music21's corpus, or the MIDI file's path.
        performance: the notes, in seconds.
        meter: first time signature (``"6/8"``), None when absent.
        key: ``"D major"``, ``"E dorian"``; None when absent or when only a bare key
            signature (no mode) is given.
        tune_type: the ABC ``R:`` field verbatim (``"reel"``, ``"jig"``), else None.
    """

    id: str
    title: str
    composer: str
    born: int | None
    period: str
    collection: str
    source: str
    performance: Performance = field(repr=False)
    meter: str | None = None
    key: str | None = None
    tune_type: str | None = None

    @property
    def split(self) -> str:
        """``"train"``, ``"valid"`` or ``"test"`` (see :func:`split_of`)."""
        return split_of(self.id)

    @property
    def type(self) -> str | None:
        """The tune type, normalised (``"REEL"``, ``"Reel."`` → ``"reel"``; ``"slipjig"`` →
        ``"slip jig"``), None when absent or unreadable."""
        return normalise_tune_type(self.tune_type)

    @property
    def mode(self) -> str | None:
        """The mode of the key signature (``"major"``, ``"minor"``, ``"dorian"``, ...), None when unknown."""
        return self.key.split()[-1].lower() if self.key else None


_TYPE_SPELLINGS = {"slipjig": "slip jig", "single jig": "jig", "set dance": "set dance", "hornpipes": "hornpipe",
                   "reels": "reel", "jigs": "jig"}


def normalise_tune_type(text: str | None) -> str | None:
    """A tune type in one spelling: lower case, outer punctuation and brackets dropped,
    spaces collapsed, a few variant spellings merged; None for empty or ``"???"``."""
    if text is None:
        return None
    cleaned = " ".join(text.lower().replace("_", " ").split()).strip(" .,;:!?[](){}\"'")
    if not cleaned or set(cleaned) <= {"?"}:
        return None
    return _TYPE_SPELLINGS.get(cleaned, cleaned)


class WorkList(list):
    """A ``list[Work]`` that also says what was left out.

    Attributes:
        skipped: ``(file or id, reason)`` for every file or work left out.
    """

    def __init__(self, works=(), skipped=()):
        super().__init__(works)
        self.skipped: list[tuple[str, str]] = list(skipped)


# ----------------------------------------------------------------------------------------
# Score → performance
# ----------------------------------------------------------------------------------------
def score_to_performance(score) -> Performance:
    """Turn a music21 score (or part, or stream) into a performance.

    Tempo follows the metronome marks (``DEFAULT_QPM`` before the first one),
    velocity the latest dynamic of each part (``DEFAULT_VELOCITY`` before the
    first one; a velocity set on a note wins). Ties are joined, grace notes and
    chord symbols are left out, repeats are not expanded, all parts are merged.

    Args:
        score: a ``music21.stream.Score``, ``Part`` or ``Stream`` (not an ``Opus``:
            convert each of ``opus.scores``).

    Returns:
        The notes in seconds, program 0.

    Notebook: notebooks/01_event_encoding.ipynb
    """
    from music21 import chord, dynamics, harmony, note, stream

    if isinstance(score, stream.Opus):
        raise TypeError("an Opus holds several works: convert each of opus.scores separately")
    tempo_offsets, tempo_qpm, tempo_seconds = _tempo_map(score)
    parts = list(score.parts) if isinstance(score, stream.Score) else []
    rows: list[list[float]] = []
    for part in parts or [score]:
        base = float(part.getOffsetInHierarchy(score)) if part is not score else 0.0
        flat = part.flatten()
        marks = [(float(d.offset), d.volumeScalar) for d in flat.getElementsByClass(dynamics.Dynamic)]
        mark_offsets = [m[0] for m in marks]
        open_ties: dict[int, int] = {}  # pitch → row of the note its tie continues
        for el in flat.notes:
            length = float(el.duration.quarterLength)
            if length <= 0 or isinstance(el, harmony.Harmony):
                continue  # grace note, or a chord symbol (not played)
            if isinstance(el, chord.Chord):
                keys = [(n.pitch.midi, n.tie or el.tie) for n in el.notes]
            elif isinstance(el, note.Note):
                keys = [(el.pitch.midi, el.tie)]
            else:
                continue  # unpitched percussion
            onset = float(el.offset)
            velocity = _velocity_at(onset, mark_offsets, marks)
            if el.hasVolumeInformation() and el.volume.velocity is not None:
                velocity = el.volume.velocity
            on, off = base + onset, base + onset + length
            for midi, tie in keys:
                if not 0 <= midi <= 127:
                    continue
                kind = tie.type if tie is not None else None
                if kind in ("stop", "continue") and midi in open_ties:
                    row = rows[open_ties[midi]]
                    row[3] = max(row[3], off)
                    if kind == "stop":
                        del open_ties[midi]
                    continue
                rows.append([midi, velocity, on, off])
                if kind in ("start", "continue"):
                    open_ties[midi] = len(rows) - 1
    if not rows:
        return Performance.empty()
    table = np.asarray(rows, dtype=np.float64)
    start = _quarters_to_seconds(table[:, 2], tempo_offsets, tempo_qpm, tempo_seconds)
    end = _quarters_to_seconds(table[:, 3], tempo_offsets, tempo_qpm, tempo_seconds)
    velocity = np.clip(np.round(table[:, 1]), 1, 127)
    return Performance(table[:, 0], velocity, start, end)


def _velocity_at(onset: float, mark_offsets: list[float], marks: list) -> int:
    i = bisect.bisect_right(mark_offsets, onset) - 1
    if i < 0 or marks[i][1] is None:
        return DEFAULT_VELOCITY
    return int(round(127 * marks[i][1]))


def _tempo_map(score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (quarters) where the tempo changes, the tempo from there (qpm) and the time (s)."""
    from music21 import tempo

    found: dict[float, float] = {}
    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        qpm = mark.getQuarterBPM()
        if qpm is not None and qpm > 0:
            found.setdefault(float(mark.getOffsetInHierarchy(score)), float(qpm))
    if 0.0 not in found:
        found[0.0] = DEFAULT_QPM
    offsets = np.array(sorted(found))
    qpm = np.array([found[o] for o in offsets])
    seconds = np.concatenate([[0.0], np.cumsum(np.diff(offsets) * 60.0 / qpm[:-1])])
    return offsets, qpm, seconds


def _quarters_to_seconds(quarters, offsets, qpm, seconds) -> np.ndarray:
    i = np.searchsorted(offsets, quarters, side="right") - 1
    return seconds[i] + (quarters - offsets[i]) * 60.0 / qpm[i]


def _meter_of(score) -> str | None:
    from music21 import meter

    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    return ts.ratioString if ts is not None else None


def _key_of(score) -> str | None:
    from music21 import key

    ks = score.recurse().getElementsByClass(key.KeySignature).first()
    if not isinstance(ks, key.Key):
        return None  # absent, or a bare signature: major or minor is not known
    return f"{ks.tonic.name.replace('-', 'b')} {ks.mode}"


# ----------------------------------------------------------------------------------------
# The corpus files
# ----------------------------------------------------------------------------------------
def _corpus_root() -> Path:
    """music21's corpus folder, found without importing music21 (that takes 0.5 s)."""
    spec = util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("music21 is not installed: pip install 'music21==10.5.*'")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def _music21_version() -> str:
    """music21's major.minor: the course pins ``music21==10.5.*``, and a patch release
    must not throw away the shipped cache."""
    return ".".join(_pkg_metadata.version("music21").split(".")[:2])


@lru_cache(maxsize=1)
def _scan_corpus() -> tuple[dict[str, tuple[str, ...]], tuple[tuple[str, str], ...]]:
    """Corpus files by folder (paths relative to the corpus, '/'-separated), and what was skipped."""
    root = _corpus_root()
    music = set(FORMAT_PREFERENCE) | set(SKIPPED_EXTENSIONS)
    by_stem: dict[str, list[str]] = {}
    skipped: list[tuple[str, str]] = []
    for folder in sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root).as_posix()
            suffix = path.suffix.lower()
            if not path.is_file() or suffix not in music or "__pycache__" in rel:
                continue
            if folder in SKIPPED_FOLDERS:
                skipped.append((rel, SKIPPED_FOLDERS[folder]))
            elif suffix in SKIPPED_EXTENSIONS:
                skipped.append((rel, SKIPPED_EXTENSIONS[suffix]))
            else:
                by_stem.setdefault(rel[: -len(path.suffix)], []).append(rel)
    files: dict[str, list[str]] = {}
    for stem, rels in sorted(by_stem.items()):
        rels.sort(key=lambda r: FORMAT_PREFERENCE.index(PurePosixPath(r).suffix.lower()))
        files.setdefault(stem.split("/", 1)[0], []).append(rels[0])
        skipped.extend((r, f"same work as {rels[0]}") for r in rels[1:])
    return {k: tuple(v) for k, v in files.items()}, tuple(skipped)


def available_collections() -> list[str]:
    """Names of the corpus folders :func:`load_works` can load (kept and in the composer table).

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    files, _ = _scan_corpus()
    index = _ComposerIndex(composer_table())
    return [name for name in files if index.covers(name)]


def _check_collections(collections) -> list[str]:
    allowed = available_collections()
    if collections is None:
        files, _ = _scan_corpus()
        missing = [name for name in files if name not in allowed]
        for name in missing:
            print(
                f"corpus: folder {name!r} ({len(files[name])} files) has no row in "
                f"course_lib/data/{_COMPOSERS_CSV}; it is left out. Add a row key,name,born,period.",
                file=sys.stderr,
            )
        return allowed
    if isinstance(collections, str):
        collections = [collections]
    names = list(dict.fromkeys(collections))
    for name in names:
        if name not in allowed:
            why = f" ({SKIPPED_FOLDERS[name]})" if name in SKIPPED_FOLDERS else ""
            raise ValueError(f"unknown collection {name!r}{why}; choose from: {', '.join(allowed)}")
    return names


# ----------------------------------------------------------------------------------------
# Parsing (runs in worker processes)
# ----------------------------------------------------------------------------------------
def _split_abc(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Header (text before the first ``X:``) and ``(number, text)`` for every tune."""
    header: list[str] = []
    tunes: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("X:"):
            number = stripped[2:].strip()
            tunes.append((str(int(number)) if number.isdigit() else number, [line]))
        elif tunes:
            tunes[-1][1].append(line)
        else:
            header.append(line)
    return "".join(header), [(n, "".join(lines)) for n, lines in tunes]


def _abc_field(text: str, tag: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(tag + ":"):
            value = line[len(tag) + 1:].strip()
            if value:
                return value
    return None


def _record(work_id: str, source: str, score, performance: Performance, tune_type: str | None) -> dict:
    md = score.metadata
    raw = md.composer if md is not None else None
    raw = raw.strip().splitlines()[0].strip() if raw and raw.strip() else None
    title = ((md.title or md.movementName or "") if md is not None else "").strip()
    file_name = PurePosixPath(source).name
    if title in ("", file_name, file_name.rsplit(".", 1)[0]):  # music21's fallback is the file name
        title = work_id.split("/", 1)[-1]
    return {
        "id": work_id,
        "title": title,
        "composer_raw": raw,
        "source": source,
        "meter": _meter_of(score),
        "key": _key_of(score),
        "tune_type": tune_type,
        "notes": performance,
    }


def _merge(performances: list[Performance]) -> Performance:
    return Performance(*(np.concatenate([getattr(p, a) for p in performances])
                         for a in ("pitch", "velocity", "start", "end")))


@contextlib.contextmanager
def _no_beaming():
    """Skip music21's beaming (``Stream.makeBeams``) while parsing: beams change how notes
    are drawn, not when they sound, and the ABC importer spent half its time beaming.
    The original method is restored afterwards."""
    from music21 import stream

    original = stream.Stream.makeBeams

    def no_beams(self, *, inPlace=False, **kwargs):
        return None if inPlace else self

    stream.Stream.makeBeams = no_beams
    try:
        yield
    finally:
        stream.Stream.makeBeams = original


def _parse_task(task: tuple[str, int | None, int | None]) -> tuple[str, list[dict], list[tuple[str, str]], list[str]]:
    """Parse one file (or tunes ``first:last`` of an ABC file).

    Returns:
        (source, records, failures as (source or id, reason), ids of works without notes).
        Never raises: every error becomes a failure.
    """
    source, first, last = task
    records: list[dict] = []
    failures: list[tuple[str, str]] = []
    empty: list[str] = []
    sink = io.StringIO()  # music21 prints warnings; keep them off the progress bar

    def keep(work_id: str, score, perf: Performance, tune_type: str | None) -> None:
        if len(perf):
            records.append(_record(work_id, source, score, perf, tune_type))
        else:
            empty.append(work_id)

    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
            _no_beaming():
        warnings.simplefilter("ignore")
        try:
            from music21 import common, converter, stream

            path = _corpus_root() / source
            stem = source.rsplit(".", 1)[0]
            folder = source.split("/", 1)[0]
            if path.suffix.lower() == ".abc" and folder not in ABC_VOICE_FOLDERS:
                header, tunes = _split_abc(common.readFileEncodingSafe(path))
                if not tunes:
                    failures.append((source, "no tune (no X: line)"))
                several = len(tunes) > 1
                for number, text in tunes[first:last]:
                    work_id = f"{stem}#{number}" if several else stem
                    try:
                        score = converter.parseData(header + text, format="abc")
                        if isinstance(score, stream.Opus):
                            score = score.scores.first()
                        perf = score_to_performance(score)
                    except Exception as err:  # music21 raises many kinds
                        failures.append((work_id, f"{type(err).__name__}: {err}"[:300]))
                        continue
                    keep(work_id, score, perf, _abc_field(text, "R") or _abc_field(header, "R"))
            else:
                parsed = converter.parse(path, forceSource=True)
                if isinstance(parsed, stream.Opus) and folder in ABC_VOICE_FOLDERS:
                    scores = list(parsed.scores)
                    items = [(stem, scores[0], _merge([score_to_performance(s) for s in scores]))]
                elif isinstance(parsed, stream.Opus):
                    items = [(f"{stem}#{i}", s, score_to_performance(s)) for i, s in enumerate(parsed.scores, 1)]
                else:
                    items = [(stem, parsed, score_to_performance(parsed))]
                for work_id, score, perf in items:
                    keep(work_id, score, perf, None)
        except Exception as err:
            failures.append((source, f"{type(err).__name__}: {err}"[:300]))
    return source, records, failures, empty


def _tasks_for(collection: str) -> list[tuple[str, int | None, int | None]]:
    """Files of a collection as parsing tasks; long ABC files are cut into chunks of tunes."""
    files, _ = _scan_corpus()
    tasks: list[tuple[str, int | None, int | None]] = []
    for source in files[collection]:
        if source.endswith(".abc") and collection not in ABC_VOICE_FOLDERS:
            text = (_corpus_root() / source).read_text(encoding="utf-8", errors="replace")
            count = max(1, sum(1 for line in text.splitlines() if line.strip().startswith("X:")))
            for first in range(0, count, _ABC_TUNES_PER_TASK):
                tasks.append((source, first, first + _ABC_TUNES_PER_TASK))
        else:
            tasks.append((source, None, None))
    return tasks


def _task_cost(task: tuple[str, int | None, int | None]) -> float:
    """A rough cost (bytes of the file, or of a chunk of tunes), to start the longest tasks first."""
    source, first, last = task
    return (_corpus_root() / source).stat().st_size if first is None else 1500.0 * (last - first)


# ----------------------------------------------------------------------------------------
# The cache files
# ----------------------------------------------------------------------------------------
def _cache_folder(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is None:
        cache_dir = os.environ.get("COURSE_LIB_CACHE") or Path.home() / ".cache" / "course_lib"
    return Path(cache_dir).expanduser() / "corpus"


def _cache_key(collection: str) -> dict:
    return {"cache_version": CACHE_VERSION, "music21": _music21_version(), "collection": collection}


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
        return cls(name, meta["works"], failures=[tuple(f) for f in meta["failures"]], empty=meta["empty"],
                   files=meta["files"], seconds=meta["build_seconds"], **arrays), ""

    def performances(self) -> list[Performance]:
        o = self.offsets
        return [Performance(self.pitch[a:b], self.velocity[a:b], self.start[a:b], self.end[a:b])
                for a, b in itertools.pairwise(o)]


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
# Loading
# ----------------------------------------------------------------------------------------
def load_works(
    *,
    collections: list[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    rebuild: bool = False,
    progress: bool = True,
    dedupe: bool = True,
    workers: int | None = None,
) -> WorkList:
    """Every usable work of music21's corpus, from the cache (built first when needed).

    Args:
        collections: corpus folders to load, e.g. ``["bach", "ryansMammoth"]``; None for all.
        cache_dir: the cache root (default ``$COURSE_LIB_CACHE`` or ``~/.cache/course_lib``).
        rebuild: parse again even if the cache is valid.
        progress: show a progress bar while parsing.
        dedupe: leave out a work whose sequence of pitches equals that of a work with a
            smaller id (a duplicate, or the same tune in another rhythm or tempo).
        workers: processes for parsing (see :func:`build_cache`).

    Returns:
        A :class:`WorkList` sorted by id; ``.skipped`` lists the works left out and why
        (duplicates, composers missing from the table).

    Raises:
        ValueError: an unknown collection name (the message lists the allowed ones).

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    names = _check_collections(collections)
    folder = _cache_folder(cache_dir)
    loaded: dict[str, _Collection] = {}
    todo = list(names) if rebuild else []
    if not rebuild:
        for name in names:
            coll, why = _Collection.read(folder / f"{name}.npz", name)
            if coll is None:  # missing, stale or damaged here: the cache that ships with the package
                coll, _ = _Collection.read(SHIPPED_CACHE / f"{name}.npz", name)
            if coll is None:
                if why != "missing":
                    print(f"corpus: the cache of {name!r} {why}; rebuilding it", file=sys.stderr)
                todo.append(name)
            else:
                loaded[name] = coll
    if todo:
        with _build_lock(folder):
            if not rebuild:  # another process may have built them while this one waited
                for name in list(todo):
                    coll, _ = _Collection.read(folder / f"{name}.npz", name)
                    if coll is not None:
                        loaded[name] = coll
                        todo.remove(name)
            if todo:
                if progress:
                    print(f"corpus: parsing {len(todo)} collection(s) with music21 into {folder} "
                          "(once; later loads take a second)", file=sys.stderr)
                built, report = _build(todo, folder, workers, progress)
                loaded.update(built)
                if report.failures:
                    print(report, file=sys.stderr)

    index = _ComposerIndex(composer_table())
    works, skipped, warned = [], [], []
    for name in names:
        coll = loaded[name]
        for meta, perf in zip(coll.works, coll.performances()):
            info, warning = index.find(meta["source"], meta["composer_raw"])
            if warning:
                warned.append(warning)
            if info is None:
                skipped.append((meta["id"], warning))
                continue
            works.append((hashlib.sha1(perf.pitch.tobytes()).digest(), Work(
                id=meta["id"], title=meta["title"], composer=info.name, born=info.born,
                period=info.period, collection=name, source=meta["source"], performance=perf,
                meter=meta["meter"], key=meta["key"], tune_type=meta["tune_type"],
            )))
    works.sort(key=lambda hw: hw[1].id)
    kept, first_of = [], {}
    for digest, work in works:
        if dedupe and digest in first_of:
            skipped.append((work.id, f"same pitches as {first_of[digest]}"))
            continue
        first_of.setdefault(digest, work.id)
        kept.append(work)
    if warned:
        shown = "\n  ".join(warned[:10]) + (f"\n  … and {len(warned) - 10} more" if len(warned) > 10 else "")
        print(f"corpus: {len(warned)} composer lookup problem(s):\n  {shown}", file=sys.stderr)
    return WorkList(kept, skipped)


def load_midi_folder(path: str | os.PathLike, *, progress: bool = True) -> WorkList:
    """Every ``.mid``/``.midi`` file under a folder (recursively) as a :class:`Work`.

    The learner's own music goes through the same pipeline as the corpus.
    Composer and period are :data:`UNKNOWN`; the id is the path relative to the
    folder (so splits stay stable); meter, key and tune type are None.

    Args:
        path: a folder.
        progress: show a progress bar, and print a summary of the files left out.

    Returns:
        A :class:`WorkList` of the readable files sorted by id; ``.skipped`` holds
        ``(relative path, reason)`` for every file that could not be read or has no notes.

    Raises:
        NotADirectoryError: ``path`` is not a folder.

    Notebook: notebooks/00_studio.ipynb
    """
    from tqdm.auto import tqdm

    root = Path(path).expanduser()
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder; for a single file use course_lib.midi.read_midi")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".mid", ".midi"))
    works, skipped = [], []
    for file in tqdm(files, desc=f"reading {root.name}", unit="file", disable=not progress):
        rel = file.relative_to(root).as_posix()
        try:
            perf = read_midi(file)
        except (MidiError, OSError) as err:
            skipped.append((rel, str(err)))
            continue
        if not len(perf):
            skipped.append((rel, "no notes"))
            continue
        works.append(Work(id=rel, title=file.stem, composer=UNKNOWN, born=None, period=UNKNOWN,
                          collection=root.name, source=str(file), performance=perf))
    if skipped:
        lines = "\n".join(f"  {rel}: {why}" for rel, why in skipped)
        print(f"load_midi_folder: {len(works)} file(s) read, {len(skipped)} skipped:\n{lines}",
              file=sys.stderr)
    return WorkList(works, skipped)


# ----------------------------------------------------------------------------------------
# Summaries and command line
# ----------------------------------------------------------------------------------------
def summary(works: list[Work]) -> list[dict]:
    """Works, notes and hours of music per period and collection.

    Args:
        works: e.g. the result of :func:`load_works`.

    Returns:
        Rows ``{"period", "collection", "works", "notes", "hours"}`` in period order,
        then by collection (print them with :func:`format_summary`).

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    rows: dict[tuple[str, str], dict] = {}
    for w in works:
        row = rows.setdefault((w.period, w.collection), {"period": w.period, "collection": w.collection,
                                                          "works": 0, "notes": 0, "hours": 0.0})
        row["works"] += 1
        row["notes"] += len(w.performance)
        row["hours"] += w.performance.duration / 3600
    order = {p: i for i, p in enumerate(PERIODS + (UNKNOWN,))}
    out = sorted(rows.values(), key=lambda r: (order.get(r["period"], len(order)), r["collection"]))
    for row in out:
        row["hours"] = round(row["hours"], 2)
    return out


def format_summary(rows: list[dict]) -> str:
    """The rows of :func:`summary` as a plain-text table with a total line."""
    lines = [f"{'period':<12}{'collection':<20}{'works':>7}{'notes':>11}{'hours':>8}"]
    for r in rows:
        lines.append(f"{r['period']:<12}{r['collection']:<20}{r['works']:>7}{r['notes']:>11,}{r['hours']:>8.1f}")
    lines.append(f"{'total':<32}{sum(r['works'] for r in rows):>7}{sum(r['notes'] for r in rows):>11,}"
                 f"{sum(r['hours'] for r in rows):>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m course_lib.corpus [--build] [--collections …] [--cache-dir DIR] [--workers N]``."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="(re)build the cache, then print counts")
    parser.add_argument("--collections", nargs="+", metavar="NAME", help="only these corpus folders")
    parser.add_argument("--cache-dir", help="cache root (default $COURSE_LIB_CACHE or ~/.cache/course_lib)")
    parser.add_argument("--workers", type=int, help="parallel processes (default: usable CPUs, at most 8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.build:
        report = build_cache(args.collections, cache_dir=args.cache_dir, workers=args.workers,
                             progress=not args.no_progress)
        print(report)
    t0 = time.perf_counter()
    works = load_works(collections=args.collections, cache_dir=args.cache_dir, workers=args.workers,
                       progress=not args.no_progress)
    seconds = time.perf_counter() - t0
    print(format_summary(summary(works)))
    print(f"loaded {len(works)} works in {seconds:.2f} s from {_cache_folder(args.cache_dir)}; "
          f"{len(works.skipped)} left out (duplicates, unknown composers)")
    return 0


if __name__ == "__main__":
    # Run through the package module, so that worker processes find _parse_task there.
    from course_lib.corpus import main as _main

    sys.exit(_main())
