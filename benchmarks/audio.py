"""Benchmark: how fast the course plays and engraves music on a CPU.

Times ``course_lib.audio.synthesize`` (soundfont and sine backends) on two ~150 s
pieces, and ``course_lib.notation.score_svg`` on one Bach chorale. Medians of 5 runs
after one warm-up run.

    python benchmarks/audio.py            # ~20 s, much of it music21 preparing the real piece
    python benchmarks/audio.py --quick    # the synthetic piece only
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile

import numpy as np

from course_lib import audio, notation
from course_lib.measure import median_seconds
from course_lib.performance import Performance

SECONDS = 150.0
SAMPLE_RATE = 22050


def synthetic_piece(seconds: float = SECONDS, seed: int = 0) -> Performance:
    """A dense piano-like texture: ~10 notes/s, chords and runs, velocities 20–120."""
    rng = np.random.default_rng(seed)
    n = int(10 * seconds)
    start = np.sort(rng.uniform(0, seconds - 1, n))
    pitch = np.clip(60 + np.cumsum(rng.integers(-4, 5, n)) % 36 - 18 + rng.integers(-12, 13, n), 21, 108)
    velocity = np.clip(rng.normal(70, 25, n), 20, 120).astype(int)
    return Performance(pitch, velocity, start, start + rng.uniform(0.1, 1.2, n))


def corpus_piece(seconds: float = SECONDS) -> tuple[str, Performance]:
    """A piano piece from music21's corpus, Joplin's Maple Leaf Rag (129 s with its
    repeats), via music21 → MIDI file → course_lib's MIDI reader."""
    import music21

    from course_lib.midi import read_midi

    work = "joplin/maple_leaf_rag"
    score = music21.corpus.parse(work)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "piece.mid")
        score.write("midi", fp=path)
        perf = read_midi(path)
    return work, perf.slice(0.0, seconds)


def bench_synthesis(name: str, perf: Performance) -> None:
    print(f"\n{name}: {perf!r}, {len(np.unique(perf.velocity))} distinct velocities")
    for backend in ("soundfont", "sine"):
        t = median_seconds(lambda backend=backend: audio.synthesize(perf, SAMPLE_RATE, backend))
        assert audio.last_backend == backend
        length = perf.duration + audio.TAIL_SECONDS
        print(f"  synthesize {backend:9s} {t:6.3f} s   {length / t:6.0f}x realtime  ({SAMPLE_RATE} Hz mono)")
    # The price of dynamics: symusic alone ignores velocity, one render of all notes.
    groups, audio.VELOCITY_GROUPS = audio.VELOCITY_GROUPS, 1
    try:
        t = median_seconds(lambda: audio.synthesize(perf, SAMPLE_RATE, "soundfont"))
    finally:
        audio.VELOCITY_GROUPS = groups
    print(f"  (soundfont as one render, velocities ignored: {t:6.3f} s)")


def bench_notation() -> None:
    import music21
    import verovio
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    chorale = music21.corpus.parse("bach/bwv66.6")
    t_all = median_seconds(lambda: notation.score_svg(chorale))
    xml = GeneralObjectExporter(chorale).parse().decode()
    t_xml = median_seconds(lambda: GeneralObjectExporter(chorale).parse())

    def engrave():
        tk = verovio.toolkit()
        tk.setOptions({"pageWidth": 2100, "scale": 40, "adjustPageHeight": True})
        tk.loadData(xml)
        return tk.renderToSVG(1)

    t_verovio = median_seconds(engrave)
    print("\nnotation: bach/bwv66.6 (one page)")
    print(f"  score_svg (music21 → MusicXML → verovio SVG) {t_all:6.3f} s")
    print(f"    of which music21 MusicXML export           {t_xml:6.3f} s")
    print(f"    of which verovio load + render             {t_verovio:6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the music21 corpus piece")
    args = parser.parse_args()
    import symusic

    print(
        f"python {platform.python_version()}, symusic {symusic.__version__}, "
        f"{os.cpu_count()} CPUs, median of 5 runs after a warm-up"
    )
    bench_synthesis("synthetic piano texture", synthetic_piece())
    if not args.quick:
        work, perf = corpus_piece()
        bench_synthesis(work, perf)
    bench_notation()


if __name__ == "__main__":
    main()
