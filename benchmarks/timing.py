"""The one timing rule of the benchmarks: warm up, then report the median of repeated runs."""

import statistics
import time


def median_seconds(fn, repeat: int = 5, warmup: int = 1, sync=lambda: None) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` runs;
    ``sync`` waits for queued GPU work before a clock is read."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
