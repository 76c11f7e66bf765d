"""Control and style benchmark: what conditioning costs.

Data loading with and without control vectors (per training window), style features per
20-second excerpt, fitting the period classifier, and generation speed of the conditioned
model against the unconditioned one (both shipped).

    python benchmarks/controls.py

Prints a report; copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import platform
import time

import numpy as np
import torch

from course_lib import corpus
from course_lib.corpus import PERIODS
from course_lib.measure import median_seconds
from course_lib.pretrained import load_pretrained
from course_lib.search import sample
from course_lib.style import PeriodClassifier, excerpts, style_features
from course_lib.windows import EventWindows

CONTROLS = ("density", "velocity", "pitch_classes", "key", "period", "group", "composer")


def data_loading(train_works) -> None:
    from course_lib.controls import ControlSpec

    plain = EventWindows(train_works, 128, augment=True)
    spec = ControlSpec(CONTROLS)
    conditioned = EventWindows(train_works, 128, augment=True, controls=spec, drop_controls=0.5)
    picks = np.random.default_rng(0).choice(len(plain), 300, replace=False)
    t_plain = median_seconds(lambda: [plain[int(i)] for i in picks], repeat=5) / len(picks)
    t_cond = median_seconds(lambda: [conditioned[int(i)] for i in picks], repeat=5) / len(picks)
    print(f"one training window of 129 events (augmented), median of 5 runs over 300 windows:")
    print(f"  events only                    {t_plain * 1e3:6.2f} ms")
    print(f"  events + {spec.size} control values    {t_cond * 1e3:6.2f} ms  ({t_cond / t_plain:.1f}x)")


def features(train_works) -> None:
    parts = [e for w in train_works[::20] for e in excerpts(w.performance, 20, limit=2)]
    t = median_seconds(lambda: [style_features(p) for p in parts], repeat=3) / len(parts)
    print(f"style_features of a 20-second excerpt: {t * 1e3:.2f} ms (median of 3 runs over {len(parts)} excerpts)")
    start = time.perf_counter()
    PeriodClassifier(periods=tuple(p for p in PERIODS if p != "Modern")).fit(train_works, excerpts_per_work=2)
    print(f"PeriodClassifier.fit on {len(train_works):,} training works (2 excerpts each): "
          f"{time.perf_counter() - start:.1f} s (one run)")


def generation() -> None:
    plain, cond = load_pretrained("prnn-cpu"), load_pretrained("prnn-cpu-cond")
    controls = torch.as_tensor(cond.train_config.control_spec().request(density=4, period="Baroque"))
    steps = 300
    for batch in (1, 8):
        t_plain = median_seconds(lambda: sample(plain, [370], steps, num_samples=batch), repeat=3)
        t_cond = median_seconds(lambda: sample(cond, [370], steps, controls=controls, num_samples=batch), repeat=3)
        print(f"sampling {steps} events x {batch}: unconditioned {batch * steps / t_plain:8,.0f} events/s, "
              f"conditioned {batch * steps / t_cond:8,.0f} events/s ({t_cond / t_plain:.2f}x the time)")


if __name__ == "__main__":
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    works = corpus.load_works(progress=False)
    train_works = [w for w in works if w.split == "train"]
    data_loading(train_works)
    features(train_works)
    generation()
