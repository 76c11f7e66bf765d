"""A work of the corpus and the lists of them: :class:`Work`, :class:`WorkList`, the split
of a work (by work, never by window), its tune type, and per-period summaries.

Notebook: notebooks/02_teacher_forcing.ipynb (splits),
notebooks/04_time_period_conditioning.ipynb (metadata, summaries),
notebooks/06_rag_jaccard.ipynb (tune type, meter, mode),
notebooks/03_control_signals.ipynb (tempo, form: see :mod:`course_lib.corpus.titles`)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..performance import Performance
from .composers import PERIODS, UNKNOWN

SPLIT_FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}


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
        tempo: quarter notes per minute, None when unknown; ``tempo_source`` says from where:
            ``"score mark"`` (a metronome mark, which the performance follows), ``"title word"``
            or ``"score word"`` (a tempo word such as "Adagio", a rough value), or None.
        form: ``"chorale"``, ``"mass"``, ``"reel"``, ...; None when unknown; ``form_source`` says
            from where: ``"ABC R: field"``, ``"title"``, ``"score words"``, ``"collection"`` or None.
            (Both read by :mod:`course_lib.corpus.titles` from ``data/tempo_words.csv`` and
            ``data/forms.csv``.)
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
    tempo: float | None = None
    tempo_source: str | None = None
    form: str | None = None
    form_source: str | None = None

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
    spaces collapsed, a few variant spellings merged; None for empty or ``"???"``.

    Notebook: notebooks/06_rag_jaccard.ipynb
    """
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
    """The rows of :func:`summary` as a plain-text table with a total line.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    lines = [f"{'period':<12}{'collection':<20}{'works':>7}{'notes':>11}{'hours':>8}"]
    for r in rows:
        lines.append(f"{r['period']:<12}{r['collection']:<20}{r['works']:>7}{r['notes']:>11,}{r['hours']:>8.1f}")
    lines.append(f"{'total':<32}{sum(r['works'] for r in rows):>7}{sum(r['notes'] for r in rows):>11,}"
                 f"{sum(r['hours'] for r in rows):>8.1f}")
    return "\n".join(lines)
