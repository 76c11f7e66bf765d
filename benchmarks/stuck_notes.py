"""Stuck notes, measured: the share of generated notes longer than the corpus's 99.9th-percentile
note duration, per shipped model and decoding strategy, against real music — without and with
constrained decoding (``max_note_seconds``, course_lib.constraints.NoteLimit).

    python benchmarks/stuck_notes.py [--models prnn-cpu ...] [--primers 6] [--events 300]

Each strategy continues the same held-out primers (64 events of the evaluation set's test works,
spread over the periods); sampling
draws 4 pieces per primer in one batch, the other strategies one piece (the best or first
beam) per primer. A piece's notes are those sounding in its generated events (a note held from
the primer counts with its whole duration). Prints a report;
copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from course_lib.constraints import continuation_notes, long_notes
from course_lib.corpus import load_works
from course_lib.encoding import PerformanceEncoding
from course_lib.evaluation import EVAL_SET, eval_works
from course_lib.pretrained import load_pretrained, registry
from course_lib.search import generate
from course_lib.windows import EventWindows

ENC = PerformanceEncoding()
PRIMER = 64
STRATEGIES = {   # name → (strategy, options)
    "sample T=1": ("sample", {"num_samples": 4}),
    "greedy": ("greedy", {}),
    "beam 4": ("beam", {"beam_size": 4}),
    "stochastic beam 4": ("stochastic-beam", {"beam_size": 4}),
}


def corpus_limit(works) -> float:
    """The 99.9th percentile of the training works' note durations, in seconds."""
    durations = np.concatenate([w.performance.end - w.performance.start for w in works if w.split == "train"])
    limit = float(np.percentile(durations, 99.9))
    print(f"corpus: {len(durations):,} training notes; 99.9th percentile of their durations {limit:.2f} s "
          f"({(durations > limit).mean():.3%} longer)")
    return limit


def held_out(works, primers: int, events: int, limit: float):
    """``primers`` primers from the test works of the course's evaluation set (course_lib.evaluation),
    spread evenly over the periods, and the real reference: those works' notes, and the real
    continuations of every window cut from them."""
    test_ids = eval_works("period")
    by_id = {w.id: w for w in works}
    windows = {period: EventWindows([by_id[i] for i in ids], PRIMER + events, stride=PRIMER + events)
               for period, ids in test_ids.items()}
    cut = {period: [w[i]["events"].numpy() for i in range(len(w))] for period, w in windows.items()}
    every = [e for period in cut for e in cut[period]]
    test = [by_id[i].performance for ids in test_ids.values() for i in ids]
    print(f"real: the {EVAL_SET} test works          {long_notes(test, limit)}")
    print(f"real: their {events}-event continuations  "
          f"{long_notes([continuation_notes(e[:PRIMER], e[PRIMER:]) for e in every], limit)}")
    rng = np.random.default_rng(0)
    order = {period: rng.permutation(len(c)).tolist() for period, c in cut.items() if len(c)}
    chosen = []
    while len(chosen) < primers and any(order.values()):
        for period in order:
            if order[period] and len(chosen) < primers:
                chosen.append(cut[period][order[period].pop()][:PRIMER])
    print(f"primers: {len(chosen)} of {len(every)} windows of {PRIMER + events} events, periods "
          f"{ {p: len(c) for p, c in cut.items()} }")
    return chosen


def measure(name: str, primers, events: int, limit: float) -> None:
    model = load_pretrained(name).eval()
    spec = model.train_config.control_spec()
    controls = None if spec is None else torch.as_tensor(spec.request())   # every control missing
    for label, (strategy, options) in STRATEGIES.items():
        for max_note in (None, limit):
            started, generator = time.perf_counter(), torch.Generator().manual_seed(0)
            pieces, seconds = [], []
            for primer in primers:
                found = generate(model, primer, events, strategy, controls=controls, generator=generator,
                                 max_note_seconds=max_note, **options)
                for e in found if found.ndim == 2 else [found]:
                    pieces.append(continuation_notes(primer, e))
                    seconds.append(ENC.clock(e)[1] / ENC.steps_per_second)
            rule = f"limit {max_note:g} s" if max_note else "no limit"
            print(f"{name:22s} {label:18s} {rule:10s} {long_notes(pieces, limit)}   "
                  f"(mean {np.mean(seconds):.0f} s of music, {time.perf_counter() - started:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=list(registry()), help="registry names (default: all)")
    parser.add_argument("--primers", type=int, default=6)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")
    works = load_works(progress=False)
    limit = corpus_limit(works)
    primers = held_out(works, args.primers, args.events, limit)
    print(f"{args.events} events after each of {len(primers)} held-out {PRIMER}-event primers; notes longer than "
          f"{limit:g} s: share of notes [95 % Wilson interval]; pieces with one [95 % Wilson interval]")
    for name in args.models:
        measure(name, primers, args.events, limit)


if __name__ == "__main__":
    main()
