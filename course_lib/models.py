"""Sequence models over events. Every model has the same interface:

* ``model(events, controls=None)`` → logits for a whole sequence (training);
* ``model.step(events, controls, state)`` → ``(logits, new_state)``, one event at a
  time without recomputing the prefix (generation); ``state=None`` starts afresh;
* ``model.reorder_state(state, index)`` → the state of batch rows ``index``
  (beam search keeps, drops and duplicates hypotheses with it).

Shapes: ``events`` (B, T) or (B,) for a step; ``controls`` (B, T, C) per event,
(B, C) for the whole sequence, or ``None``; logits (B, T, V) or (B, V).

Notebook: notebooks/02_teacher_forcing.ipynb (the LSTM)
Notebook: notebooks/07_music_transformer.ipynb (the Transformers)
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from .attention import RelativeSelfAttention

__all__ = ["ModelConfig", "RNNConfig", "PerformanceRNN", "TransformerConfig", "MusicTransformer", "Transformer",
           "build_model", "MODEL_KINDS", "KIND_ALIASES", "MODEL_NAMES", "model_kind", "SIZES", "SIZE_ALIASES",
           "size_name", "model_size", "model_profile"]

# The words for a model (one vocabulary for the code, the registry and the command line):
# its *kind* is the architecture (``prnn``, ``transformer``, ``music-transformer``), its *size*
# the architecture's dimensions (``small``: trains on a CPU in minutes; ``large``: the papers'
# sizes, for a GPU). A shipped model's name starts with its kind (course_lib.pretrained).
SIZES = ("small", "large")
# Older spellings, still accepted: a size used to be called a profile, like the training setups.
SIZE_ALIASES = {"quick": "small", "full": "large"}
KIND_ALIASES = {"performance_rnn": "prnn", "performance-rnn": "prnn", "music_transformer": "music-transformer"}


def dataclass_from_dict(cls, values: dict):
    """``cls(**values)``, with a clear error naming unknown fields (e.g. a config file from
    another version of the course)."""
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; allowed: {sorted(names)}")
    return cls(**values)


@dataclass(frozen=True)
class ModelConfig:
    """What every model's config holds: its interface, the events it reads and predicts and the
    controls beside them. :class:`RNNConfig` and :class:`TransformerConfig` add the architecture.

    Args:
        vocab_size: number of events (388 for the Performance RNN vocabulary).
        control_dim: size of the control vector fed beside every event (0: none).
    """

    vocab_size: int = 388
    control_dim: int = 0

    @classmethod
    def from_dict(cls, values: dict):
        """The config from a dict of its fields (what a checkpoint stores)."""
        return dataclass_from_dict(cls, values)

    def to_dict(self) -> dict:
        """The fields as a dict: the vocabulary, the architecture, the controls last (the
        order checkpoints and printed profiles have always had)."""
        values = asdict(self)
        control_dim = values.pop("control_dim")
        return {**values, "control_dim": control_dim}


class _BuiltBySize:
    """``from_size``: a model of its class at a named size (every model kind has one)."""

    kind: str
    config_class: type

    @classmethod
    def from_size(cls, size: str = "small", **overrides):
        """Build the ``'small'`` (CPU) or ``'large'`` (GPU, the paper's dimensions) model.

        Args:
            size: ``'small'`` or ``'large'`` (``'quick'``/``'full'``, the older words, work too).
            overrides: fields of the model's config to change, e.g. ``control_dim=24``.
        """
        return cls(cls.config_class.from_dict({**model_size(cls.kind, size), **overrides}))

    @classmethod
    def from_profile(cls, profile: str = "quick", **overrides):
        """:meth:`from_size` under its older name (``'quick'`` is ``'small'``, ``'full'`` is ``'large'``)."""
        return cls.from_size(size_name(profile, "profile"), **overrides)


@dataclass(frozen=True)
class RNNConfig(ModelConfig):
    """Everything that defines a PerformanceRNN's shape (saved with every checkpoint):
    ``vocab_size`` and ``control_dim`` as in every :class:`ModelConfig`, and

    Args:
        embed_dim: size of the event embedding (the paper's one-hot input times a matrix).
        hidden_size: LSTM units per layer.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers and before the output layer.
    """

    embed_dim: int = 128
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.1


RNN_SIZES = {
    # Oore et al. 2018: three LSTM layers of 512 units.
    "large": RNNConfig(embed_dim=256, hidden_size=512, num_layers=3, dropout=0.1),
    # Small enough to learn something in about a minute on two CPU cores.
    "small": RNNConfig(embed_dim=64, hidden_size=256, num_layers=2, dropout=0.0),
}


class PerformanceRNN(_BuiltBySize, nn.Module):
    """An LSTM over Performance-RNN events, with an optional control vector at every step.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """

    kind, config_class = "prnn", RNNConfig

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
        _check_step_events(events)
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
        _check_events(events, self.config.vocab_size)
        x = self.embed(events)
        controls = _checked_controls(events, controls, self.config.control_dim)
        return x if controls is None else torch.cat([x, controls.to(x.dtype)], dim=-1)

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


# -- Transformers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransformerConfig(ModelConfig):
    """A decoder-only Transformer over events (saved with every checkpoint): ``vocab_size``
    and ``control_dim`` as in every :class:`ModelConfig`, and

    Args:
        d_model, heads, layers, ff: width, attention heads, blocks, feed-forward width.
        dropout: dropout on attention weights, residual branches and embeddings.
        max_distance: relative attention: distances at or beyond it share one embedding
            (so the model runs beyond its training length).
        relative: relative attention (Music Transformer) or absolute sinusoidal
            positions (the paper's baseline Transformer).
    """

    d_model: int = 256
    heads: int = 8
    layers: int = 4
    ff: int = 1024
    dropout: float = 0.1
    max_distance: int = 2048
    relative: bool = True


TRANSFORMER_SIZES = {
    # Close to the paper's piano setting on one GPU (Huang et al. 2018): 6 layers, 512 wide, 8 heads.
    "large": TransformerConfig(d_model=512, heads=8, layers=6, ff=2048, dropout=0.1, max_distance=2048),
    # Small enough to learn something in about two minutes on two CPU cores.
    "small": TransformerConfig(d_model=128, heads=4, layers=3, ff=512, dropout=0.0, max_distance=256),
}


class _Block(nn.Module):
    """Pre-norm Transformer block: x + attention(LN(x)), then x + feed-forward(LN(x))."""

    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.attn = RelativeSelfAttention(c.d_model, c.heads, c.max_distance, c.relative, c.dropout)
        self.ff = nn.Sequential(nn.Linear(c.d_model, c.ff), nn.GELU(), nn.Linear(c.ff, c.d_model))
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.ff(self.norm2(x)))

    def step(self, x: torch.Tensor, cache):
        y, cache = self.attn.step(self.norm1(x), cache)
        x = x + y
        return x + self.ff(self.norm2(x)), cache


class MusicTransformer(_BuiltBySize, nn.Module):
    """A decoder-only Transformer over events with relative attention (Huang et al. 2018),
    controls concatenated to each event's embedding as in the LSTM.

    The state of :meth:`step` is ``(position, [(keys, values) per layer])``: a key/value
    cache, so a step costs O(t·D).

    Notebook: notebooks/07_music_transformer.ipynb
    """

    kind, config_class = "music-transformer", TransformerConfig
    relative = True

    def __init__(self, config: TransformerConfig = TransformerConfig()) -> None:
        super().__init__()
        if config.relative != self.relative:
            config = TransformerConfig.from_dict({**asdict(config), "relative": self.relative})
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.controls_in = nn.Linear(config.control_dim, config.d_model) if config.control_dim else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size)

    def _inputs(self, events: torch.Tensor, controls: torch.Tensor | None, start: int) -> torch.Tensor:
        _check_events(events, self.config.vocab_size)
        x = self.embed(events) * math.sqrt(self.config.d_model)
        controls = _checked_controls(events, controls, self.config.control_dim)
        if controls is not None:
            x = x + self.controls_in(controls.to(x.dtype))
        if not self.relative:
            x = x + _sinusoids(start, events.shape[1], self.config.d_model, x.device).to(x.dtype)
        return self.drop(x)

    def forward(self, events: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, T, V) for events (B, T): position t predicts event t + 1."""
        x = self._inputs(events, controls, 0)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    @torch.no_grad()
    def attention_weights(self, events: torch.Tensor, controls: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Each layer's attention probabilities (B, H, T, T) for ``events`` (B, T)."""
        x = self._inputs(events, controls, 0)
        maps = []
        for block in self.blocks:
            maps.append(block.attn.weights(block.norm1(x)))
            x = block(x)
        return maps

    def step(self, events: torch.Tensor, controls: torch.Tensor | None = None, state=None):
        """One event per batch row: events (B,) → (logits (B, V), new state)."""
        _check_step_events(events)
        position, caches = state if state is not None else (0, [None] * len(self.blocks))
        if controls is not None and controls.dim() == 2:
            controls = controls[:, None, :]
        x = self._inputs(events[:, None], controls, position)
        new = []
        for block, cache in zip(self.blocks, caches):
            x, cache = block.step(x, cache)
            new.append(cache)
        return self.head(self.norm(x))[:, 0], (position + 1, new)

    @staticmethod
    def reorder_state(state, index: torch.Tensor):
        """The state of batch rows ``index`` (rows may repeat)."""
        if state is None:
            return None
        position, caches = state
        return position, [(k.index_select(0, index), v.index_select(0, index)) for k, v in caches]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class Transformer(MusicTransformer):
    """The paper's baseline: the same decoder with absolute (sinusoidal) positions and
    plain fused attention, no relative term.

    Notebook: notebooks/07_music_transformer.ipynb
    """

    kind = "transformer"
    relative = False


def _sinusoids(start: int, length: int, dim: int, device) -> torch.Tensor:
    """Sinusoidal positions start … start + length − 1 (Vaswani et al. 2017), (length, dim)."""
    pos = torch.arange(start, start + length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2], out[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return out


def _check_step_events(events: torch.Tensor) -> None:
    if events.dim() != 1:
        raise ValueError(f"step() takes one event per batch row, shape (B,), got {tuple(events.shape)}")


def _check_events(events: torch.Tensor, vocab_size: int) -> None:
    if events.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"events must be integer ids, got {events.dtype}")
    if events.numel() and (int(events.min()) < 0 or int(events.max()) >= vocab_size):
        raise ValueError(f"event ids must lie in 0–{vocab_size - 1}")


def _checked_controls(events: torch.Tensor, controls: torch.Tensor | None, c_dim: int) -> torch.Tensor | None:
    """Controls (B, T, c_dim) for events (B, T): one vector per sequence (B, c_dim) is repeated
    at every position; None for a model without controls. Every model reads them this way."""
    if c_dim == 0:
        if controls is not None:
            raise ValueError("this model was built without controls (control_dim=0); pass controls=None")
        return None
    if controls is None:
        raise ValueError(f"this model needs a control vector of size {c_dim} at every step")
    if controls.dim() == 2:  # one vector for the whole sequence
        controls = controls[:, None, :].expand(-1, events.shape[1], -1)
    if controls.shape[-1] != c_dim or controls.shape[:2] != events.shape:
        raise ValueError(f"controls must have shape (B, T, {c_dim}) or (B, {c_dim}) for events of shape "
                         f"{tuple(events.shape)}, got {tuple(controls.shape)}")
    return controls


MODEL_KINDS = {"prnn": PerformanceRNN, "transformer": Transformer, "music-transformer": MusicTransformer}
# Every spelling a kind is accepted in, old ones included (what ``--model`` takes).
MODEL_NAMES = {**MODEL_KINDS, **{old: MODEL_KINDS[new] for old, new in KIND_ALIASES.items()}}
_CONFIGS = {PerformanceRNN: (RNNConfig, RNN_SIZES), MusicTransformer: (TransformerConfig, TRANSFORMER_SIZES),
            Transformer: (TransformerConfig, TRANSFORMER_SIZES)}
# The size tables under their older keys (quick, full).
PROFILES = {old: RNN_SIZES[new] for old, new in SIZE_ALIASES.items()}
TRANSFORMER_PROFILES = {old: TRANSFORMER_SIZES[new] for old, new in SIZE_ALIASES.items()}


def model_kind(name: str) -> str:
    """The kind of model ``name`` spells: ``'prnn'``, ``'transformer'`` or ``'music-transformer'``
    (older spellings such as ``'performance_rnn'`` and ``'music_transformer'`` are accepted).

    Raises:
        ValueError: no such kind (the message lists them).
    """
    kind = KIND_ALIASES.get(name, name)
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_KINDS)} "
                         f"(older spellings: {', '.join(KIND_ALIASES)})")
    return kind


def size_name(size: str, word: str = "size") -> str:
    """``'small'`` or ``'large'`` for a size in either spelling (``'quick'``/``'full'`` are the older
    words); ``word`` names the argument in the error message."""
    name = SIZE_ALIASES.get(size, size)
    if name not in SIZES:
        raise ValueError(f"unknown {word} {size!r}; choose one of {', '.join(SIZES)} "
                         f"(or {', '.join(SIZE_ALIASES)}, the older words)")
    return name


def model_size(kind: str, size: str) -> dict:
    """The architecture (a config dict) of a model kind at a size (``'small'`` or ``'large'``)."""
    cls = MODEL_KINDS[model_kind(kind)]
    values = _CONFIGS[cls][1][size_name(size)].to_dict()
    if "relative" in values:
        values["relative"] = cls.relative
    return values


def model_profile(name: str, profile: str) -> dict:
    """:func:`model_size` under its older name: ``profile`` is ``'quick'`` or ``'full'`` (or a size)."""
    return model_size(name, size_name(profile, "profile"))


def build_model(name: str, config: dict):
    """A model from its kind (any spelling) and config dict (what a checkpoint stores)."""
    cls = MODEL_KINDS[model_kind(name)]
    return cls(_CONFIGS[cls][0].from_dict(config))
