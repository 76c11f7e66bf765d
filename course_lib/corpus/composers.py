"""Composers and periods: who wrote a work, when they were born, and which period that is.

Every folder of music21's corpus the course keeps has a row in
``course_lib/data/composers.csv`` (key, display name, year of birth, period, note);
a folder that mixes composers (``trecento``, ``airdsAirs`` …) has a row per path prefix or
per composer name the score's metadata gives. :func:`composer_table` reads the table,
:class:`_ComposerIndex` finds the row of one work. The table is read when loading, not
stored in the cache, so editing it needs no rebuild.

Notebook: notebooks/04_time_period_conditioning.ipynb
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

PERIODS = ("Medieval", "Renaissance", "Baroque", "Classical", "Romantic", "Modern", "Traditional")
UNKNOWN = "Unknown"  # composer and period of works from load_midi_folder only

_COMPOSERS_CSV = "composers.csv"


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
