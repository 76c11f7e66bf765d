"""Checkpoint files: what a training run writes to resume and to be loaded, and reading them
back with a clear error when one is missing, damaged or not a course checkpoint.
(:func:`course_lib.training.load_model` builds the model a checkpoint describes.)

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "save_checkpoint", "read_checkpoint", "unwrap"]

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, damaged, or for another model."""


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(path: Path, *, model: nn.Module, config, optimizer=None, scheduler=None,
                    step: int = 0, rng: dict | None = None, metrics: list | None = None,
                    half: bool = False) -> Path:
    """Write a checkpoint atomically (a crash mid-write leaves the previous one intact).

    Args:
        path: the file to write.
        model: the model (or its DDP wrapper); its weights are saved.
        config: the run's :class:`~course_lib.training.TrainConfig`.
        optimizer, scheduler, step, rng, metrics: with an optimizer, everything a run needs
            to resume exactly (``checkpoint.pt``); without, the weights alone (``model.pt``).
        half: store floating-point weights in fp16 (shipped checkpoints).

    Returns:
        ``path``.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
             for k, v in unwrap(model).state_dict().items()}
    obj = {
        "format": CHECKPOINT_FORMAT,
        "model": config.model,
        "config": json.dumps(config.to_dict()),
        "state_dict": state,
        "step": step,
    }
    if optimizer is not None:
        obj["optimizer"] = optimizer.state_dict()
        obj["scheduler"] = scheduler.state_dict()
        obj["rng"] = rng
        obj["metrics"] = json.dumps(metrics or [])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(obj, path)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The contents of a checkpoint file, or of a run folder's ``model.pt`` (else its
    ``checkpoint.pt``), with ``path`` added; a clear :class:`CheckpointError` otherwise."""
    path = Path(path)
    if path.is_dir():
        for name in ("model.pt", "checkpoint.pt"):
            if (path / name).exists():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path}: no model.pt or checkpoint.pt in this folder; train first "
                                  f"(course-lib train --out {path})")
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        # weights_only: unpickling can run code; this loads tensors and plain data only
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err}); "
                              "it may be truncated: train again or restore it") from None
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a course_lib checkpoint of format {CHECKPOINT_FORMAT}")
    obj["path"] = str(path)
    return obj


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (the model itself otherwise)."""
    return model.module if hasattr(model, "module") else model
