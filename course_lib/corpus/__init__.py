"""The default corpus: music21's bundled scores as performances, with composer, period and tags.

music21 ships about 3,200 score files (Trecento to Webern, plus folk collections).
:func:`load_works` turns every usable one into a :class:`Work`: its notes as a
:class:`~course_lib.performance.Performance` (seconds), the composer with year of
birth and period from ``course_lib/data/composers.csv``, and the tags that
chapter 6 retrieves on (meter, key, ABC tune type). :func:`load_midi_folder` does the
same for a folder of the learner's own MIDI files.

Duplicates: a work with the same sequence of pitches as a work with a smaller id is left
out (the corpus holds identical files under two names, overlapping O'Neill files, and
Essen variants of one song in other rhythms): without this a piece could sit in train
and in test. ``load_works(dedupe=False)`` keeps them.

One job a module:
    ``composers``  the composer table and periods: who wrote a work, born when, which period.
    ``works``      :class:`Work`, :class:`WorkList`, the split of a work, summaries.
    ``scores``     music21 → performances: which files become works (and which are
                   skipped, and why), :func:`score_to_performance`, parsing in worker processes.
    ``cache``      the cache files, the build lock, :func:`build_cache`, the shipped cache.
    ``titles``     tempo and form of a work, from its metronome marks, title, score words and
                   collection (``data/tempo_words.csv``, ``data/forms.csv``), and their coverage.
    here           :func:`load_works`, :func:`load_midi_folder`, and :func:`report`.

Command line: ``course-lib corpus --build`` (re)builds the cache and prints counts
(:func:`report`); ``make cache`` runs the same command to rebuild the cache the package ships.

Notebook: notebooks/04_time_period_conditioning.ipynb
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

from ..midi import MidiError, read_midi
from .cache import (
    CACHE_VERSION,
    BuildReport,
    _cache_folder,
    _Collection,
    _parse_into_cache,
    _read_cached,
    build_cache,
)
from .composers import PERIODS, UNKNOWN, ComposerInfo, _ComposerIndex, composer_table
from .scores import DEFAULT_QPM, DEFAULT_VELOCITY, _check_collections, available_collections, score_to_performance
from .titles import (
    CONTROL_FORMS,
    format_title_coverage,
    print_title_coverage,
    title_coverage,
    title_metadata,
    work_form,
    work_tempo,
)
from .works import Work, WorkList, format_summary, normalise_tune_type, split_of, summary

# Importable from here as before the corpus became a package; patch them where they live
# (e.g. ``course_lib.corpus.cache.SHIPPED_CACHE``), since the code there reads them.
from .cache import SHIPPED_CACHE, _build  # noqa: F401
from .scores import (  # noqa: F401
    ABC_VOICE_FOLDERS,
    FORMAT_PREFERENCE,
    SKIPPED_EXTENSIONS,
    SKIPPED_FOLDERS,
    _no_beaming,
    _parse_task,
    _scan_corpus,
)
from .works import SPLIT_FRACTIONS  # noqa: F401

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
    "report",
    "CONTROL_FORMS",
    "title_coverage",
    "format_title_coverage",
    "print_title_coverage",
    "title_metadata",
    "work_tempo",
    "work_form",
]


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
    loaded = {} if rebuild else _read_cached(names, folder)  # the user's cache, else the shipped one
    missing = [name for name in names if name not in loaded]
    if missing:
        loaded |= _parse_into_cache(missing, folder, workers=workers, progress=progress, recheck=not rebuild)
    works, skipped = _with_composers([loaded[name] for name in names])
    if dedupe:
        works, duplicates = _without_duplicates(works)
        skipped += duplicates
    return WorkList(works, skipped)


def _with_composers(collections: list[_Collection]) -> tuple[list[Work], list[tuple[str, str]]]:
    """The cached works as :class:`Work` objects sorted by id, with composer, year of birth and
    period from the composer table; a work whose composer has no row is skipped. Lookup
    problems are printed."""
    index = _ComposerIndex(composer_table())
    works, skipped, warned = [], [], []
    for coll in collections:
        for meta, perf in zip(coll.works, coll.performances()):
            info, warning = index.find(meta["source"], meta["composer_raw"])
            if warning:
                warned.append(warning)
            if info is None:
                skipped.append((meta["id"], warning))
                continue
            works.append(Work(
                id=meta["id"], title=meta["title"], composer=info.name, born=info.born,
                period=info.period, collection=coll.name, source=meta["source"], performance=perf,
                meter=meta["meter"], key=meta["key"], tune_type=meta["tune_type"],
                **title_metadata(meta, coll.name),
            ))
    if warned:
        shown = "\n  ".join(warned[:10]) + (f"\n  … and {len(warned) - 10} more" if len(warned) > 10 else "")
        print(f"corpus: {len(warned)} composer lookup problem(s):\n  {shown}", file=sys.stderr)
    works.sort(key=lambda w: w.id)
    return works, skipped


def _without_duplicates(works: list[Work]) -> tuple[list[Work], list[tuple[str, str]]]:
    """Leave out a work whose sequence of pitches equals that of an earlier one (``works`` is
    sorted by id): a duplicate, or the same tune in another rhythm or tempo."""
    kept, skipped, first_of = [], [], {}
    for work in works:
        digest = hashlib.sha1(work.performance.pitch.tobytes()).digest()
        if digest in first_of:
            skipped.append((work.id, f"same pitches as {first_of[digest]}"))
            continue
        first_of[digest] = work.id
        kept.append(work)
    return kept, skipped


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


def report(
    *,
    build: bool = False,
    collections: list[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> None:
    """Print what the corpus cache holds, after (re)building it when asked: what
    ``course-lib corpus [--build]`` runs.

    Args:
        build: parse the collections again and write the cache first (then print the
            :class:`BuildReport`).
        collections: corpus folders; None for all.
        cache_dir: the cache root (default ``$COURSE_LIB_CACHE`` or ``~/.cache/course_lib``).
        workers: processes for parsing (see :func:`build_cache`).
        progress: show a progress bar while parsing.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    if build:
        print(build_cache(collections, cache_dir=cache_dir, workers=workers, progress=progress))
    t0 = time.perf_counter()
    works = load_works(collections=collections, cache_dir=cache_dir, workers=workers, progress=progress)
    seconds = time.perf_counter() - t0
    print(format_summary(summary(works)))
    print(f"loaded {len(works)} works in {seconds:.2f} s from {_cache_folder(cache_dir)}; "
          f"{len(works.skipped)} left out (duplicates, unknown composers)")
