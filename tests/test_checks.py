import numpy as np
import pytest

from course_lib import checks
from course_lib.encoding import PerformanceEncoding, split_time_shift

ENC = PerformanceEncoding()


def _transpose(events, k):
    events = events.astype(np.int64)
    keys = events < 256
    events[keys] += k
    return events


def test_reference_answers_pass(capsys):
    checks.check_split_time_shift(split_time_shift)
    checks.check_velocity_to_bin(lambda v: int(ENC.velocity_to_bin(v)))
    checks.check_transpose_events(_transpose)
    assert capsys.readouterr().out.count("✓") == 3


@pytest.mark.parametrize(
    "check, wrong",
    [
        (checks.check_split_time_shift, lambda s, m: [m] * (s // m) + [s % m]),  # appends a 0 shift
        (checks.check_velocity_to_bin, lambda v: v // 4),
        (checks.check_transpose_events, lambda e, k: e + k),  # shifts every event, not just keys
    ],
)
def test_wrong_answers_fail_with_the_first_disagreeing_input(check, wrong):
    with pytest.raises(AssertionError, match="expected"):
        check(wrong)


def test_not_attempted_is_reported():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not attempted"):
        checks.check_split_time_shift(stub)
