"""Measuring what a computation costs: its peak memory on a CPU and its wall time.

Chapter 7 measures the memory the skewing trick saves with :func:`peak_memory_mib`; the
benchmarks (``benchmarks/*.py``) time everything with :func:`median_seconds`.

Notebook: notebooks/07_music_transformer.ipynb
"""

from __future__ import annotations

import statistics
import time

import torch

__all__ = ["peak_memory_mib", "median_seconds"]


def _resident_mib(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its peak) of this process, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _peak_child(fn, warmup: bool, queue) -> None:
    import ctypes

    # A forked child must not enter the OpenMP thread pool its parent started (libgomp is not
    # fork-safe: it would hang), so it computes on one thread.
    torch.set_num_threads(1)
    # glibc keeps freed blocks in its heap and reuses them imperfectly when tensor sizes
    # change from call to call, so the resident size drifts above what is alive. A fixed mmap
    # threshold gives every allocation over 64 KiB its own mapping, handed back when freed:
    # the peak then follows the live tensors, as torch.cuda.max_memory_allocated does.
    # The child also inherits its parent's heap: free blocks there are already resident, and
    # a tensor placed in one would not raise the resident size. malloc_trim hands them back.
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 1024)   # -3: M_MMAP_THRESHOLD
        libc.malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: measure with its allocator as it is
        pass
    if warmup:   # the libraries' one-time start-up and scratch buffers are not fn's memory
        fn()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")   # reset the peak (VmHWM) to what is resident now
    start = _resident_mib("VmRSS")
    fn()
    queue.put(_resident_mib("VmHWM") - start)


def peak_memory_mib(fn, warmup: bool = True) -> float:
    """Extra peak resident memory (MiB) that ``fn()`` needs, measured in a forked child
    process (Linux): its peak RSS minus its RSS just before the call. On a GPU use
    ``torch.cuda.max_memory_allocated``.

    Args:
        fn: the computation, called without arguments.
        warmup: call ``fn`` once first and measure the second call, so one-time start-up
            costs (kernels, thread pools, scratch buffers) are not counted.

    Returns:
        The peak in MiB.

    Notebook: notebooks/07_music_transformer.ipynb
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_peak_child, args=(fn, warmup, queue))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the measured function failed in the child process (exit code {child.exitcode})")
    return float(queue.get())


def median_seconds(fn, repeat: int = 5, warmup: int = 1, sync=lambda: None) -> float:
    """The one timing rule of the benchmarks: warm up, then the median of repeated runs.

    Args:
        fn: the computation, called without arguments.
        repeat: timed runs.
        warmup: untimed runs first.
        sync: waits for queued GPU work before a clock is read (e.g. ``torch.cuda.synchronize``).

    Returns:
        The median wall time of one run, in seconds.
    """
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
