"""The ``course-lib`` command line.

    course-lib demo --out out/demo           corpus → events → MIDI, WAV, piano roll
    course-lib encode song.mid               print a MIDI file's events
    course-lib corpus --build                build (or check) the corpus cache
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]

DEMO_WORK = "bach/bwv66.6"


def _demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from . import audio, corpus, plots
    from .encoding import PerformanceEncoding
    from .midi import read_midi, write_midi

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.midi:
        performance, name = read_midi(args.midi), Path(args.midi).stem
    else:
        collection = args.work.split("/")[0]
        works = {w.id: w for w in corpus.load_works(collections=[collection], progress=not args.quiet)}
        if args.work not in works:
            close = sorted(works)[:10]
            print(f"error: no work {args.work!r} in collection {collection!r}; e.g. {close}", file=sys.stderr)
            return 2
        work = works[args.work]
        performance, name = work.performance, work.id.replace("/", "_")
        print(f"{work.id}: {work.title!r} by {work.composer} ({work.period}), {len(performance)} notes")

    enc = PerformanceEncoding()
    events = enc.encode(performance)
    decoded = enc.decode(events)
    (out / f"{name}.events.txt").write_text("\n".join(enc.event_names(events)) + "\n")
    write_midi(decoded, out / f"{name}.decoded.mid")
    audio.write_wav(decoded, out / f"{name}.wav")
    fig, _ = plots.compare_rolls(performance, decoded, labels=("original", "decoded from events"))
    fig.savefig(out / f"{name}.pianoroll.png", dpi=100)
    print(f"{len(performance)} notes → {len(events)} events → {len(decoded)} notes")
    print(f"wrote {', '.join(sorted(p.name for p in out.glob(name + '.*')))} to {out}/")
    return 0


def _encode(args: argparse.Namespace) -> int:
    from .encoding import PerformanceEncoding
    from .midi import read_midi

    enc = PerformanceEncoding()
    events = enc.encode(read_midi(args.midi))
    shown = events if args.limit is None else events[: args.limit]
    print("\n".join(enc.event_names(shown)) if args.names else " ".join(map(str, shown.tolist())))
    return 0


def _corpus(args: argparse.Namespace) -> int:
    from . import corpus

    return corpus.main(["--build"] if args.build else [])


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``course-lib``."""
    parser = argparse.ArgumentParser(prog="course-lib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="a work (or MIDI file) through events and back to MIDI, audio, picture")
    demo.add_argument("--out", default="out/demo", help="output folder")
    demo.add_argument("--work", default=DEMO_WORK, help="corpus work id (default %(default)s)")
    demo.add_argument("--midi", help="use this MIDI file instead of a corpus work")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)

    encode = sub.add_parser("encode", help="print the events of a MIDI file")
    encode.add_argument("midi")
    encode.add_argument("--names", action="store_true", help="readable event names, one per line")
    encode.add_argument("--limit", type=int, help="only the first N events")
    encode.set_defaults(run=_encode)

    corpus = sub.add_parser("corpus", help="build or inspect the corpus cache")
    corpus.add_argument("--build", action="store_true")
    corpus.set_defaults(run=_corpus)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as err:  # the library's errors say what to do
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
