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

__all__ = ["CHECKPOINTS", "FAMILIES", "resolve", "registry", "checkpoint_path", "load_pretrained", "sha256", "ship_run",
           "machine_description"]

CHECKPOINTS = Path(__file__).parent / "data" / "checkpoints"
_REGISTRY = CHECKPOINTS / "registry.json"
# What the chapters ask for → the checkpoints that can answer, best first: the GPU-trained
# `full` model when an instructor has shipped one (make full), else the CPU-trained one.
FAMILIES = {
    "prnn": ("prnn-full", "prnn-cpu"),
    "prnn-ss": ("prnn-ss-full", "prnn-cpu-ss"),
    "prnn-cond": ("prnn-cond-full", "prnn-cpu-cond"),
    "transformer": ("transformer-full", "transformer-cpu"),
    "music-transformer": ("music-transformer-full", "music-transformer-cpu"),
}


def registry(folder: str | Path | None = None) -> dict[str, dict]:
    """Every shipped checkpoint (in ``folder``, default the package's): name → {file, sha256,
    config, command, trained_on, steps, valid_nll, ...}."""
    path = _REGISTRY if folder is None else Path(folder) / _REGISTRY.name
    return json.loads(path.read_text()) if path.exists() else {}


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lookup(name: str) -> tuple[str, dict]:
    """(registered name, registry entry) of a name or family, reading the registry once."""
    entries = registry()
    if name not in entries:
        name = next((c for c in FAMILIES.get(name, ()) if c in entries), name)
    if name not in entries:
        raise CheckpointError(f"no pretrained model {name!r}; available: {sorted(entries) or 'none'}, "
                              f"or a family: {sorted(FAMILIES)}")
    return name, entries[name]


def resolve(name: str) -> str:
    """A registered name as it is, or a family name of :data:`FAMILIES` (``"prnn"``) → its best
    registered checkpoint (``"prnn-full"`` when shipped, else ``"prnn-cpu"``).

    Raises:
        CheckpointError: neither (the message lists what is available).
    """
    return _lookup(name)[0]


def _verified_file(name: str, entry: dict) -> Path:
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


def checkpoint_path(name: str) -> Path:
    """The verified file of a registered checkpoint (or of a family's best, see :func:`resolve`).

    Raises:
        CheckpointError: unknown name (the message lists the known ones), missing file, or
            a file whose sha256 differs from the registry's.
    """
    return _verified_file(*_lookup(name))


def load_pretrained(name: str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load a shipped model after checking its hash; ``model.registry_entry`` tells its story.
    ``name`` may be a family (``"prnn"``): the best shipped member is loaded (see :func:`resolve`).

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    name, entry = _lookup(name)
    model = load_model(_verified_file(name, entry), device=device)
    model.registry_entry = {"name": name, **entry}
    return model


def machine_description() -> str:
    """What this process trains on, for a registry entry: the GPU, else the CPU and its threads."""
    import platform

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model}, {torch.get_num_threads()} torch thread(s)"


def ship_run(run: str | Path, name: str, *, command: str, trained_on: str, description: str = "",
             folder: str | Path = CHECKPOINTS, eval_windows: int = 512) -> dict:
    """Ship a finished run folder: fp16 weights as ``folder/name.pt`` and a registry entry
    (file, sha256, model, config, steps, the command that made it, where and how long it
    trained, held-out NLL of the shipped fp16 weights). Returns the entry.

    Raises:
        CheckpointError: the run has not finished (no ``model.pt``).
    """
    from .training import corpus_windows, evaluate, save_checkpoint

    run, folder = Path(run), Path(folder)
    if not (run / "model.pt").exists():
        raise CheckpointError(f"{run}: no model.pt, the run has not finished; resume it (course-lib train --resume)")
    model = load_model(run / "model.pt")
    config = model.train_config
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.pt"
    save_checkpoint(out, model=model, config=config, step=model.train_step, half=True)
    _, valid = corpus_windows(config, progress=False)
    nll = evaluate(load_model(out), valid, max_windows=eval_windows)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last = metrics[-1] if metrics else {}
    entry = {
        "file": out.name,
        "sha256": sha256(out),
        "model": config.model,
        "profile": config.profile,
        "steps": model.train_step,
        "events_per_s": round(last.get("events_per_s", 0)),
        "trained_on": trained_on,
        "wall_minutes": round(last.get("elapsed_s", 0) / 60, 1),
        "valid_nll": round(nll, 4),
        "valid_windows": min(eval_windows, len(valid)),
        "command": command,
        "description": description,
        "config": config.to_dict(),
    }
    entries = registry(folder)
    entries[name] = entry
    (folder / _REGISTRY.name).write_text(json.dumps(entries, indent=2) + "\n")
    return entry
