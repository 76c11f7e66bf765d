"""The training engine: teacher forcing, validation with baselines, exact resume, DDP.

Teacher forcing: the model reads the true events ``x[0..T-1]`` and is scored on
predicting ``x[1..T]`` at every position at once, so a whole window trains in one
parallel pass. Scheduled sampling (Bengio et al. 2015) replaces some of the true
inputs with the model's own samples, with a probability that grows during
training; here in its parallel form (Duckworth et al. 2019): one pass without
gradients proposes the samples, a second pass learns from the mixed input.

    course-lib train --model prnn --profile quick --out runs/prnn
    torchrun --nproc_per_node 4 -m course_lib.cli train --profile full --out runs/prnn

:func:`train` is the loop in its steps (set up or resume, one optimizer step, validation,
a resumable checkpoint); :mod:`course_lib.checkpoints` writes and reads the files.

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoints import CheckpointError, prepare_run_folder, read_checkpoint, save_checkpoint, unwrap
from .config import TRAIN_PROFILES, TrainConfig, profile_config
from .models import build_model, model_kind, model_size
from .windows import EventWindows

__all__ = [
    "TrainConfig", "TRAIN_PROFILES", "train", "evaluate", "baselines", "load_model",
    "save_checkpoint", "CheckpointError", "pick_device", "sequence_loss", "report", "run",
    "corpus_windows", "profile_config", "window_losses", "nll_table",
]


def pick_device(preferred: str | None = None) -> torch.device:
    """``cuda`` if there is a GPU, else ``mps`` (Apple), else ``cpu``; or the device asked for,
    refused with a clear error when this machine does not have it.

    Raises:
        ValueError: an unknown device name, or one this machine (or this torch build) lacks.
    """
    if preferred:
        return _available(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _available(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r}: not a device name; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise ValueError(f"--device {name}: torch sees no CUDA GPU here (torch {torch.__version__}, {build}); "
                             "leave --device out to train on what this machine has, or install a CUDA build "
                             "of torch on a machine with a GPU")
        if device.index is not None and device.index >= count:
            raise ValueError(f"--device {name}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"--device {name}: Apple's MPS is not available here; leave --device out")
    return device


def _autocast(device: torch.device):
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


# -- losses and baselines ------------------------------------------------------------------
def sequence_loss(model: nn.Module, events: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
    """Teacher-forcing loss: mean cross-entropy (nats) of predicting ``events[:, 1:]``
    from ``events[:, :-1]``.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    inputs, targets = events[:, :-1], events[:, 1:]
    if controls is not None and controls.dim() == 3:
        controls = controls[:, :-1]
    logits = model(inputs, controls)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))


def _scheduled_inputs(model, inputs, controls, p: float, generator: torch.Generator) -> torch.Tensor:
    """Replace each input after the first, with probability p, by the model's sample for it."""
    with torch.no_grad():
        logits = model(inputs, controls)[:, :-1].float()
        samples = torch.multinomial(
            logits.softmax(-1).reshape(-1, logits.shape[-1]), 1, generator=generator
        ).reshape(logits.shape[:2])
    mask = torch.rand(samples.shape, generator=generator, device=samples.device) < p
    mixed = inputs.clone()
    mixed[:, 1:] = torch.where(mask, samples, inputs[:, 1:])
    return mixed


def baselines(train_events: Sequence[np.ndarray], valid_events: Sequence[np.ndarray], vocab_size: int = 388) -> dict:
    """NLL per event (nats) of two models that need no training, on the held-out events.

    * ``unigram``: every event with its frequency in the training data (add-one smoothed);
    * ``repeat``: the previous event again with the probability that this happens in
      the training data, the rest spread evenly.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    counts = np.bincount(np.concatenate([e[1:] for e in train_events]), minlength=vocab_size) + 1.0
    logp = np.log(counts / counts.sum())
    targets = np.concatenate([e[1:] for e in valid_events])
    prev = np.concatenate([e[:-1] for e in valid_events])
    same_train = np.mean(np.concatenate([e[1:] == e[:-1] for e in train_events]))
    q = float(np.clip(same_train, 1e-6, 1 - 1e-6))
    hit = targets == prev
    repeat = -(hit * math.log(q) + (~hit) * math.log((1 - q) / (vocab_size - 1))).mean()
    return {"unigram": float(-logp[targets].mean()), "repeat": float(repeat), "uniform": math.log(vocab_size)}


@torch.no_grad()
def evaluate(model: nn.Module, windows: EventWindows, *, batch_size: int = 64, max_windows: int | None = None,
             device: torch.device | None = None, own_samples: float = 0.0, seed: int = 0) -> float:
    """Mean NLL per event (nats) of the model on held-out windows.

    Args:
        own_samples: the share of input events (after the first) replaced by the model's
            own samples, as in scheduled sampling; 0 is teacher forcing. The targets stay
            the real events, so this measures how the model copes with its own mistakes
            in its history (exposure bias).
        seed: seeds those samples.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    n = len(windows) if max_windows is None else min(len(windows), max_windows)
    total, count = 0.0, 0
    for start in range(0, n, batch_size):
        batch = _collate([windows[i] for i in range(start, min(n, start + batch_size))], device)
        events, controls = batch["events"], batch.get("controls")
        with _autocast(device):
            if own_samples > 0:
                c_in = controls[:, :-1] if controls is not None and controls.dim() == 3 else controls
                inputs = _scheduled_inputs(model, events[:, :-1], c_in, own_samples, generator)
                events = torch.cat([inputs, events[:, -1:]], dim=1)
            loss = sequence_loss(model, events, controls)
        tokens = events[:, 1:].numel()
        total += float(loss) * tokens
        count += tokens
    model.train(was_training)
    return total / max(count, 1)


@torch.no_grad()
def window_losses(model: nn.Module, windows: EventWindows, indices=None, *, given=None, batch_size: int = 64,
                  device: torch.device | None = None) -> np.ndarray:
    """The mean NLL per event (nats) of each held-out window, one number per window.

    Args:
        indices: which windows (default: all).
        given: for a conditioned model, the controls it is told (the others are presented
            as missing, c0 = 1); None tells it every control the windows carry.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    indices = list(range(len(windows))) if indices is None else list(indices)
    out = []
    for start in range(0, len(indices), batch_size):
        batch = _collate([windows[i] for i in indices[start:start + batch_size]], device)
        events, controls = batch["events"], batch.get("controls")
        if controls is not None and given is not None:
            controls = windows.controls.only(controls, given)
        with _autocast(device):
            logits = model(events[:, :-1], controls[:, :-1] if controls is not None else None)
        nll = F.cross_entropy(logits.float().transpose(1, 2), events[:, 1:], reduction="none")
        out.append(nll.mean(1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros(0)


def nll_table(losses, labels, order: Sequence[str] | None = None) -> dict[str, tuple[int, float]]:
    """{label: (number of windows, mean NLL)}: per-window losses grouped by a label such
    as each window's period; labels in ``order`` (default: sorted), those without windows left out.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    losses, labels = np.asarray(losses, dtype=np.float64), np.asarray(labels)
    if losses.shape != labels.shape:
        raise ValueError(f"one label per loss: got {losses.shape} losses and {labels.shape} labels")
    table = {}
    for label in (order or sorted(set(labels.tolist()))):
        hit = labels == label
        if hit.any():
            table[label] = (int(hit.sum()), float(losses[hit].mean()))
    return table


def _collate(items: list[dict], device: torch.device) -> dict:
    batch = {"events": torch.stack([it["events"] for it in items]).to(device)}
    if "controls" in items[0]:
        batch["controls"] = torch.stack([it["controls"] for it in items]).to(device)
    return batch


# -- loading a trained model ---------------------------------------------------------------
def load_model(path: str | os.PathLike, *, model: str | None = None, size: str | None = None,
               model_config: dict | None = None, device: str | torch.device = "cpu", sha256: str | None = None,
               profile: str | None = None) -> nn.Module:
    """Load a trained model, refusing one that is not what the caller asked for.

    Args:
        path: a checkpoint file or a run folder (``model.pt``, else ``checkpoint.pt``).
        model: the expected kind (e.g. ``'prnn'``; older spellings too), or None for any.
        size: the expected size's architecture (``'small'``/``'large'``), or None.
        model_config: the expected architecture, field by field, or None.
        device: where to put the model.
        sha256: the hash the file must have (default: the one its run folder recorded, if any).
        profile: the older name of ``size`` (``'quick'``/``'full'``).

    Returns:
        The model in eval mode, with ``.train_config`` (the :class:`TrainConfig`) attached.

    Raises:
        CheckpointError: missing, damaged, or another model/configuration than asked.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    obj = read_checkpoint(Path(path), sha256=sha256)
    config = TrainConfig.from_dict(json.loads(obj["config"]))
    where = obj["path"]
    if model is not None and config.model != model_kind(model):
        raise CheckpointError(f"{where}: holds a {config.model!r} model, not a {model!r}")
    expected = dict(model_config or {})
    size = size if size is not None else profile
    if size is not None:
        expected = {**model_size(config.model, size), **expected}
    diffs = {k: (config.model_config.get(k), v) for k, v in expected.items() if config.model_config.get(k) != v}
    if diffs:
        listed = ", ".join(f"{k}: checkpoint {a!r} vs asked {b!r}" for k, (a, b) in sorted(diffs.items()))
        raise CheckpointError(f"{where}: trained with another configuration ({listed}); "
                              "load it without the size, or train the configuration you want")
    net = build_model(config.model, config.model_config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in obj["state_dict"].items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{where}: weights do not fit the model its config describes ({err})") from None
    net.train_config = config
    net.train_step = obj.get("step", 0)
    return net.to(device).eval()


# -- the loop -------------------------------------------------------------------------------
def _schedule(config: TrainConfig) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return factor


def _dist_info() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _batch_indices(n: int, batch_size: int, seed: int, step: int, rank: int, world: int) -> tuple[list[int], int]:
    """The data order is a pure function of (seed, step): resuming at a step continues
    with exactly the batches an uninterrupted run would have seen."""
    per_epoch = max(1, n // batch_size)
    epoch, position = divmod(step, per_epoch)
    order = np.random.default_rng((seed, epoch)).permutation(n)
    batch = order[position * batch_size:(position + 1) * batch_size]
    return [int(i) for i in batch[rank::world]], epoch


@dataclass
class _Run:
    """What a training run carries from one step to the next (its checkpoint saves the state)."""

    config: TrainConfig
    out: Path
    device: torch.device
    rank: int
    world: int
    model: nn.Module            # the model itself, whose weights a checkpoint saves
    net: nn.Module              # what computes: the model, or its DDP wrapper
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    sampler_rng: torch.Generator
    step: int = 0
    metrics: list = field(default_factory=list)
    events_seen: int = 0        # events trained on in this call (all processes) ...
    started: float = 0.0        # ... since this time
    elapsed_before: float = 0.0   # seconds trained before a resume


def train(config: TrainConfig, train_windows: EventWindows, valid_windows: EventWindows, out: str | os.PathLike,
          *, resume: bool = False, device: str | None = None, progress: bool = True,
          stop_after: int | None = None, log: Callable[[str], None] = print) -> nn.Module:
    """Train a model with teacher forcing; checkpoints and metrics go to ``out``.

    The loop reads as the chapter tells it: set up (or resume) the model and its optimizer,
    then step after step learn from one batch, validate every ``eval_every`` steps and
    write a resumable checkpoint every ``checkpoint_every`` steps.

    Files in ``out``: ``checkpoint.pt`` (resumable, every ``checkpoint_every`` steps),
    ``model.pt`` (the final weights), ``metrics.jsonl`` (one JSON object per logged step),
    ``config.json``, ``sha256.json`` (the hash of each checkpoint, checked when it is read).
    Without ``resume`` a run already in ``out`` is started again (a notebook re-runs its cell);
    :func:`run`, what ``course-lib train`` calls, refuses such a folder instead.

    Args:
        config: the run.
        train_windows, valid_windows: data (see :class:`~course_lib.windows.EventWindows`).
        out: the run folder.
        resume: continue from ``out/checkpoint.pt`` exactly where it stopped.
        device: force a device (default: :func:`pick_device`).
        progress: show a progress bar.
        stop_after: stop (as if killed) after this many steps of this call; for tests.
        log: where to print summaries.

    Returns:
        The trained model (unwrapped from DDP), in eval mode.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    run = _set_up(config, len(train_windows), Path(out), device, resume, log)
    _start_files(run)
    bar = _progress_bar(run) if progress else None
    run.net.train()
    run.started = time.perf_counter()
    run.elapsed_before = run.metrics[-1].get("elapsed_s", 0.0) if run.metrics else 0.0
    steps_this_call = 0
    while run.step < config.steps:
        row = _train_step(run, train_windows)
        if run.step % config.eval_every == 0 or run.step == config.steps:
            row["valid_loss"] = evaluate(unwrap(run.net), valid_windows, max_windows=config.eval_windows,
                                         device=run.device)
        _record(run, row, bar)
        if run.step % config.checkpoint_every == 0 or run.step == config.steps:
            _save_resumable(run)
        steps_this_call += 1
        if stop_after is not None and steps_this_call >= stop_after:
            break
    if bar is not None:
        bar.close()
    if run.rank == 0 and run.step == config.steps:
        save_checkpoint(run.out / "model.pt", model=run.model, config=config, step=run.step)
        log(report(run.model, train_windows, valid_windows, max_windows=config.eval_windows))
    return run.model.eval()


def _set_up(config: TrainConfig, n_train: int, out: Path, device: str | None, resume: bool,
            log: Callable[[str], None]) -> _Run:
    """A fresh model (seeded) and AdamW with its warm-up and cosine schedule, or with
    ``resume`` all of them as the last checkpoint left them; wrapped in DDP when several
    processes train together."""
    rank, world = _dist_info()
    dev = pick_device(device)
    if n_train < config.batch_size:
        raise ValueError(f"{n_train} training windows cannot fill a batch of {config.batch_size}; "
                         "use more works or a shorter window")
    torch.manual_seed(config.seed)
    model = build_model(config.model, config.model_config).to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    sampler_rng = torch.Generator(device=dev).manual_seed(config.seed + 1 + rank)
    run = _Run(config, out, dev, rank, world, model, model, optimizer, scheduler, sampler_rng)
    if resume:
        _resume(run, log)
    if world > 1:
        run.net = nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    return run


def _resume(run: _Run, log: Callable[[str], None]) -> None:
    """Continue from ``out/checkpoint.pt`` where it stopped: weights, optimizer, schedule,
    random states, step and metrics; refuse a checkpoint of another configuration."""
    path = run.out / "checkpoint.pt"
    if not path.exists():
        if run.rank == 0:
            log(f"no checkpoint in {run.out}: starting from scratch")
        return
    obj = read_checkpoint(path)
    if "optimizer" not in obj:
        raise CheckpointError(f"{path}: holds a model's weights only (a model.pt?), not the optimizer state a run "
                              "resumes from; train from scratch (--overwrite) or restore the run's own checkpoint.pt")
    saved = TrainConfig.from_dict(json.loads(obj["config"]))
    if saved != run.config:
        raise CheckpointError(f"{path}: was written by another configuration (differs in "
                              f"{sorted(saved.differences(run.config))}); resume with the same settings or use "
                              "a new --out")
    run.model.load_state_dict(obj["state_dict"])
    run.optimizer.load_state_dict(obj["optimizer"])
    run.scheduler.load_state_dict(obj["scheduler"])
    torch.set_rng_state(obj["rng"]["torch"])
    run.sampler_rng.set_state(obj["rng"]["sampler"])
    run.step, run.metrics = obj["step"], json.loads(obj["metrics"])
    if run.rank == 0:
        log(f"resumed from {path} at step {run.step}")


def _start_files(run: _Run) -> None:
    """The run folder with its ``config.json`` and the metrics log up to the current step."""
    if run.rank == 0:
        run.out.mkdir(parents=True, exist_ok=True)
        (run.out / "config.json").write_text(json.dumps(run.config.to_dict(), indent=2) + "\n")
        _rewrite_metrics(run.out / "metrics.jsonl", run.metrics)


def _progress_bar(run: _Run):
    if run.rank != 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=run.config.steps, initial=run.step, desc="training", unit="step")


def _train_step(run: _Run, train_windows: EventWindows) -> dict:
    """One optimizer step on one batch, with teacher forcing (and scheduled sampling, whose
    share of model samples grows with the step); returns the step's metrics row."""
    config = run.config
    idx, epoch = _batch_indices(len(train_windows), config.batch_size, config.seed, run.step, run.rank, run.world)
    train_windows.set_epoch(epoch)
    batch = _collate([train_windows[i] for i in idx], run.device)
    events, controls = batch["events"], batch.get("controls")
    p = config.scheduled_sampling * run.step / max(1, config.steps - 1)
    with _autocast(run.device):
        if p > 0:
            inputs = _scheduled_inputs(run.net, events[:, :-1], controls[:, :-1] if controls is not None else None,
                                       p, run.sampler_rng)
            events = torch.cat([inputs, events[:, -1:]], dim=1)
        loss = sequence_loss(run.net, events, controls)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = float(nn.utils.clip_grad_norm_(run.net.parameters(), config.grad_clip))
    run.optimizer.step()
    run.scheduler.step()
    run.step += 1
    run.events_seen += events[:, 1:].numel() * run.world
    seconds = time.perf_counter() - run.started
    return {"step": run.step, "train_loss": loss.item(), "lr": run.scheduler.get_last_lr()[0],
            "grad_norm": grad_norm, "events_per_s": run.events_seen / seconds, "sampling_p": p,
            "elapsed_s": run.elapsed_before + time.perf_counter() - run.started}


def _record(run: _Run, row: dict, bar) -> None:
    """Append a step's metrics to the log (and to the progress bar)."""
    if run.rank != 0:
        return
    run.metrics.append(row)
    with open(run.out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    if bar is not None:
        bar.update(1)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", ev_s=f"{row['events_per_s']:,.0f}",
                        **({"valid": f"{row['valid_loss']:.3f}"} if "valid_loss" in row else {}))


def _save_resumable(run: _Run) -> None:
    """``out/checkpoint.pt``: everything :func:`_resume` needs to go on exactly from here."""
    if run.rank == 0:
        rng = {"torch": torch.get_rng_state(), "sampler": run.sampler_rng.get_state()}
        save_checkpoint(run.out / "checkpoint.pt", model=run.model, config=run.config, optimizer=run.optimizer,
                        scheduler=run.scheduler, step=run.step, rng=rng, metrics=run.metrics)


def report(model: nn.Module, train_windows: EventWindows, valid_windows: EventWindows, *,
           max_windows: int | None = None) -> str:
    """Held-out NLL per event of the model beside the baselines, in nats and bits.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    n_valid = len(valid_windows) if max_windows is None else min(len(valid_windows), max_windows)
    valid = [valid_windows[i]["events"].numpy() for i in range(n_valid)]
    rng = np.random.default_rng(0)
    sample = rng.choice(len(train_windows), size=min(len(train_windows), 2000), replace=False)
    train_ev = [train_windows[int(i)]["events"].numpy() for i in sample]
    rows = {"model": evaluate(model, valid_windows, max_windows=max_windows), **baselines(train_ev, valid)}
    names = {"model": "this model", "unigram": "unigram (event frequencies)",
             "repeat": "repeat the last event", "uniform": "uniform over 388 events"}
    lines = [f"held-out NLL per event on {n_valid} windows:", f"  {'':30s} {'nats':>6s} {'bits':>6s}"]
    lines += [f"  {names[k]:30s} {v:6.3f} {v / math.log(2):6.3f}" for k, v in rows.items()]
    return "\n".join(lines)


def corpus_windows(config: TrainConfig, *, progress: bool = True) -> tuple[EventWindows, EventWindows]:
    """Training and validation windows from the corpus, split by work (never by window)."""
    from . import corpus

    works = corpus.load_works(collections=list(config.collections) if config.collections else None,
                              progress=progress)
    train_works = [w for w in works if w.split == "train"]
    valid_works = [w for w in works if w.split == "valid"]
    spec = config.control_spec()
    train_w = EventWindows(train_works, config.window, augment=config.augment, seed=config.seed,
                           controls=spec, drop_controls=config.drop_controls)
    valid_w = EventWindows(valid_works, config.window, stride=config.window, controls=spec)
    return train_w, valid_w


def run(config: TrainConfig, out: str | os.PathLike, *, resume: bool = False, device: str | None = None,
        progress: bool = True, overwrite: bool = False) -> nn.Module:
    """Train on the corpus, under ``torchrun`` too (one process per GPU or CPU worker): what
    ``course-lib train`` runs. Unlike :func:`train` (which a notebook re-runs into the same
    folder), it never replaces a run by accident: ``out`` may hold one only to ``resume`` it, or
    with ``overwrite``.

    Raises:
        CheckpointError: ``out`` holds a run, and neither ``resume`` nor ``overwrite`` was asked.
        ValueError: a device this machine lacks.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    pick_device(device)  # a device this machine lacks is refused before anything is read
    # Every process checks the folder before they meet (so none has written yet); the first replaces it.
    if int(os.environ.get("RANK", "0")) == 0 or not overwrite:
        prepare_run_folder(out, resume=resume, overwrite=overwrite)
    if distributed and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    try:
        rank, _ = _dist_info()
        train_w, valid_w = corpus_windows(config, progress=progress and rank == 0)
        if rank == 0:
            print(f"{len(train_w)} training windows, {len(valid_w)} held-out windows of {config.window} events")
        return train(config, train_w, valid_w, out, resume=resume, device=device, progress=progress)
    finally:
        if distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _rewrite_metrics(path: Path, metrics: list) -> None:
    """The log holds exactly the steps of the checkpoint (steps after it are redone on resume)."""
    path.write_text("".join(json.dumps(m) + "\n" for m in metrics))
