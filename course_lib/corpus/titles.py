"""Tempo and form of a work, read from its title, its score and its collection (chapters 3-4).

The conditioning study the course follows (Meade et al. 2019) took three kinds of control
signal: statistics of the notes, metadata of the data set (composer, year of birth) and
what the pieces' titles say: key, tempo and form. Here a work gets:

``tempo`` (quarter notes per minute) and ``tempo_source``, the first that applies:
    ``"score mark"``  the score's metronome marks, which the corpus performances follow
                      (see :func:`course_lib.corpus.score_to_performance`): the mark that rules
                      the most seconds of the performance (a piece may change tempo);
    ``"title word"``  a tempo word of the title ("Adagio"), from ``data/tempo_words.csv``;
    ``"score word"``  a tempo word over the first bars of the score, from the same table;
    ``None``          nothing says (the performance then plays at ``DEFAULT_QPM``).
    A word gives the middle of its range, so it is a rough value; and a score without a mark
    is played at ``DEFAULT_QPM`` whatever its words say: only a ``"score mark"`` tempo is the
    tempo the notes are played at (the tempo control reads only those, see
    :data:`SOUNDING_TEMPO_SOURCES`).

``form`` and ``form_source``, from ``data/forms.csv`` (the first that applies):
    ``"ABC R: field"`` the tune type of a folk tune (reel, jig, hornpipe, strathspey, ...);
    ``"title"``        a word of the title (fugue, minuet, mass, waltz, march, ...);
    ``"score words"``  the same words over the first bars of the score (a heading "Menuetto");
    ``"collection"``   what a whole folder holds (bach: chorales, palestrina: Masses, ...);
    ``None``           nothing says.

Both tables are read when loading, not stored in the cache: editing them needs no rebuild.

Notebook: notebooks/03_control_signals.ipynb (tempo), notebooks/04_time_period_conditioning.ipynb
(form and coverage)
"""

from __future__ import annotations

import csv
import math
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .composers import PERIODS, UNKNOWN

TEMPO_SOURCES = ("score mark", "title word", "score word")
FORM_SOURCES = ("ABC R: field", "title", "score words", "collection")
SOUNDING_TEMPO_SOURCES = frozenset({"score mark"})  # tempos the corpus performances are played at

# The forms the ``form`` control knows: those with at least MIN_CONTROL_WORKS training works in the
# shipped corpus (tests/test_tempo_form.py recounts them), most works first (ties by name).
MIN_CONTROL_WORKS = 25
CONTROL_FORMS = ("folk song", "mass", "reel", "jig", "hornpipe", "chorale", "march", "strathspey",
                 "slip jig", "madrigal", "air", "sonata movement", "planxty")

_FORMS_CSV = "forms.csv"
_TEMPO_WORDS_CSV = "tempo_words.csv"


def _table(name: str) -> list[dict]:
    text = resources.files("course_lib").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def plain_words(text: str | None) -> str:
    """Text as the tables match it: lower case, accents and ß dropped, every run of
    characters that are not letters a single space, padded with one space each side
    (``"Op.18: Mäßig_bewegt"`` → ``" op massig bewegt "``).

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    if not text:
        return " "
    decomposed = unicodedata.normalize("NFKD", str(text).replace("ß", "ss").replace("ẞ", "ss"))
    letters = "".join(c if c.isalpha() else " " for c in decomposed.lower() if not unicodedata.combining(c))
    return f" {' '.join(letters.split())} "


@dataclass(frozen=True)
class TempoWord:
    """A row of ``data/tempo_words.csv``: a word, its usual range of beats per minute, and
    whether it counts in titles."""

    word: str
    low: float
    high: float
    in_titles: bool

    @property
    def bpm(self) -> float:
        """The geometric middle of the range."""
        return math.sqrt(self.low * self.high)


@lru_cache(maxsize=1)
def tempo_words() -> tuple[TempoWord, ...]:
    """The tempo-word table, longest phrases first (so a phrase wins over the words inside it).

    Raises:
        ValueError: a row with a range that is not 0 < low <= high.

    Notebook: notebooks/03_control_signals.ipynb
    """
    rows = []
    for row in _table(_TEMPO_WORDS_CSV):
        word, low, high = plain_words(row["word"]).strip(), float(row["low"]), float(row["high"])
        if not 0 < low <= high:
            raise ValueError(f"{_TEMPO_WORDS_CSV}: {word!r} has the range {low}-{high}")
        rows.append(TempoWord(word, low, high, row["titles"].strip() == "yes"))
    return tuple(sorted(rows, key=lambda r: -len(r.word.split())))


@dataclass(frozen=True)
class FormRule:
    """A row of ``data/forms.csv``."""

    kind: str
    key: str
    form: str
    note: str = ""


_FORM_KINDS = ("every", "type", "title", "words", "collection")


@lru_cache(maxsize=1)
def form_rules() -> tuple[FormRule, ...]:
    """The rows of the form table, in file order.

    Raises:
        ValueError: a row of an unknown kind.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    rules = []
    for row in _table(_FORMS_CSV):
        kind = row["kind"].strip()
        if kind not in _FORM_KINDS:
            raise ValueError(f"{_FORMS_CSV}: kind {kind!r} is not one of {_FORM_KINDS}")
        key = row["key"].strip() if kind in ("collection", "every") else plain_words(row["key"]).strip()
        rules.append(FormRule(kind, key, row["form"].strip(), (row.get("note") or "").strip()))
    return tuple(rules)


def beat_in_quarters(meter: str | None) -> float:
    """Quarter notes in the beat a tempo word counts: 1.5 in 6/8, 9/8 and 12/8 (compound: three
    eighths a beat), 0.5 in the other eighth meters (3/8), else 1 (x/4, x/2, no meter: a word's
    speeds read as half notes would be twice too fast for alla breve, e.g. a Presto in 2/2).

    Notebook: notebooks/03_control_signals.ipynb
    """
    try:
        top, bottom = (int(x) for x in str(meter).split("/"))
    except ValueError:
        return 1.0
    if bottom < 8:
        return 1.0
    unit = 4.0 / bottom
    return 3 * unit if top in (6, 9, 12) else unit


def tempo_word_in(text: str | None, *, title: bool = False) -> TempoWord | None:
    """The tempo word of a text: the longest phrase of the table found in it, the earliest of
    equally long ones; with ``title``, only the words the table lets count in titles.

    Notebook: notebooks/03_control_signals.ipynb
    """
    words = plain_words(text)
    found = [(len(w.word.split()), words.find(f" {w.word} "), w) for w in tempo_words()
             if (w.in_titles or not title) and f" {w.word} " in words]
    if not found:
        return None
    return min(found, key=lambda f: (-f[0], f[1]))[2]


def work_tempo(record: dict) -> tuple[float | None, str | None]:
    """(quarter notes per minute, source) of a cached work record (see the module's docstring).

    Args:
        record: a work as the cache stores it: ``tempo_marks``, ``title``, ``score_words``, ``meter``.

    Notebook: notebooks/03_control_signals.ipynb
    """
    marks = record.get("tempo_marks") or []
    if marks:
        qpm, _seconds, *_ = max(marks, key=lambda m: m[1])  # the first of equally long ones
        return round(float(qpm), 1), "score mark"
    for text, source, in_title in ((record.get("title"), "title word", True),
                                   (" / ".join(record.get("score_words") or []), "score word", False)):
        word = tempo_word_in(text, title=in_title)
        if word is not None:
            return round(word.bpm * beat_in_quarters(record.get("meter")), 1), source
    return None, None


def work_form(record: dict, collection: str) -> tuple[str | None, str | None]:
    """(form, source) of a cached work record: its collection when every work of it has one form,
    else its ABC R: field, else a title word, else a word over its first bars, else its collection
    (see ``data/forms.csv``).

    Args:
        record: a work as the cache stores it: ``tune_type``, ``title``, ``score_words``, ``source``.
        collection: its corpus folder.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    from .works import normalise_tune_type

    rules = form_rules()
    for rule in rules:
        if rule.kind == "every" and rule.key == collection:
            return rule.form, "collection"
    tune_type = normalise_tune_type(record.get("tune_type"))
    for rule in rules:
        if rule.kind == "type" and tune_type is not None and plain_words(tune_type).strip() == rule.key:
            return rule.form, "ABC R: field"
    for kind, text, source in (("title", record.get("title"), "title"),
                               ("words", " / ".join(record.get("score_words") or []), "score words")):
        words = plain_words(text)
        for rule in rules:
            if rule.kind == kind and f" {rule.key} " in words:
                return rule.form, source
    path = str(record.get("source") or "").rsplit(".", 1)[0]
    matches = [r for r in rules if r.kind == "collection"
               and (r.key == collection or ("/" in r.key and path.startswith(r.key)))]
    if matches:
        return max(matches, key=lambda r: len(r.key)).form, "collection"
    return None, None


def title_metadata(record: dict, collection: str) -> dict:
    """``tempo``, ``tempo_source``, ``form`` and ``form_source`` of a cached work record, as
    :class:`~course_lib.corpus.Work` carries them.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    tempo, tempo_source = work_tempo(record)
    form, form_source = work_form(record, collection)
    return {"tempo": tempo, "tempo_source": tempo_source, "form": form, "form_source": form_source}


def title_coverage(works) -> dict:
    """How many works get a tempo and a form, and from where.

    Args:
        works: e.g. :func:`course_lib.corpus.load_works`.

    Returns:
        ``{"works": n, "tempo_sources": {source or None: works}, "form_sources": {...},
        "forms": {form: works}, "periods": {period: (works with a form, works)}}``.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    periods: dict[str, list[int]] = {}
    for w in works:
        row = periods.setdefault(w.period, [0, 0])
        row[0] += getattr(w, "form", None) is not None
        row[1] += 1
    order = {p: i for i, p in enumerate(PERIODS + (UNKNOWN,))}
    return {
        "works": len(works),
        "tempo_sources": dict(Counter(getattr(w, "tempo_source", None) for w in works).most_common()),
        "form_sources": dict(Counter(getattr(w, "form_source", None) for w in works).most_common()),
        "forms": dict(Counter(w.form for w in works if getattr(w, "form", None)).most_common()),
        "periods": {p: tuple(periods[p]) for p in sorted(periods, key=lambda p: order.get(p, len(order)))},
    }


def format_title_coverage(coverage: dict) -> str:
    """The counts of :func:`title_coverage` as plain-text tables.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    n = max(coverage["works"], 1)

    def share(k: int) -> str:
        return f"{k:>7}{k / n:>8.1%}"

    lines = [f"{coverage['works']} works", "tempo from", *(f"  {str(s):<16}{share(k)}"
                                                           for s, k in coverage["tempo_sources"].items())]
    lines += ["form from", *(f"  {str(s):<16}{share(k)}" for s, k in coverage["form_sources"].items())]
    lines += [f"{'period':<14}{'with a form':>12}{'works':>8}{'share':>8}"]
    lines += [f"{p:<14}{k:>12}{total:>8}{k / max(total, 1):>8.0%}" for p, (k, total) in coverage["periods"].items()]
    lines += [f"{'form':<18}{'works':>7}", *(f"{f:<18}{k:>7}" for f, k in coverage["forms"].items())]
    return "\n".join(lines)


def print_title_coverage(works) -> None:
    """Print where the works' tempos and forms come from, and the forms per period and per form
    (:func:`title_coverage`).

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    print(format_title_coverage(title_coverage(works)))
