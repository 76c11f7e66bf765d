"""Trained models that ship with the course, in a small registry, and the names they go by.

Each entry names a file in ``course_lib/data/checkpoints/``, its sha256, the command
that reproduces it, what it was trained on and for how long, and its held-out NLL.
A file whose hash does not match is refused, never loaded silently.

Names. A shipped model is called ``<kind>-<tag>[-<variant>]``:

* *kind*, the architecture: ``prnn`` (Performance RNN), ``transformer``, ``music-transformer``
  (what ``course-lib train --model`` takes, :data:`course_lib.models.MODEL_KINDS`);
* *tag*, how it was trained: ``cpu`` (by the course, on a CPU, shipped with it), ``full`` or
  ``quick`` (by ``course-lib train-all --profile full|quick``);
* *variant*, what sets it apart: ``ss`` (scheduled sampling), ``cond`` (conditioned), ``cond-long``.

A *family* is ``<kind>[-<variant>]`` (``prnn``, ``prnn-cond``, ``music-transformer``): what the
chapters ask for; it loads its best shipped member (``prnn-full`` when shipped, else ``prnn-cpu``).
Older spellings still load: ``prnn-ss-full`` (now ``prnn-full-ss``), ``performance_rnn`` (``prnn``).

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .checkpoints import CheckpointError, HashMismatch, read_checkpoint, sha256
from .models import KIND_ALIASES, MODEL_KINDS, size_name
from .training import load_model

__all__ = ["CHECKPOINTS", "TAGS", "FAMILIES", "UnknownModel", "canonical_name", "shipped_name", "family_of",
           "resolve", "registry", "checkpoint_path", "load_pretrained", "load", "shipped_models", "models_table",
           "sha256", "ship_run", "machine_description"]

CHECKPOINTS = Path(__file__).parent / "data" / "checkpoints"
_REGISTRY = CHECKPOINTS / "registry.json"
TAGS = ("full", "quick", "cpu")
# What the chapters ask for → the checkpoints that can answer, best first: the GPU-trained
# `full` model when an instructor has shipped one (make full), else the CPU-trained one.
_FAMILY_NAMES = ("prnn", "prnn-ss", "prnn-cond", "transformer", "music-transformer")
# Kinds and their older spellings, longest first (so that "music-transformer-cpu" is not a "transformer").
_KIND_SPELLINGS = sorted([*MODEL_KINDS, *KIND_ALIASES], key=len, reverse=True)


def _parts(name: str) -> tuple[str, str, str] | None:
    """(kind, tag, variant) of a name in any spelling; None for a name outside the scheme."""
    for spelling in _KIND_SPELLINGS:
        if name == spelling or name.startswith(spelling + "-"):
            rest = name[len(spelling) + 1:].split("-") if name != spelling else []
            tag = next((part for part in rest if part in TAGS), "")
            if tag:
                rest.remove(tag)
            return KIND_ALIASES.get(spelling, spelling), tag, "-".join(rest)
    return None


def canonical_name(name: str) -> str:
    """A model name in today's spelling: ``'prnn-ss-full'`` → ``'prnn-full-ss'``,
    ``'performance_rnn'`` → ``'prnn'``; a name outside the scheme is returned as it is."""
    parts = _parts(name)
    return "-".join(p for p in parts if p) if parts else name


def shipped_name(family: str, tag: str) -> str:
    """The name a family's model trained as ``tag`` ships under: ``('prnn-cond', 'full')`` →
    ``'prnn-full-cond'``."""
    return canonical_name(f"{family}-{tag}")


FAMILIES = {family: (shipped_name(family, "full"), shipped_name(family, "cpu")) for family in _FAMILY_NAMES}


def family_of(name: str) -> str | None:
    """The family that loads this shipped model (None for one loaded by its name only)."""
    name = canonical_name(name)
    return next((family for family, members in FAMILIES.items() if name in members), None)


def _registry_path(folder: str | Path | None) -> Path:
    return _REGISTRY if folder is None else Path(folder) / _REGISTRY.name


def registry(folder: str | Path | None = None) -> dict[str, dict]:
    """Every shipped checkpoint (in ``folder``, default the package's): name → {file, sha256,
    config, command, trained_on, steps, valid_nll, ...}.

    Raises:
        CheckpointError: a ``registry.json`` that is not valid JSON or lacks an entry's file or
            sha256 (the message names the file).
    """
    path = _registry_path(folder)
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: the checkpoint registry is broken ({err}); restore it (git checkout "
                              "or a fresh install of the course) or ship the models again") from None
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        raise CheckpointError(f"{path}: the checkpoint registry should map each name to an entry; restore it")
    for name, entry in entries.items():
        missing = [key for key in ("file", "sha256") if key not in entry]
        if missing:
            raise CheckpointError(f"{path}: entry {name!r} lacks its {' and '.join(missing)}; restore the file")
    return entries


class UnknownModel(CheckpointError):
    """A name that is neither a shipped model's (in any spelling) nor a family's."""


def _unknown(name: str, entries: dict) -> str:
    return (f"no pretrained model {name!r}; available: {', '.join(sorted(entries)) or 'none'}, or a family: "
            f"{', '.join(FAMILIES)} (see course-lib models)")


def _lookup(name: str) -> tuple[str, dict]:
    """(registered name, registry entry) of a name (any spelling) or family, reading the registry once."""
    entries = registry()
    registered = {canonical_name(key): key for key in entries}   # an older registry's spellings count too
    wanted = canonical_name(name)
    candidates = (wanted, *FAMILIES.get(wanted, ()))
    key = next((registered[c] for c in candidates if c in registered), None)
    if key is None:
        raise UnknownModel(_unknown(name, entries))
    return key, entries[key]


def resolve(name: str) -> str:
    """A registered name as it is (older spellings too), or a family name of :data:`FAMILIES`
    (``"prnn"``) → its best registered checkpoint (``"prnn-full"`` when shipped, else ``"prnn-cpu"``).

    Raises:
        CheckpointError: neither (the message lists what is available).
    """
    return _lookup(name)[0]


def _entry_file(name: str, entry: dict) -> Path:
    path = CHECKPOINTS / entry["file"]
    if not path.exists():
        raise CheckpointError(f"{path}: the file of {name!r} is missing; reproduce it with: {entry['command']}")
    return path


def _mismatch(name: str, entry: dict, actual: str) -> CheckpointError:
    return CheckpointError(
        f"{CHECKPOINTS / entry['file']}: sha256 {actual[:12]}… does not match the registry's "
        f"{entry['sha256'][:12]}…; the file of {name!r} is damaged or from another version: restore it "
        f"(git checkout) or reproduce it with: {entry['command']}")


def checkpoint_path(name: str) -> Path:
    """The verified file of a registered checkpoint (or of a family's best, see :func:`resolve`).

    Raises:
        CheckpointError: unknown name (the message lists the known ones), missing file, or
            a file whose sha256 differs from the registry's.
    """
    name, entry = _lookup(name)
    path = _entry_file(name, entry)
    actual = sha256(path)
    if actual != entry["sha256"]:
        raise _mismatch(name, entry, actual)
    return path


def load_pretrained(name: str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load a shipped model after checking its hash; ``model.registry_entry`` tells its story.
    ``name`` may be a family (``"prnn"``): the best shipped member is loaded (see :func:`resolve`).
    The bytes hashed are the bytes loaded (the file is read once).

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    name, entry = _lookup(name)
    try:
        model = load_model(_entry_file(name, entry), device=device, sha256=entry["sha256"])
    except HashMismatch as err:
        raise _mismatch(name, entry, err.actual) from None
    model.registry_entry = {"name": name, **entry}
    return model


def load(checkpoint: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """A model from wherever a checkpoint is asked for: a checkpoint file, a run folder, or a
    shipped model's name (any spelling) or family, as ``course-lib generate --checkpoint`` takes it.
    A file or folder of that name wins over a registered name.

    Raises:
        CheckpointError: none of these (the message lists the shipped names).
    """
    path = Path(checkpoint)
    if path.exists():
        return load_model(path, device=device)
    text = str(checkpoint)
    if "/" in text or os.sep in text or text.endswith(".pt"):
        raise CheckpointError(f"{text}: no such checkpoint file or run folder")
    try:
        return load_pretrained(text, device=device)
    except UnknownModel as err:
        raise CheckpointError(f"{text}: no such checkpoint file or run folder here, and {err}") from None


def _stored_config(path: Path, entry: dict) -> dict | None:
    """The training config an entry records, else the one its checkpoint file holds (None when the
    file is missing or fails its hash check)."""
    if entry.get("config"):
        return entry["config"]
    try:
        return json.loads(read_checkpoint(path, sha256=entry["sha256"])["config"])
    except CheckpointError:
        return None


def shipped_models(folder: str | Path | None = None) -> list[dict]:
    """One row per registered model: name, family, kind, size, file MB, held-out NLL, how it was
    trained (steps × windows × events, on which works), for how long and on what machine; a
    file that is missing or fails its hash check is said so (``course-lib models``)."""
    base = CHECKPOINTS if folder is None else Path(folder)
    rows = []
    for name, entry in registry(folder).items():
        file = base / entry["file"]
        config = _stored_config(file, entry)
        parts = _parts(name)
        size = entry.get("size") or entry.get("profile") or (config or {}).get("size") or (config or {}).get("profile")
        rows.append({
            "name": name, "family": family_of(name) or "-",
            "kind": parts[0] if parts else KIND_ALIASES.get(entry.get("model"), entry.get("model", "?")),
            "size": size_name(size) if size else "?",
            "file": f"{file.stat().st_size / 1e6:.1f} MB" if config else "missing or damaged",
            "heldout_nll": entry.get("heldout_nll"),
            "training": (f"{entry.get('steps', 0):,} steps of {config['batch_size']} × {config['window']} events"
                         if config else f"{entry.get('steps', 0):,} steps"),
            "works": ", ".join(config.get("collections") or ["all"]) if config else "?",
            "minutes": entry.get("wall_minutes"), "trained_on": entry.get("trained_on", "?"),
        })
    return rows


def models_table(rows: list[dict]) -> str:
    """:func:`shipped_models` as a text table, with how names are resolved below it."""
    lines = [f"{'name':22s} {'family':17s} {'size':5s} {'file':>7s} {'NLL':>5s}  {'training':31s} {'works':5s} "
             f"{'minutes':>7s}  trained on"]
    for r in rows:
        nll = f"{r['heldout_nll']:.3f}" if r["heldout_nll"] is not None else "?"
        minutes = f"{r['minutes']:.0f}" if r["minutes"] is not None else "?"
        lines.append(f"{r['name']:22s} {r['family']:17s} {r['size']:5s} {r['file']:>7s} {nll:>5s}  "
                     f"{r['training']:31s} {r['works']:5s} {minutes:>7s}  {r['trained_on']}")
    lines.append("\nNLL: nats per event on the course's held-out evaluation set (course_lib.evaluation, "
                 "heldout-v1; a conditioned model told every control).\nA family (prnn, prnn-cond, ...) loads its "
                 "best member: the "
                 "GPU-trained <kind>-full... when shipped, else <kind>-cpu...; older spellings (prnn-ss-full, "
                 "performance_rnn) work too.\nLoad one by name: load_pretrained(NAME) in Python, "
                 "course-lib generate --checkpoint NAME in a shell.")
    return "\n".join(lines)


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
    (file, sha256, kind, size, config, steps, the command that made it, where and how long it
    trained, held-out NLL of the shipped fp16 weights). Returns the entry. An entry of the same
    model under an older spelling of its name is replaced.

    Raises:
        CheckpointError: the run has not finished (no ``model.pt``), or its files are damaged.
    """
    from .training import corpus_windows, evaluate, save_checkpoint

    run, folder = Path(run), Path(folder)
    if not (run / "model.pt").exists():
        raise CheckpointError(f"{run}: no model.pt, the run has not finished; resume it (course-lib train --resume)")
    name = canonical_name(name)
    model = load_model(run / "model.pt")
    config = model.train_config
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.pt"
    save_checkpoint(out, model=model, config=config, step=model.train_step, half=True, record_hash=False)
    _, valid = corpus_windows(config, progress=False)
    nll = evaluate(load_model(out), valid, max_windows=eval_windows)
    from .evaluation import EVAL_SET, heldout_nll

    shipped = load_model(out)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last = metrics[-1] if metrics else {}
    entry = {
        "file": out.name,
        "sha256": sha256(out),
        "model": config.model,
        "size": config.size,
        "steps": model.train_step,
        "events_per_s": round(last.get("events_per_s", 0)),
        "trained_on": trained_on,
        "wall_minutes": round(last.get("elapsed_s", 0) / 60, 1),
        "valid_nll": round(nll, 4),
        "valid_windows": min(eval_windows, len(valid)),
        "eval_set": EVAL_SET,
        "heldout_nll": round(heldout_nll(shipped).mean, 4),
        "command": command,
        "description": description,
        "config": config.to_dict(),
    }
    entries = registry(folder)
    for stale in [key for key in entries if key != name and canonical_name(key) == name]:
        del entries[stale]   # the same model under an older spelling of its name
    entries[name] = entry
    path = _registry_path(folder)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(entries, indent=2) + "\n")
    os.replace(tmp, path)
    return entry
