"""Encoding benchmark: MIDI parsing libraries, encode/decode throughput and the
round-trip error over the whole corpus, corpus cache load time.

    python benchmarks/encoding.py [--files 200]

Prints a report; copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from course_lib import corpus
from course_lib.encoding import PerformanceEncoding
from course_lib.midi import read_midi, write_midi


def median_time(fn, repeat: int = 5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def parse_libraries(paths: list[Path]) -> None:
    """Time reading the same MIDI files with each library that is installed."""
    readers = {"symusic (course_lib.midi.read_midi)": lambda p: read_midi(p)}
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
        t = median_time(lambda: [read(p) for p in paths], repeat=3)
        base = base or t
        print(f"  {name:38s} {t:7.3f} s   ({t / base:5.1f}× symusic)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200, help="MIDI files for the parser comparison")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, "
          f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}")

    t = time.perf_counter()
    works = corpus.load_works(progress=False)
    first_load = time.perf_counter() - t
    load = median_time(lambda: corpus.load_works(progress=False), repeat=5)
    notes = sum(len(w.performance) for w in works)
    print(f"corpus: {len(works)} works, {notes:,} notes; load from cache {load:.2f} s (median of 5; "
          f"first call {first_load:.2f} s)")

    enc = PerformanceEncoding()
    perfs = [w.performance for w in works]
    all_events = [enc.encode(p) for p in perfs]
    n_events = sum(len(e) for e in all_events)
    t_enc = median_time(lambda: [enc.encode(p) for p in perfs], repeat=3)
    t_dec = median_time(lambda: [enc.decode(e) for e in all_events], repeat=3)
    print(f"encode: {notes / t_enc:,.0f} notes/s, {n_events / t_enc:,.0f} events/s ({t_enc:.2f} s for the corpus)")
    print(f"decode: {n_events / t_dec:,.0f} events/s, {notes / t_dec:,.0f} notes/s ({t_dec:.2f} s for the corpus)")
    print(f"events per note: {n_events / notes:.2f}; median work length {int(np.median([len(e) for e in all_events]))} events")

    # Round-trip error over the corpus, note by note (matched on pitch and quantised onset).
    onset_err, offset_err, vel_err, lost = [], [], [], 0
    for perf, events in zip(perfs, all_events):
        out = enc.decode(events)
        lost += len(perf) - len(out)
        key_in = np.lexsort((enc.quantize(perf.start), perf.pitch))
        key_out = np.lexsort((enc.quantize(out.start), out.pitch))
        if len(out) != len(perf):
            continue  # duplicates merged: counted in `lost`, errors measured on the other works
        onset_err.append(np.abs(perf.start[key_in] - out.start[key_out]))
        offset_err.append(np.abs(perf.end[key_in] - out.end[key_out]))
        vel_err.append(np.abs(perf.velocity[key_in].astype(int) - out.velocity[key_out]))
    onset_err, offset_err, vel_err = map(np.concatenate, (onset_err, offset_err, vel_err))
    print(f"round trip over {len(onset_err):,} notes: onset error mean {onset_err.mean() * 1e3:.2f} ms, "
          f"max {onset_err.max() * 1e3:.2f} ms; offset error mean {offset_err.mean() * 1e3:.2f} ms, "
          f"max {offset_err.max() * 1e3:.2f} ms; velocity error mean {vel_err.mean():.2f}, max {vel_err.max()}; "
          f"notes merged (same pitch struck twice within 10 ms): {lost:,} of {notes:,}")

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        chosen = rng.choice(len(works), size=min(args.files, len(works)), replace=False)
        paths = [write_midi(works[i].performance, Path(tmp) / f"{i}.mid") for i in chosen]
        n = sum(len(works[i].performance) for i in chosen)
        print(f"MIDI parsing, {len(paths)} corpus works written as MIDI ({n:,} notes), median of 3:")
        parse_libraries(paths)


if __name__ == "__main__":
    main()
