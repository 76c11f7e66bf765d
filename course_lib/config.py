"""A training run, fully described: :class:`TrainConfig` (saved with every checkpoint) and the
training setups it starts from, ``--profile quick`` (a CPU, minutes) and ``--profile full``
(a GPU, the papers' sizes). :mod:`course_lib.training` runs it.

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

from dataclasses import InitVar, asdict, dataclass, field, replace

from .models import dataclass_from_dict, model_kind, model_size, size_name

__all__ = ["TrainConfig", "TRAIN_PROFILES", "profile_config"]


@dataclass(frozen=True)
class TrainConfig:
    """A training run, fully described (saved with every checkpoint).

    Args:
        model: the model's kind, ``prnn``, ``transformer`` or ``music-transformer``
            (:func:`course_lib.models.model_kind`; older spellings are accepted and stored
            in the current one).
        size: the architecture's size, ``small`` or ``large`` (:data:`course_lib.models.SIZES`).
        model_config: the architecture (the size's, unless overridden).
        window: events per training window.
        batch_size: windows per optimizer step (across all processes).
        steps: optimizer steps.
        lr, weight_decay, warmup_steps: AdamW with linear warm-up, then cosine decay to 10 %.
        grad_clip: gradient norm clipping.
        augment: transpose and stretch training windows on the fly.
        scheduled_sampling: the share of inputs replaced by model samples at the end of
            training (0 = pure teacher forcing); it grows linearly from 0.
        eval_every, eval_windows: validate every N steps on this many held-out windows.
        checkpoint_every: write a resumable checkpoint every N steps (and at the end).
        collections: corpus collections to train on (None = all).
        controls: names of the controls fed beside every event (a
            :class:`~course_lib.controls.ControlSpec`); None for an unconditioned model.
        drop_controls: the probability that a control is presented as missing in a
            training window, so the model also learns to do without it.
        seed: seeds the initialisation, the data order, augmentation and sampling.
        profile: the older name of ``size`` (``quick`` is ``small``, ``full`` is ``large``);
            not stored.
    """

    model: str = "prnn"
    size: str = "small"
    model_config: dict = field(default_factory=dict)
    window: int = 128
    batch_size: int = 32
    steps: int = 200
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 30
    grad_clip: float = 1.0
    augment: bool = True
    scheduled_sampling: float = 0.0
    eval_every: int = 100
    eval_windows: int = 256
    checkpoint_every: int = 100
    collections: tuple[str, ...] | None = None
    controls: tuple[str, ...] | None = None
    drop_controls: float = 0.5
    seed: int = 0
    profile: InitVar[str | None] = None

    def __post_init__(self, profile: str | None) -> None:
        object.__setattr__(self, "model", model_kind(self.model))
        object.__setattr__(self, "size", size_name(profile if profile is not None else self.size))
        if not self.model_config:
            object.__setattr__(self, "model_config", model_size(self.model, self.size))
        if self.collections is not None:
            object.__setattr__(self, "collections", tuple(self.collections))
        if self.controls is not None:
            object.__setattr__(self, "controls", tuple(self.controls))
        size = self.control_spec().size if self.controls else 0
        if self.model_config.get("control_dim", 0) != size:
            object.__setattr__(self, "model_config", {**self.model_config, "control_dim": size})
        if not 0.0 <= self.scheduled_sampling <= 1.0:
            raise ValueError(f"scheduled_sampling must be in [0, 1], got {self.scheduled_sampling}")
        for name, least in (("window", 2), ("batch_size", 1), ("steps", 1), ("eval_every", 1), ("eval_windows", 1),
                            ("checkpoint_every", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be a whole number ≥ {least}, got {value!r}")

    def differences(self, other: "TrainConfig") -> dict:
        """{field: (this value, the other's)} for every field where the two configs differ."""
        mine, theirs = self.to_dict(), other.to_dict()
        return {k: (v, theirs[k]) for k, v in mine.items() if v != theirs[k]}

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("collections", "controls"):
            d[key] = list(d[key]) if d[key] is not None else None
        return d

    def control_spec(self):
        """The :class:`~course_lib.controls.ControlSpec` of ``controls`` (None without controls)."""
        from .controls import ControlSpec

        return ControlSpec(self.controls) if self.controls else None

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """The config a checkpoint or ``config.json`` stores (older ones name the size ``profile``)."""
        values = dict(values)
        if "profile" in values:
            values.setdefault("size", values.pop("profile"))
        return dataclass_from_dict(cls, values)


# The training setups, `--profile quick|full`: each trains its size of architecture.
TRAIN_PROFILES = {
    # The small model for 200 steps: chapter 2 trains it live and prints how long it took.
    "quick": TrainConfig(size="small"),
    # The Performance RNN (3 × 512) on a GPU; not yet timed on one (benchmarks/RESULTS.md).
    "full": TrainConfig(
        size="large", window=512, batch_size=64, steps=20_000, lr=1e-3, warmup_steps=500,
        eval_every=1000, eval_windows=2048, checkpoint_every=1000,
    ),
}


def profile_config(profile: str, **overrides) -> TrainConfig:
    """The training setup (profile) ``'quick'`` or ``'full'``, with fields overridden: e.g.
    ``model='music-transformer'`` (its own architecture, at the setup's size) or ``size='large'``.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    if profile not in TRAIN_PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(TRAIN_PROFILES)}")
    base = TRAIN_PROFILES[profile]
    if "model" in overrides:
        overrides["model"] = model_kind(overrides["model"])
    if "size" in overrides:
        overrides["size"] = size_name(overrides["size"])
    if any(overrides.get(k, getattr(base, k)) != getattr(base, k) for k in ("model", "size")):
        overrides.setdefault("model_config", {})  # another model or size: its own architecture
    if profile == "full" and overrides.get("model") in ("music-transformer", "transformer"):
        # the Music Transformer paper's piano setting: windows of 2,048 events
        overrides = {"window": 2048, "batch_size": 16, **overrides}
    return replace(base, **overrides)
