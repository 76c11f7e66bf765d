"""music21's scores → performances: which files of music21's corpus become works, how a
score becomes notes in seconds, and the parsing that runs in worker processes.

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
    * A folder without a row in the composer table (:mod:`course_lib.corpus.composers`).

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

What a work's record keeps besides its notes: title, composer as written, meter, key, the ABC
``R:`` field, every metronome mark with the seconds it rules (:func:`_tempo_marks`) and the words
over the first bars (:func:`_score_words`); :mod:`course_lib.corpus.titles` reads the last four
for a work's tempo and form when loading.

Parsing (:func:`_parse_task`, one file or a chunk of ABC tunes) never raises: every error
becomes a failure the build reports. It runs in worker processes started by
:mod:`course_lib.corpus.cache`, which keeps the result.

Notebook: notebooks/01_event_encoding.ipynb (score → performance),
notebooks/04_time_period_conditioning.ipynb (the corpus and its collections)
"""

from __future__ import annotations

import bisect
import contextlib
import io
import sys
import warnings
from functools import lru_cache
from importlib import util
from pathlib import Path, PurePosixPath

import numpy as np

from ..performance import Performance
from .composers import _COMPOSERS_CSV, _ComposerIndex, composer_table

DEFAULT_QPM = 120.0  # quarter notes per minute when a score has no metronome mark
DEFAULT_VELOCITY = 70  # velocity when no dynamic is marked: mf on music21's scale (0.55 * 127)

SKIPPED_FOLDERS = {
    "demos": "music21's demonstration and test files, not repertoire",
    "theoryExercises": "exercise templates, not repertoire",
}
SKIPPED_EXTENSIONS = {".rntxt": "Roman-numeral analysis, not music"}
FORMAT_PREFERENCE = (".mxl", ".musicxml", ".xml", ".krn", ".abc")
ABC_VOICE_FOLDERS = frozenset({"josquin"})
_ABC_TUNES_PER_TASK = 100


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


def _metronome_marks(score) -> dict:
    """The score's metronome marks with a tempo, by offset (quarters); the first one at an offset wins."""
    from music21 import tempo

    found: dict[float, object] = {}
    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        qpm = mark.getQuarterBPM()
        if qpm is not None and qpm > 0:
            found.setdefault(float(mark.getOffsetInHierarchy(score)), mark)
    return found


def _tempo_map(score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (quarters) where the tempo changes, the tempo from there (qpm) and the time (s)."""
    found = {offset: float(mark.getQuarterBPM()) for offset, mark in _metronome_marks(score).items()}
    if 0.0 not in found:
        found[0.0] = DEFAULT_QPM
    offsets = np.array(sorted(found))
    qpm = np.array([found[o] for o in offsets])
    seconds = np.concatenate([[0.0], np.cumsum(np.diff(offsets) * 60.0 / qpm[:-1])])
    return offsets, qpm, seconds


def _quarters_to_seconds(quarters, offsets, qpm, seconds) -> np.ndarray:
    i = np.searchsorted(offsets, quarters, side="right") - 1
    return seconds[i] + (quarters - offsets[i]) * 60.0 / qpm[i]


def _tempo_marks(score, performance: Performance) -> list[list]:
    """Every metronome mark the performance follows, in order: ``[qpm, seconds it rules in the
    performance, its words or None, True when a number is printed]`` (a mark may give only a
    word, for which music21 supplies a number, or only a sounding tempo, no printed number).
    Read by :mod:`course_lib.corpus.titles` to give a work its tempo."""
    marks = _metronome_marks(score)
    if not marks or not len(performance):
        return []
    offsets = np.array(sorted(marks))
    starts = _quarters_to_seconds(offsets, *_tempo_map(score))
    ends = np.append(starts[1:], np.inf)
    last = float(performance.end.max())
    out = []
    for offset, start, end in zip(offsets, starts, ends):
        mark = marks[float(offset)]
        words = None if mark.textImplicit or not mark.text else " ".join(str(mark.text).split())
        printed = mark.number is not None and not mark.numberImplicit
        out.append([round(float(mark.getQuarterBPM()), 3), round(float(max(0.0, min(end, last) - start)), 3),
                    words, bool(printed)])
    return out


def _score_words(score, limit: int = 8) -> list[str]:
    """Text written over the first bars of a score (tempo words, headings such as "Menuetto"):
    the words of text expressions and tempo marks in measures 0 (a pickup) and 1, in order,
    each once, at most ``limit``. Read by :mod:`course_lib.corpus.titles`."""
    from music21 import expressions, tempo

    found: list[tuple[float, str]] = []
    for el in score.recurse().getElementsByClass((expressions.TextExpression, tempo.TempoIndication)):
        text = el.content if isinstance(el, expressions.TextExpression) else getattr(el, "text", None)
        if isinstance(el, tempo.MetronomeMark) and el.textImplicit:
            text = None  # music21's own word for a number, not the score's
        if not text or (el.measureNumber or 0) > 1:
            continue
        found.append((float(el.getOffsetInHierarchy(score)), " ".join(str(text).split())[:60]))
    words = [text for _, text in sorted(found, key=lambda f: f[0])]
    return list(dict.fromkeys(w for w in words if w))[:limit]


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
        "tempo_marks": _tempo_marks(score, performance),
        "score_words": _score_words(score),
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

