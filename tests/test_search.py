import numpy as np
import pytest
import torch

from course_lib.search import filter_logits, greedy, sample


class Toy:
    """A parameter-free model: the next event is always (last + 1) mod 388, with certainty."""

    def step(self, events, controls, state):
        logits = torch.full((len(events), 388), -1e4)
        logits[torch.arange(len(events)), (events + 1) % 388] = 0.0
        return logits, state


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = torch.isfinite(filter_logits(probs.log(), top_p=0.8))
    assert kept.tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(probs.log(), top_p=0.81)).sum() == 3
    assert torch.isfinite(filter_logits(probs.log(), top_k=1)).tolist() == [[True, False, False, False]]


def test_samplers_work_on_any_object_with_a_step():
    assert greedy(Toy(), [10], 5).tolist() == [11, 12, 13, 14, 15]
    assert sample(Toy(), [386], 3, generator=torch.Generator().manual_seed(0)).tolist() == [387, 0, 1]
    assert sample(Toy(), [5], 2, num_samples=3).shape == (3, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"primer": []}, "empty"), ({"primer": [388]}, "0–387"), ({"temperature": 0}, "temperature"),
    ({"top_k": 0}, "top_k"), ({"top_p": 1.5}, "top_p"),
])
def test_bad_arguments_are_clear_errors(kwargs, message):
    args = {"primer": [1], "steps": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        sample(Toy(), **args)


class Shifts:
    """Time shifts of 0.1 s or 0.5 s, equally likely: pieces reach a length at different steps."""

    def step(self, events, controls, state):
        logits = torch.full((len(events), 388), -1e4)
        logits[:, [256 + 9, 256 + 49]] = 0.0
        return logits, state


def test_generate_seconds_stops_each_batched_piece_at_its_own_length():
    from course_lib.encoding import PerformanceEncoding
    from course_lib.search import generate_seconds

    enc = PerformanceEncoding()
    pieces = generate_seconds(Shifts(), 3.0, num_samples=6, generator=torch.Generator().manual_seed(0))
    assert len(pieces) == 6 and len({len(p) for p in pieces}) > 1
    for p in pieces:
        steps, total = enc.clock(p)
        assert total >= 300 and steps[-1] < 300  # the last shift crosses 3 s, none before it did
    one = generate_seconds(Shifts(), 3.0, generator=torch.Generator().manual_seed(0))
    assert one.ndim == 1 and enc.clock(one)[1] >= 300
    with pytest.raises(ValueError, match="num_samples"):
        generate_seconds(Shifts(), 1.0, num_samples=0)
