"""The ``course-lib`` command line.

    course-lib demo --out out/demo           corpus → events → MIDI, WAV, piano roll
    course-lib encode song.mid               print a MIDI file's events
    course-lib corpus --build                build (or check) the corpus cache
    course-lib train --profile quick --out runs/prnn
    course-lib generate --checkpoint runs/prnn --seconds 30 --out sample.mid --wav
    course-lib generate --checkpoint prnn-cond --control period=Baroque   a shipped model, by name
    course-lib models                                    what is shipped: names, families, NLL, ...
    course-lib train-all --profile full                  every model the chapters load (make full)
    course-lib check exercises/05_*.ipynb               per exercise: passed / failed / not attempted

The chapters from a shell: chapter 1 (demo, encode), 2 (train), 3–5 (generate, with controls
and a decoding strategy); the workshop (train-all, check). Models go by kind (prnn, transformer,
music-transformer), training setup (--profile quick|full) and size (small|large); shipped ones
by name (prnn-cpu, prnn-cpu-cond, ...; see course-lib models).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

__all__ = ["main", "train_config", "MAX_SECONDS"]

DEMO_WORK = "bach/bwv66.6"
# The longest piece `generate --seconds` makes: an hour (about 30,000 events; minutes on a CPU).
MAX_SECONDS = 3600.0


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


def train_config(args: argparse.Namespace):
    """The :class:`~course_lib.config.TrainConfig` a ``course-lib train`` command line asks for
    (``train-all`` reads its commands back with it, to compare them with a run folder's)."""
    from .training import profile_config

    overrides = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size), ("window", args.window),
                                   ("scheduled_sampling", args.scheduled_sampling), ("seed", args.seed),
                                   ("size", args.size)) if v is not None}
    if args.collections:
        overrides["collections"] = tuple(args.collections)
    if args.controls:
        overrides["controls"] = tuple(args.controls)
    return profile_config(args.profile, model=args.model, **overrides)


def _train(args: argparse.Namespace) -> int:
    from .training import run

    run(train_config(args), args.out, resume=args.resume, overwrite=args.overwrite, device=args.device,
        progress=not args.quiet)
    return 0


def _generate(args: argparse.Namespace) -> int:
    import torch

    from . import audio
    from .encoding import PerformanceEncoding
    from .midi import read_midi, write_midi
    from .pretrained import load
    from .search import generate, get_strategy

    out = _output_file(args.out)
    model = load(args.checkpoint)
    controls = _requested_controls(model, args.control or [])
    enc = PerformanceEncoding()
    primer = enc.encode(read_midi(args.primer), max_events=args.primer_events) if args.primer else None
    strategy = get_strategy(args.strategy)
    options = {name: getattr(args, name) for name in strategy.options if getattr(args, name, None) is not None}
    length = {"seconds": args.seconds} if strategy.stepwise else {"steps": args.events}
    print(f"no note longer than {args.max_note_seconds:g} s (constrained decoding; --max-note-seconds 0 turns it off)"
          if args.max_note_seconds else "no limit on note length (--max-note-seconds none)")
    pieces = generate(model, primer, strategy=args.strategy, every=True, **length, **options, controls=controls,
                      generator=torch.Generator().manual_seed(args.seed), encoding=enc, progress=not args.quiet,
                      max_note_seconds=args.max_note_seconds)
    for rank, events in enumerate(pieces, 1):
        path = out if rank == 1 else out.with_name(f"{out.stem}-{rank}{out.suffix}")
        performance = enc.decode(events)
        write_midi(performance, path)
        print(f"{len(events)} events → {len(performance)} notes, {performance.duration:.1f} s → {path}")
        if args.wav:
            print(f"audio → {audio.write_wav(performance, path.with_suffix('.wav'))}")
    return 0


def _output_file(name: str) -> Path:
    """The MIDI file to write, checked before any music is generated (its folder is created)."""
    out = Path(name)
    if out.is_dir():
        raise ValueError(f"--out {name}: is a folder; give a file name, e.g. --out {out / 'sample.mid'}")
    if out.parent.exists() and not out.parent.is_dir():
        raise ValueError(f"--out {name}: {out.parent} is a file, not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _requested_controls(model, items: list[str]):
    """``NAME=VALUE`` requests → the model's control vector (None for an unconditioned model).
    Controls not named are missing (c0 = 1); each value is read as its row of
    :data:`course_lib.controls.CONTROLS` says."""
    import torch

    spec = model.train_config.control_spec()
    if spec is None:
        if items:
            raise ValueError(f"this model was trained without controls; drop --control {' '.join(items)}")
        return None
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not text:
            raise ValueError(f"--control {item!r}: write NAME=VALUE, e.g. density=6 or period=Baroque "
                             f"(this model reads {', '.join(spec.names)})")
        try:
            values[name] = spec.parse(name, text)
        except ValueError as err:
            raise ValueError(f"--control {item!r}: {name} {err}") from None
        if not _finite(values[name]):
            raise ValueError(f"--control {item!r}: {name} needs finite numbers (no nan or inf)")
    return torch.as_tensor(spec.request(**values))


def _finite(value) -> bool:
    """False for a number (or a list of numbers) holding NaN or ±∞; True for anything else."""
    import numpy as np

    try:
        return bool(np.isfinite(np.asarray(value, dtype=float)).all())
    except (TypeError, ValueError):
        return True   # a label such as a period


def _train_all(args: argparse.Namespace) -> int:
    from .workshop import train_all

    overrides = {"steps": args.steps, "batch_size": args.batch_size, "window": args.window}
    train_all(args.profile, args.out, nproc=args.nproc, only=args.only, overrides=overrides,
              ship_to=args.ship_to, trained_on=args.trained_on, force=args.force)
    return 0


def _models(args: argparse.Namespace) -> int:
    from .pretrained import models_table, shipped_models

    rows = shipped_models(args.folder)
    print(models_table(rows) if rows else f"no model is shipped in {args.folder or 'the package'} yet; "
                                          "see docs/instructor.md (make full)")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .grading import Limits, check_notebooks, format_reports, write_csv

    limits = Limits(memory_mb=args.memory_mb, cpu_seconds=args.cpu_seconds, file_mb=args.file_mb,
                    processes=args.processes, output_mb=args.output_mb)
    reports = check_notebooks(args.notebooks, jobs=args.jobs, timeout=args.timeout, chapter=args.chapter,
                              limits=limits, notebook_timeout=args.notebook_timeout)
    print(format_reports(reports))
    if args.csv:
        print(f"table → {write_csv(reports, args.csv)}")
    if any(r.error and not r.exercises for r in reports):
        return 1
    if args.strict and not all(r.all_passed for r in reports):
        return 1
    return 0


def _corpus(args: argparse.Namespace) -> int:
    from . import corpus

    corpus.report(build=args.build, collections=args.collections, workers=args.workers, cache_dir=args.cache_dir)
    return 0


# -- the subcommands' arguments -------------------------------------------------------------
def _positive_int(text: str) -> int:
    """An argument that must be a whole number ≥ 1 (steps, batch size, events, ...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    """A length of music in seconds: finite, above 0 and at most :data:`MAX_SECONDS`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_SECONDS:,.0f} seconds, got {text}")
    return value


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--out", default="out/demo", help="output folder")
    demo.add_argument("--work", default=DEMO_WORK, help="corpus work id (default %(default)s)")
    demo.add_argument("--midi", help="use this MIDI file instead of a corpus work")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")


def _encode_arguments(encode: argparse.ArgumentParser) -> None:
    encode.add_argument("midi")
    encode.add_argument("--names", action="store_true", help="readable event names, one per line")
    encode.add_argument("--limit", type=int, help="only the first N events")


def _train_arguments(train: argparse.ArgumentParser) -> None:
    from .controls import CONTROLS
    from .models import KIND_ALIASES, MODEL_KINDS, SIZES

    train.add_argument("--model", default="prnn", metavar="KIND",
                       help=f"the model's kind: {', '.join(MODEL_KINDS)} (default %(default)s; older spellings "
                            f"{', '.join(KIND_ALIASES)} work too)")
    train.add_argument("--profile", default="quick", choices=["quick", "full"],
                       help="the training setup: quick (a CPU, minutes) or full (a GPU, the papers' sizes)")
    train.add_argument("--size", choices=SIZES, help="the architecture's size (default: the profile's, small for "
                                                     "quick, large for full)")
    train.add_argument("--out", required=True, help="run folder: checkpoints, metrics.jsonl, model.pt")
    train.add_argument("--resume", action="store_true", help="continue the run in OUT from its checkpoint.pt")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run OUT holds (without this or --resume, such a folder is refused)")
    train.add_argument("--steps", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--window", type=_positive_int)
    train.add_argument("--scheduled-sampling", type=float)
    train.add_argument("--collections", nargs="+", help="corpus collections to train on (default: all)")
    train.add_argument("--controls", nargs="+", help=f"controls fed beside every event: {', '.join(CONTROLS)}")
    train.add_argument("--seed", type=int)
    train.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    train.add_argument("--quiet", action="store_true")


def _max_note_seconds(text: str) -> float | None:
    """``--max-note-seconds``: a number of seconds above 0, or 0 / none / off for no limit."""
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (or none)") from None
    if value == 0:
        return None
    if not 0.01 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be at least 0.01 s (one clock step), or 0/none for no limit; got {text}")
    return value


def _generate_arguments(generate: argparse.ArgumentParser) -> None:
    from .search import DEFAULT_MAX_NOTE_SECONDS, STRATEGIES

    generate.add_argument("--checkpoint", required=True,
                          help="a run folder, a .pt file, or a shipped model's name or family (prnn, prnn-cond, "
                               "music-transformer, prnn-cpu-cond-long, ...: see course-lib models)")
    generate.add_argument("--strategy", default="sample", choices=list(STRATEGIES),
                          help="sample/greedy run for --seconds; the beams for --events and write one MIDI "
                               "file per hypothesis (OUT, OUT-2, ...)")
    generate.add_argument("--beam-size", type=int, default=4)
    generate.add_argument("--events", type=_positive_int, default=500,
                          help="events to generate with the beam strategies")
    generate.add_argument("--seconds", type=_seconds, default=30.0,
                          help=f"seconds of music (above 0, at most {MAX_SECONDS:,.0f}; default %(default)s)")
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument("--top-k", type=int)
    generate.add_argument("--top-p", type=float)
    generate.add_argument("--max-note-seconds", type=_max_note_seconds, default=DEFAULT_MAX_NOTE_SECONDS, metavar="S",
                          help="no note held longer than S seconds: constrained decoding forces its NOTE_OFF "
                               "(default %(default)g, the corpus's 99.9th-percentile note; 0 or none: no limit)")
    generate.add_argument("--control", action="append", metavar="NAME=VALUE",
                          help="a control of a conditioned model, e.g. density=6, period=Baroque, 'key=D minor', "
                               "pitch_classes=1,0,1,0,1,1,0,1,0,1,0,1, tempo=120 (quarter notes per minute), "
                               "form=jig (repeat the option; others are missing; a control the model lacks is an "
                               "error that names the ones it reads)")
    generate.add_argument("--primer", help="a MIDI file whose first events the music continues")
    generate.add_argument("--primer-events", type=_positive_int, default=200)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", default="sample.mid")
    generate.add_argument("--wav", action="store_true", help="also write OUT with .wav")
    generate.add_argument("--quiet", action="store_true")


def _train_all_arguments(train_all: argparse.ArgumentParser) -> None:
    from .pretrained import CHECKPOINTS
    from .workshop import job_names

    train_all.add_argument("--profile", default="full", choices=["quick", "full"])
    train_all.add_argument("--out", default="runs", help="folder of the run folders (default %(default)s)")
    train_all.add_argument("--nproc", type=int, default=1, help="processes per run with torchrun (e.g. GPUs)")
    train_all.add_argument("--only", nargs="+", choices=job_names(), help="only these model families")
    train_all.add_argument("--steps", type=_positive_int, help="override every run's steps (e.g. to rehearse)")
    train_all.add_argument("--batch-size", type=_positive_int)
    train_all.add_argument("--window", type=_positive_int)
    train_all.add_argument("--force", action="store_true",
                           help="train a run folder holding another configuration again, from scratch")
    train_all.add_argument("--ship-to", default=str(CHECKPOINTS),
                           help="checkpoint folder with registry.json (default: the package's)")
    train_all.add_argument("--trained-on", help="the machine, for the registry (default: detected)")


def _check_arguments(check: argparse.ArgumentParser) -> None:
    from .grading import Limits

    limits = Limits()
    check.add_argument("notebooks", nargs="+", help="exercise notebooks, e.g. submissions/*/05_*.ipynb")
    check.add_argument("--chapter", help="the chapter they all are, e.g. 05 (default: each file's name, else its "
                                         "content)")
    check.add_argument("--jobs", type=int, default=1, help="notebooks run at once (each needs a core)")
    check.add_argument("--timeout", type=int, default=600, help="seconds a cell may run")
    check.add_argument("--notebook-timeout", type=int, default=1800, help="seconds a whole notebook may take")
    check.add_argument("--memory-mb", type=int, default=limits.memory_mb,
                       help="address space of each kernel (0: none)")
    check.add_argument("--cpu-seconds", type=int, default=limits.cpu_seconds, help="CPU time of each kernel")
    check.add_argument("--file-mb", type=int, default=limits.file_mb, help="the largest file a notebook may write")
    check.add_argument("--processes", type=int, default=limits.processes,
                       help="processes and threads a notebook may start")
    check.add_argument("--output-mb", type=float, default=limits.output_mb,
                       help="output kept per notebook (millions of characters)")
    check.add_argument("--csv", help="also write one row per exercise to this CSV file")
    check.add_argument("--strict", action="store_true", help="exit 1 unless every exercise passed")


def _models_arguments(models: argparse.ArgumentParser) -> None:
    models.add_argument("--folder", help="a checkpoint folder with its registry.json (default: the package's)")


def _corpus_arguments(corpus: argparse.ArgumentParser) -> None:
    corpus.add_argument("--build", action="store_true", help="parse the corpus again and write the cache first")
    corpus.add_argument("--collections", nargs="+", help="corpus collections (default: all)")
    corpus.add_argument("--workers", type=_positive_int, help="processes for parsing (default: one per core)")
    corpus.add_argument("--cache-dir", help="the cache root (default $COURSE_LIB_CACHE or ~/.cache/course_lib)")


# The subcommands, one row each: name, help, its arguments, what it runs.
SUBCOMMANDS = (
    ("demo", "a work (or MIDI file) through events and back to MIDI, audio, picture", _demo_arguments, _demo),
    ("encode", "print the events of a MIDI file", _encode_arguments, _encode),
    ("train", "train a model on the corpus (works under torchrun too)", _train_arguments, _train),
    ("generate", "sample music from a trained model (a run folder, a file or a shipped name)", _generate_arguments,
     _generate),
    ("models", "list the shipped models: name, family, size, held-out NLL, how and where trained", _models_arguments,
     _models),
    ("train-all", "train and ship every model the chapters load (resumable)", _train_all_arguments, _train_all),
    ("check", "run learners' exercise notebooks; per exercise: passed/failed/not attempted/not run/missing",
     _check_arguments, _check),
    ("corpus", "build or inspect the corpus cache", _corpus_arguments, _corpus),
)


def _parser() -> argparse.ArgumentParser:
    """The ``course-lib`` argument parser, one subparser per row of ``SUBCOMMANDS``."""
    top = argparse.ArgumentParser(prog="course-lib", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    for name, help_text, arguments, run in SUBCOMMANDS:
        command = sub.add_parser(name, help=help_text)
        arguments(command)
        command.set_defaults(run=run)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``course-lib``."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:  # the library's errors say what to do
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:   # a full disk ("No space left on device"), a folder it may not write, ...
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
