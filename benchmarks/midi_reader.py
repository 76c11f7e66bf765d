"""MIDI reader benchmark: the tick-exact reader against the reader it replaced.

The reader before issue 15 let symusic pair notes (first-in-first-out, times as 32-bit
float seconds) and re-paired them afterwards; the reader now walks each track's bytes in
Python and pairs notes in integer ticks with numpy. Three sets of files:

* corpus works written as single-track files by ``write_midi`` (one track, 1 ms ticks);
* corpus works exported by music21 (several tracks, as files from elsewhere look);
* large files: ten works each, joined end to end (tens of thousands of notes a file);
* the MIDI files music21 ships (files written by other programs: pedal, drums, many tracks).

    python benchmarks/midi_reader.py [--works 200] [--exports 40]

Prints medians of alternating timed rounds (after a warm-up) and the ratio to the previous reader,
plus how many notes each reader returns. Copy the report into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
from pathlib import Path

import numpy as np
import symusic

import course_lib.midi
from course_lib import corpus
from course_lib.measure import median_seconds
from course_lib.midi import midi_bytes, read_midi_bytes
from course_lib.performance import Performance


def previous_reader(data: bytes) -> Performance:
    """The reader before issue 15 (kept here only to be timed): symusic's note pairing in
    float seconds, then every note re-paired with the first later release of its pitch."""
    score = symusic.Score.from_midi(data).to("second")
    columns = []
    for track in score.tracks:
        if track.is_drum or len(track.notes) == 0:
            continue
        notes = track.notes.numpy()
        start = notes["time"].astype(np.float64)
        end = start + notes["duration"].astype(np.float64)
        pitch = notes["pitch"].astype(np.int16)
        span = float(max(end.max(), 1.0)) * 2
        offs = np.sort(pitch * span + end)
        i = np.searchsorted(offs, pitch * span + start, side="right")
        found = np.minimum(i, len(offs) - 1)
        same = (i < len(offs)) & (np.floor(offs[found] / span) == pitch)
        end = np.where(same, offs[found] - pitch * span, end)
        if len(track.pedals):
            pedals = track.pedals.numpy()
            down = pedals["time"].astype(np.float64)
            up = down + pedals["duration"].astype(np.float64)
            k = np.clip(np.searchsorted(down, end, side="right") - 1, 0, None)
            end = np.where((down[k] <= end) & (end < up[k]), up[k], end)
        columns.append((pitch, notes["velocity"].astype(np.int16), start, end))
    if not columns:
        return Performance.empty()
    pitch, velocity, start, end = (np.concatenate(c) for c in zip(*columns))
    keep = (end > start) & (velocity > 0)
    return Performance(pitch[keep], velocity[keep], start[keep], end[keep])


def music21_exports(n: int, folder: Path) -> list[bytes]:
    """``n`` random corpus scores written to MIDI by music21 (multi-track files)."""
    import music21

    random.seed(0)
    out = []
    for path in random.sample(music21.corpus.getPaths(), 3 * n):
        if len(out) == n:
            break
        try:
            score = music21.corpus.parse(path)
            if isinstance(score, music21.stream.Opus):
                score = score.scores[0]
            target = folder / f"{len(out):03d}.mid"
            score.write("midi", fp=str(target))
            out.append(target.read_bytes())
        except Exception:  # scores music21 itself cannot expand or export
            continue
    return out


def music21_midi_files() -> list[bytes]:
    """The MIDI files in music21's own folder that read without error."""
    import music21

    out = []
    for path in sorted(Path(music21.__file__).parent.rglob("*.mid")):
        try:
            read_midi_bytes(path.read_bytes())
            previous_reader(path.read_bytes())
        except Exception:  # a damaged test file, there on purpose
            continue
        out.append(path.read_bytes())
    return out


def joined(performances: list[Performance]) -> Performance:
    """Performances played one after the other."""
    parts, offset = [], 0.0
    for perf in performances:
        parts.append((perf.pitch, perf.velocity, perf.start + offset, perf.end + offset))
        offset += perf.duration + 1.0
    return Performance(*(np.concatenate(c) for c in zip(*parts)))


def compare(name: str, files: list[bytes], rounds: int = 9) -> None:
    """Time both readers in alternation (the machine's load shifts between rounds) and
    report the medians and the median of the per-round ratios."""
    notes_before = sum(len(previous_reader(d)) for d in files)
    notes_now = sum(len(read_midi_bytes(d)) for d in files)
    raw = median_seconds(lambda: [symusic.Score.from_midi(d) for d in files])
    rounds_before, rounds_now = [], []
    for _ in range(rounds):
        rounds_before.append(median_seconds(lambda: [previous_reader(d) for d in files], repeat=1))
        rounds_now.append(median_seconds(lambda: [read_midi_bytes(d) for d in files], repeat=1))
    before, now = float(np.median(rounds_before)), float(np.median(rounds_now))
    ratio = float(np.median(np.array(rounds_now) / np.array(rounds_before)))
    fast = sum(course_lib.midi._read_with_symusic(d, *course_lib.midi._chunks(d, ""), "") is not None for d in files)
    print(f"  {name}: {len(files)} files, {notes_now:,} notes ({notes_before:,} before); "
          f"{fast} read through symusic, {len(files) - fast} byte by byte")
    print(f"    symusic parse alone     {raw:7.3f} s")
    print(f"    previous reader         {before:7.3f} s")
    print(f"    tick-exact reader       {now:7.3f} s   ({ratio:.2f}× the previous reader, median of "
          f"{rounds} alternating rounds; {notes_now / now / 1e3:,.0f} k notes/s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--works", type=int, default=200, help="corpus works written as single-track files")
    parser.add_argument("--exports", type=int, default=40, help="corpus works exported by music21")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    works = [w for w in corpus.load_works() if len(w.performance) >= 50]
    random.seed(1)
    sample = random.sample(works, args.works)
    compare("corpus, single-track (write_midi)", [midi_bytes(w.performance) for w in sample])
    with tempfile.TemporaryDirectory() as tmp:
        compare("corpus, exported by music21", music21_exports(args.exports, Path(tmp)))
    big = [midi_bytes(joined([w.performance for w in sample[i:i + 10]])) for i in range(0, 100, 10)]
    compare("large files (ten works joined)", big)
    compare("MIDI files music21 ships", music21_midi_files())


if __name__ == "__main__":
    main()
