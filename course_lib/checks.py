"""Automatic checks for the exercises: a learner's function against the library's.

Each ``check_*`` runs the learner's code on many inputs, compares with the
reference implementation, prints what passed, and raises ``AssertionError`` with
the first input that disagrees (what was expected, what came back).

Notebook: exercises/*.ipynb
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from .encoding import PerformanceEncoding, split_time_shift

__all__ = ["check_split_time_shift", "check_velocity_to_bin", "check_encode"]


def _compare(name: str, learner: Callable, reference: Callable, cases: Iterable[tuple]) -> None:
    cases = list(cases)
    for args in cases:
        expected = reference(*args)
        try:
            got = learner(*args)
        except NotImplementedError:
            raise AssertionError(f"{name}: not attempted yet (it raises NotImplementedError)") from None
        if not np.array_equal(np.asarray(got), np.asarray(expected)):
            raise AssertionError(f"{name}{args}: expected {expected!r}, got {got!r}")
    print(f"✓ {name}: {len(cases)} cases agree with the library")


def check_split_time_shift(fn: Callable[[int, int], list[int]]) -> None:
    """Chapter 1: splitting a silence into TIME_SHIFT events of at most ``max_shift`` steps."""
    cases = [(s, 100) for s in (0, 1, 37, 99, 100, 101, 250, 1000, 1234)] + [(7, 3), (9, 3)]
    _compare("split_time_shift", lambda s, m: list(fn(s, m)), split_time_shift, cases)


def check_velocity_to_bin(fn: Callable[[int], int], bins: int = 32) -> None:
    """Chapter 1: MIDI velocity 1–127 → one of ``bins`` loudness bins."""
    enc = PerformanceEncoding(velocity_bins=bins)
    _compare("velocity_to_bin", lambda v: int(fn(v)), lambda v: int(enc.velocity_to_bin(v)),
             [(v,) for v in range(1, 128)])


def check_encode(fn: Callable, performances: Iterable) -> None:
    """Chapter 1: a whole performance → event ids, against ``PerformanceEncoding().encode``."""
    enc = PerformanceEncoding()
    _compare("encode", lambda p: np.asarray(fn(p)), enc.encode, [(p,) for p in performances])
