"""Measuring cost: peak memory of a computation, median wall time."""

import os

import pytest
import torch

from course_lib import attention
from course_lib.measure import median_seconds, peak_memory_mib


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux only")
def test_peak_memory_measures_the_tensors_a_function_holds():
    def two_tensors():   # 32 MiB, then 32 MiB more while the first is alive
        a = torch.ones(8 * 2 ** 20)
        b = torch.ones(8 * 2 ** 20)
        return float(a.sum() + b.sum())

    assert peak_memory_mib(two_tensors) == pytest.approx(64, abs=4)
    assert attention.peak_memory_mib is peak_memory_mib   # where chapter 7 imports it from


def test_median_seconds_warms_up_then_takes_the_median_of_the_runs():
    calls = []
    seconds = median_seconds(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5 and 0 <= seconds < 1
