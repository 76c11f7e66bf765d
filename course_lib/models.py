"""Sequence models over events. Every model has the same interface:

* ``model(events, controls=None)`` → logits for a whole sequence (training);
* ``model.step(events, controls, state)`` → ``(logits, new_state)``, one event at a
  time without recomputing the prefix (generation); ``state=None`` starts afresh;
* ``model.reorder_state(state, index)`` → the state of batch rows ``index``
  (beam search keeps, drops and duplicates hypotheses with it).

Shapes: ``events`` (B, T) or (B,) for a step; ``controls`` (B, T, C) per event,
(B, C) for the whole sequence, or ``None``; logits (B, T, V) or (B, V).

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

__all__ = ["RNNConfig", "PerformanceRNN", "build_model", "MODEL_NAMES"]


def dataclass_from_dict(cls, values: dict):
    """``cls(**values)``, with a clear error naming unknown fields (e.g. a config file from
    another version of the course)."""
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; allowed: {sorted(names)}")
    return cls(**values)


@dataclass(frozen=True)
class RNNConfig:
    """Everything that defines a PerformanceRNN's shape (saved with every checkpoint).

    Args:
        vocab_size: number of events (388 for the Performance RNN vocabulary).
        embed_dim: size of the event embedding (the paper's one-hot input times a matrix).
        hidden_size: LSTM units per layer.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers and before the output layer.
        control_dim: size of the control vector fed beside every event (0: none).
    """

    vocab_size: int = 388
    embed_dim: int = 128
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.1
    control_dim: int = 0

    @classmethod
    def from_dict(cls, values: dict) -> "RNNConfig":
        return dataclass_from_dict(cls, values)


PROFILES = {
    # Oore et al. 2018: three LSTM layers of 512 units.
    "full": RNNConfig(embed_dim=256, hidden_size=512, num_layers=3, dropout=0.1),
    # Small enough to learn something in about a minute on two CPU cores.
    "quick": RNNConfig(embed_dim=64, hidden_size=256, num_layers=2, dropout=0.0),
}


class PerformanceRNN(nn.Module):
    """An LSTM over Performance-RNN events, with an optional control vector at every step.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """

    def __init__(self, config: RNNConfig = RNNConfig()) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.lstm = nn.LSTM(
            config.embed_dim + config.control_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    @classmethod
    def from_profile(cls, profile: str = "quick", **overrides) -> "PerformanceRNN":
        """Build the ``'quick'`` (CPU) or ``'full'`` (Performance RNN: 3 × 512) model.

        Args:
            profile: ``'quick'`` or ``'full'``.
            overrides: fields of :class:`RNNConfig` to change, e.g. ``control_dim=24``.
        """
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
        return cls(RNNConfig.from_dict({**asdict(PROFILES[profile]), **overrides}))

    # -- the model interface ------------------------------------------------------------
    def forward(self, events: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, T, V) for events (B, T): position t predicts event t + 1."""
        x = self._inputs(events, controls)
        out, _ = self.lstm(x)
        return self.head(self.drop(out))

    def step(self, events: torch.Tensor, controls: torch.Tensor | None = None, state=None):
        """One event per batch row: events (B,) → (logits (B, V), new state).

        The state is the LSTM's ``(h, c)``, each (layers, B, hidden).
        """
        if events.dim() != 1:
            raise ValueError(f"step() takes one event per batch row, shape (B,), got {tuple(events.shape)}")
        if controls is not None and controls.dim() == 2:
            controls = controls[:, None, :]
        x = self._inputs(events[:, None], controls)
        # PyTorch's oneDNN LSTM kernel is several times slower for one step at a time
        # on CPUs (benchmarks/RESULTS.md); the plain kernel is used for steps.
        with _plain_cpu_kernels():
            out, state = self.lstm(x, state)
        return self.head(out[:, 0]), state

    @staticmethod
    def reorder_state(state, index: torch.Tensor):
        """The state of batch rows ``index`` (rows may repeat)."""
        if state is None:
            return None
        h, c = state
        return h.index_select(1, index), c.index_select(1, index)

    # -- helpers ------------------------------------------------------------------------
    def _inputs(self, events: torch.Tensor, controls: torch.Tensor | None) -> torch.Tensor:
        if events.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"events must be integer ids, got {events.dtype}")
        if events.numel() and (int(events.min()) < 0 or int(events.max()) >= self.config.vocab_size):
            raise ValueError(f"event ids must lie in 0–{self.config.vocab_size - 1}")
        x = self.embed(events)
        c_dim = self.config.control_dim
        if c_dim == 0:
            if controls is not None:
                raise ValueError("this model was built without controls (control_dim=0); pass controls=None")
            return x
        if controls is None:
            raise ValueError(f"this model needs a control vector of size {c_dim} at every step")
        if controls.dim() == 2:  # one vector for the whole sequence
            controls = controls[:, None, :].expand(-1, events.shape[1], -1)
        if controls.shape[-1] != c_dim or controls.shape[:2] != events.shape:
            raise ValueError(
                f"controls must have shape (B, T, {c_dim}) or (B, {c_dim}) for events of shape "
                f"{tuple(events.shape)}, got {tuple(controls.shape)}"
            )
        return torch.cat([x, controls.to(x.dtype)], dim=-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@contextlib.contextmanager
def _plain_cpu_kernels():
    """Switch oneDNN off for one step (``mkldnn.flags`` would also warn about TF32 each time)."""
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


MODEL_NAMES = {"performance_rnn": PerformanceRNN}


def build_model(name: str, config: dict):
    """A model from its registered name and config dict (what a checkpoint stores)."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODEL_NAMES)}")
    cls = MODEL_NAMES[name]
    return cls(RNNConfig.from_dict(config))
