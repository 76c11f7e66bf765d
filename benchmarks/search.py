"""Decoding benchmark: events per second of every strategy, what a batched beam saves
over separate runs, and the oneDNN LSTM kernel for single steps.

    python benchmarks/search.py [--device cpu|cuda] [--steps 200]

Prints a report; copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform

import torch

from course_lib.measure import median_seconds
from course_lib.pretrained import load_pretrained
from course_lib.search import beam_search, greedy, sample, stochastic_beam_search


def strategies(model, primer, steps: int, sync) -> None:
    runs = {
        "greedy": (lambda: greedy(model, primer, steps), 1),
        "sample": (lambda: sample(model, primer, steps), 1),
        "beam 1": (lambda: beam_search(model, primer, steps, 1), 1),
        "beam 4": (lambda: beam_search(model, primer, steps, 4), 4),
        "beam 16": (lambda: beam_search(model, primer, steps, 16), 16),
        "stochastic beam 4": (lambda: stochastic_beam_search(model, primer, steps, 4), 4),
        "stochastic beam 16": (lambda: stochastic_beam_search(model, primer, steps, 16), 16),
    }
    times = {}
    print(f"{steps} events after a {len(primer)}-event primer, median of 5 runs:")
    for name, (fn, width) in runs.items():
        times[name] = median_seconds(fn, repeat=5, sync=sync)
        print(f"  {name:20s} {times[name] * 1e3:8.1f} ms  {steps / times[name]:8,.0f} steps/s  "
              f"{width * steps / times[name]:9,.0f} hypothesis-events/s")
    for k in (4, 16):
        print(f"beam {k} costs {times[f'beam {k}'] / times['greedy']:.1f}x one greedy run; {k} separate greedy "
              f"runs would cost {k}x: the batched beam is {k * times['greedy'] / times[f'beam {k}']:.1f}x cheaper")


def onednn(model, device) -> None:
    if device.type != "cpu":
        return
    from course_lib.models import _plain_cpu_kernels

    for batch in (1, 16):
        events = torch.full((batch,), 60, device=device)
        _, state = model.step(events, None, None)

        def steps(plain: bool):
            def run():
                s = state
                for _ in range(100):
                    with torch.no_grad():
                        if plain:
                            with _plain_cpu_kernels():
                                _, s = model.lstm(model.embed(events[:, None]), s)
                        else:
                            _, s = model.lstm(model.embed(events[:, None]), s)
            return run

        on = median_seconds(steps(False), repeat=5)
        off = median_seconds(steps(True), repeat=5)
        print(f"one LSTM step, batch {batch:2d}: oneDNN {on * 10:.3f} ms, plain kernel {off * 10:.3f} ms "
              f"(oneDNN {on / off:.1f}x the time)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    print(f"machine: {platform.processor() or platform.machine()}, device {device}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")
    model = load_pretrained("prnn-cpu", device=device)
    primer = [370] + [60, 64, 67, 305] * 16
    strategies(model, primer[:64], args.steps, sync)
    onednn(model, device)
