"""Trained models that ship with the course, in a small registry.

Each entry names a file in ``course_lib/data/checkpoints/``, its sha256, the command
that reproduces it, what it was trained on and for how long, and its held-out NLL.
A file whose hash does not match is refused, never loaded silently.

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .training import CheckpointError, load_model

__all__ = ["CHECKPOINTS", "registry", "checkpoint_path", "load_pretrained", "sha256"]

CHECKPOINTS = Path(__file__).parent / "data" / "checkpoints"
_REGISTRY = CHECKPOINTS / "registry.json"


def registry() -> dict[str, dict]:
    """Every shipped checkpoint: name → {file, sha256, command, trained_on, steps, valid_nll, ...}."""
    return json.loads(_REGISTRY.read_text()) if _REGISTRY.exists() else {}


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_path(name: str) -> Path:
    """The verified file of a registered checkpoint.

    Raises:
        CheckpointError: unknown name (the message lists the known ones), missing file, or
            a file whose sha256 differs from the registry's.
    """
    entries = registry()
    if name not in entries:
        raise CheckpointError(f"no pretrained model {name!r}; available: {sorted(entries) or 'none'}")
    entry = entries[name]
    path = CHECKPOINTS / entry["file"]
    if not path.exists():
        raise CheckpointError(f"{path}: the file of {name!r} is missing; reproduce it with: {entry['command']}")
    actual = sha256(path)
    if actual != entry["sha256"]:
        raise CheckpointError(
            f"{path}: sha256 {actual[:12]}… does not match the registry's {entry['sha256'][:12]}…; the file is "
            f"damaged or from another version: restore it (git checkout) or reproduce it with: {entry['command']}"
        )
    return path


def load_pretrained(name: str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load a shipped model after checking its hash; ``model.registry_entry`` tells its story.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    model = load_model(checkpoint_path(name), device=device)
    model.registry_entry = registry()[name]
    return model
