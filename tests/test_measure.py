"""Measuring cost: peak memory of a computation, median wall time."""

import os

import pytest
import torch

from course_lib import attention
from course_lib.measure import median_seconds, peak_memory_mib


TWO_TENSORS = """
import torch
from course_lib.measure import peak_memory_mib

def two_tensors():   # 32 MiB, then 32 MiB more while the first is alive
    a = torch.ones(8 * 2 ** 20)
    b = torch.ones(8 * 2 ** 20)
    return float(a.sum() + b.sum())

for _ in range({junk}):   # 32 MiB tensors made and freed first: the heap then holds free blocks
    junk = [torch.ones(8 * 2 ** 20) for _ in range(3)]
    del junk
print(peak_memory_mib(two_tensors))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux only")
@pytest.mark.parametrize("junk", [0, 3])
def test_peak_memory_measures_the_tensors_a_function_holds(junk):
    # In a fresh interpreter: a test worker's heap, shaped by earlier tests, is not the point here.
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", TWO_TENSORS.format(junk=junk)], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert float(out.split()[-1]) == pytest.approx(64, abs=4)
    assert attention.peak_memory_mib is peak_memory_mib   # where chapter 7 imports it from


def test_median_seconds_warms_up_then_takes_the_median_of_the_runs():
    calls = []
    seconds = median_seconds(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5 and 0 <= seconds < 1
