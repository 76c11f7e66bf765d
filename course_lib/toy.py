"""Hand-written models for teaching and testing the searches: probabilities you can read.

They have the two methods every search uses (``step`` and ``reorder_state``) and no
parameters, so a learner can check a beam search by hand.

Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

__all__ = ["TreeModel", "RandomModel"]


class TreeModel:
    """Next-event probabilities written out for each history.

    Args:
        table: ``{history: {event: probability}}``, a history being the tuple of events
            fed so far (primer included); each row's probabilities must sum to 1.
        vocab_size: number of events (388 like the real models).
        default: the distribution after a history missing from ``table`` (default: all
            mass on event 0).

    The state is the list of each batch row's history.
    """

    def __init__(self, table: Mapping[tuple, Mapping[int, float]], vocab_size: int = 388,
                 default: Mapping[int, float] | None = None) -> None:
        self.vocab_size = vocab_size
        self.table = {tuple(k): dict(v) for k, v in table.items()}
        self.default = dict(default or {0: 1.0})
        for history, row in list(self.table.items()) + [("default", self.default)]:
            if abs(sum(row.values()) - 1.0) > 1e-9 or min(row.values()) < 0:
                raise ValueError(f"the probabilities after {history} must be >= 0 and sum to 1, got {row}")

    def _logits(self, history: tuple) -> torch.Tensor:
        logits = torch.full((self.vocab_size,), -math.inf)
        for event, p in self.table.get(history, self.default).items():
            logits[event] = math.log(p) if p > 0 else -math.inf
        return logits

    def step(self, events: torch.Tensor, controls=None, state=None):
        state = state or [()] * len(events)
        histories = [h + (int(e),) for h, e in zip(state, events)]
        return torch.stack([self._logits(h) for h in histories]), histories

    @staticmethod
    def reorder_state(state, index: torch.Tensor):
        return [state[int(i)] for i in index]

    def probability(self, primer, events) -> float:
        """The model's probability of ``events`` after ``primer``, by the table."""
        history, p = tuple(int(e) for e in primer), 1.0
        for e in events:
            p *= self.table.get(history, self.default).get(int(e), 0.0)
            history += (int(e),)
        return p


class RandomModel:
    """A fixed random distribution after every history: logits drawn from a generator
    seeded by the history itself, so the same history always gets the same distribution.
    ``support`` events (the first ones) have probability > 0; ``sharpness`` scales the logits."""

    def __init__(self, support: int = 388, vocab_size: int = 388, sharpness: float = 2.0, seed: int = 0) -> None:
        self.support, self.vocab_size, self.sharpness, self.seed = support, vocab_size, sharpness, seed

    def _logits(self, history: tuple) -> torch.Tensor:
        g = torch.Generator().manual_seed(hash((self.seed,) + history) % (2 ** 62))
        logits = torch.full((self.vocab_size,), -math.inf)
        logits[: self.support] = self.sharpness * torch.randn(self.support, generator=g)
        return logits

    def step(self, events: torch.Tensor, controls=None, state=None):
        state = state or [()] * len(events)
        histories = [h + (int(e),) for h, e in zip(state, events)]
        return torch.stack([self._logits(h) for h in histories]), histories

    reorder_state = staticmethod(TreeModel.reorder_state)
