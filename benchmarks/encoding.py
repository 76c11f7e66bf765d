"""Encoding benchmark: MIDI parsing libraries, encode/decode throughput and the
round-trip error over the whole corpus, corpus cache load time.

    python benchmarks/encoding.py [--files 200]

Prints a report; copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from course_lib import corpus
from course_lib.encoding import PerformanceEncoding
from course_lib.measure import median_seconds
from course_lib.midi import read_midi, write_midi


def parse_libraries(paths: list[Path]) -> None:
    """Time reading the same MIDI files with each library that is installed."""
    readers = {"course_lib.midi.read_midi (tick-exact)": lambda p: read_midi(p)}
    try:
        import pretty_midi

        readers["pretty_midi"] = lambda p: pretty_midi.PrettyMIDI(str(p))
    except ImportError:
        pass
    try:
        import mido

        readers["mido"] = lambda p: mido.MidiFile(str(p))
    except ImportError:
        pass
    try:
        import miditoolkit

        readers["miditoolkit"] = lambda p: miditoolkit.MidiFile(str(p))
    except ImportError:
        print("  (miditoolkit not installed: skipped)")
    base = None
    for name, read in readers.items():
        t = median_seconds(lambda: [read(p) for p in paths], repeat=3)
        base = base or t
        print(f"  {name:38s} {t:7.3f} s   ({t / base:5.1f}× read_midi)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200, help="MIDI files for the parser comparison")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, "
          f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}")

    t = time.perf_counter()
    works = corpus.load_works(progress=False)
    first_load = time.perf_counter() - t
    load = median_seconds(lambda: corpus.load_works(progress=False), repeat=5)
    notes = sum(len(w.performance) for w in works)
    print(f"corpus: {len(works)} works, {notes:,} notes; load from cache {load:.2f} s (median of 5; "
          f"first call {first_load:.2f} s)")

    enc = PerformanceEncoding()
    perfs = [w.performance for w in works]
    all_events = [enc.encode(p) for p in perfs]
    n_events = sum(len(e) for e in all_events)
    t_enc = median_seconds(lambda: [enc.encode(p) for p in perfs], repeat=3)
    t_dec = median_seconds(lambda: [enc.decode(e) for e in all_events], repeat=3)
    print(f"encode: {notes / t_enc:,.0f} notes/s, {n_events / t_enc:,.0f} events/s ({t_enc:.2f} s for the corpus)")
    print(f"decode: {n_events / t_dec:,.0f} events/s, {notes / t_dec:,.0f} notes/s ({t_dec:.2f} s for the corpus)")
    print(f"events per note: {n_events / notes:.2f}; median work length {int(np.median([len(e) for e in all_events]))} events")

    # Round-trip error over the corpus, separating the keyboard's one-key-per-pitch from quantisation.
    reports = [enc.round_trip_errors(p) for p in perfs]
    onset, offset, vel = (np.concatenate([r[k] for r in reports]) for k in ("onset", "offset", "velocity"))
    merged, shortened = (sum(r[k] for r in reports) for k in ("merged", "shortened"))
    print(f"round trip: {merged:,} unison notes merged ({merged / notes:.2%}), {shortened:,} ended early by a "
          f"new strike ({shortened / notes:.2%}); on the {len(onset):,} kept notes: onset error mean "
          f"{onset.mean() * 1e3:.2f} ms, max {onset.max() * 1e3:.2f} ms; offset error mean "
          f"{offset.mean() * 1e3:.2f} ms, max {offset.max() * 1e3:.2f} ms; velocity error mean "
          f"{vel.mean():.2f}, max {vel.max()}")

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        chosen = rng.choice(len(works), size=min(args.files, len(works)), replace=False)
        paths = [write_midi(works[i].performance, Path(tmp) / f"{i}.mid") for i in chosen]
        n = sum(len(works[i].performance) for i in chosen)
        print(f"MIDI parsing, {len(paths)} corpus works written as MIDI ({n:,} notes), median of 3:")
        parse_libraries(paths)


if __name__ == "__main__":
    main()
