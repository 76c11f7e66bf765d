"""Checkpoint files: what a training run writes to resume and to be loaded, and reading them
back with a clear error when one is missing, damaged or not a course checkpoint.
(:func:`course_lib.training.load_model` builds the model a checkpoint describes.)

A run folder keeps the sha256 of every checkpoint it saved in ``sha256.json`` (as the
registry does for the shipped ones), and a file whose bytes no longer match is refused. The
bytes that are hashed are the bytes that are loaded: a file is read once, into memory.

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["CHECKPOINT_FORMAT", "HASHES", "RUN_FILES", "CheckpointError", "HashMismatch", "save_checkpoint",
           "read_checkpoint", "sha256", "unwrap", "run_files", "prepare_run_folder", "stored_config"]

CHECKPOINT_FORMAT = 1
HASHES = "sha256.json"   # in a run folder: file name → sha256 of the bytes saved
# What a training run writes in its folder (``course-lib train --overwrite`` removes these, nothing else).
RUN_FILES = ("checkpoint.pt", "model.pt", "metrics.jsonl", "config.json", HASHES)
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, damaged, or for another model."""


class HashMismatch(CheckpointError):
    """A checkpoint whose bytes differ from the sha256 recorded for it."""

    def __init__(self, message: str, *, path: Path, actual: str, expected: str) -> None:
        super().__init__(message)
        self.path, self.actual, self.expected = path, actual, expected


def sha256(path: str | os.PathLike) -> str:
    """The sha256 (hex) of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _HashingWriter:
    """A file that hashes what is written to it (torch.save writes through ``write``)."""

    def __init__(self, file) -> None:
        self.file, self.digest = file, hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


def _atomic_save(obj: dict, path: Path) -> str:
    """Write ``obj`` to ``path`` through ``path.tmp`` (a crash mid-write leaves the previous file
    intact); returns the sha256 of the bytes written. A full disk is said in words, and the
    ``.tmp`` is removed whatever went wrong."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            writer = _HashingWriter(f)
            torch.save(obj, writer)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno in _DISK_FULL:
            raise OSError(err.errno, f"{path}: the disk is full, the checkpoint could not be written "
                                     f"({tmp.name} removed; the previous {path.name}, if any, is intact). "
                                     "Free some space or use another folder, then resume") from None
        raise
    return writer.digest.hexdigest()


def _hashes(folder: Path) -> dict:
    path = folder / HASHES
    if not path.exists():
        return {}
    try:
        hashes = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path}: unreadable ({err}); delete it to load the run's files unchecked") from None
    if not isinstance(hashes, dict):
        raise CheckpointError(f"{path}: not a table of file → sha256; delete it to load the run's files unchecked")
    return hashes


def _record_hash(path: Path, digest: str) -> None:
    """Note ``path``'s sha256 in its folder's ``sha256.json`` (written atomically)."""
    manifest = path.parent / HASHES
    try:
        hashes = _hashes(path.parent)
    except CheckpointError:
        hashes = {}  # a damaged list is replaced by a new one
    hashes[path.name] = digest
    tmp = manifest.with_name(manifest.name + ".tmp")
    tmp.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, manifest)


def save_checkpoint(path: Path, *, model: nn.Module, config, optimizer=None, scheduler=None,
                    step: int = 0, rng: dict | None = None, metrics: list | None = None,
                    half: bool = False, record_hash: bool = True) -> Path:
    """Write a checkpoint atomically (a crash mid-write leaves the previous one intact).

    Args:
        path: the file to write.
        model: the model (or its DDP wrapper); its weights are saved.
        config: the run's :class:`~course_lib.training.TrainConfig`.
        optimizer, scheduler, step, rng, metrics: with an optimizer, everything a run needs
            to resume exactly (``checkpoint.pt``); without, the weights alone (``model.pt``).
        half: store floating-point weights in fp16 (shipped checkpoints).
        record_hash: note the file's sha256 in ``sha256.json`` beside it, checked when it is
            read back (shipped checkpoints have theirs in the registry instead).

    Returns:
        ``path``.

    Raises:
        OSError: the disk is full (the message says so; no ``.tmp`` is left behind).

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
    digest = _atomic_save(obj, path)
    if record_hash:
        _record_hash(path, digest)
    return path


def _checkpoint_file(path: Path) -> Path:
    """The file a path names: itself, or a run folder's ``model.pt`` (else its ``checkpoint.pt``)."""
    if path.is_dir():
        for name in ("model.pt", "checkpoint.pt"):
            if (path / name).exists():
                return path / name
        raise CheckpointError(f"{path}: no model.pt or checkpoint.pt in this folder; train first "
                              f"(course-lib train --out {path})")
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    return path


def _checked_bytes(path: Path, expected: str | None) -> bytes:
    """The file's bytes, read once; refused when they do not hash to ``expected`` (by default the
    sha256 its run folder recorded, if any)."""
    data = path.read_bytes()
    recorded_in = "the sha256 given"
    if expected is None:
        expected, recorded_in = _hashes(path.parent).get(path.name), f"the one {HASHES} recorded when it was saved"
    if expected is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise HashMismatch(f"{path}: sha256 {actual[:12]}… does not match {recorded_in} ({expected[:12]}…): "
                               "the file is damaged or was replaced (or the run was stopped while saving it); "
                               "do not use it: train again, or restore the file",
                               path=path, actual=actual, expected=expected)
    return data


def read_checkpoint(path: str | os.PathLike, *, sha256: str | None = None) -> dict:
    """The contents of a checkpoint file, or of a run folder's ``model.pt`` (else its
    ``checkpoint.pt``), with ``path`` added; a clear :class:`CheckpointError` otherwise.

    Args:
        path: a checkpoint file or a run folder.
        sha256: the hash the file must have (the registry's); by default the one its folder's
            ``sha256.json`` recorded, if it has one.

    Raises:
        HashMismatch: the bytes read differ from the recorded sha256 (checked before loading).
        CheckpointError: missing, unreadable, not a course checkpoint, or without its config.
    """
    path = _checkpoint_file(Path(path))
    data = _checked_bytes(path, sha256)
    try:
        # weights_only: unpickling can run code; this loads tensors and plain data only
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err}); "
                              "it may be truncated: train again or restore it") from None
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a course_lib checkpoint of format {CHECKPOINT_FORMAT}")
    missing = [key for key in ("config", "state_dict") if key not in obj]
    if missing:
        raise CheckpointError(f"{path}: a checkpoint without its {' and '.join(missing)}: it cannot say which "
                              "model to build; save it with course_lib.checkpoints.save_checkpoint, or train again")
    obj["path"] = str(path)
    return obj


def run_files(folder: str | os.PathLike) -> list[str]:
    """The files of a training run (:data:`RUN_FILES`) that ``folder`` holds."""
    return [name for name in RUN_FILES if (Path(folder) / name).exists()]


def prepare_run_folder(out: str | os.PathLike, *, resume: bool = False, overwrite: bool = False) -> None:
    """Make sure a run may write into ``out``: a folder holding a run is refused unless it is
    resumed (``resume``) or replaced (``overwrite``: its run files are removed first, nothing else).

    Raises:
        CheckpointError: ``out`` holds a run and neither was asked (the message says what to do).
        ValueError: both were asked, or ``out`` is a file.
    """
    out = Path(out)
    if resume and overwrite:
        raise ValueError("--resume continues the run in the folder and --overwrite replaces it: choose one")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: is a file; --out names the run's folder")
    found = run_files(out)
    if not found or resume:
        return
    if not overwrite:
        raise CheckpointError(f"{out}: holds a run already ({', '.join(found)}); add --resume to continue it, "
                              "--overwrite to replace it, or choose another --out")
    for name in found:
        (out / name).unlink()


def stored_config(folder: str | os.PathLike):
    """The :class:`~course_lib.config.TrainConfig` of the run in ``folder``: its ``model.pt``'s,
    else its ``checkpoint.pt``'s, else its ``config.json``'s; None when it holds none of them."""
    from .config import TrainConfig

    folder = Path(folder)
    for name in ("model.pt", "checkpoint.pt"):
        if (folder / name).exists():
            return TrainConfig.from_dict(json.loads(read_checkpoint(folder / name)["config"]))
    if (folder / "config.json").exists():
        try:
            return TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
        except ValueError as err:
            raise CheckpointError(f"{folder / 'config.json'}: not a run configuration ({err})") from None
    return None


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (the model itself otherwise)."""
    return model.module if hasattr(model, "module") else model
