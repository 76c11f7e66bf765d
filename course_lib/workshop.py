"""The instructor's kit: train every model the chapters load, with one command.

    course-lib train-all --profile full                 # one after the other, on the best device
    course-lib train-all --profile full --nproc 4       # each with torchrun on 4 GPUs
    make full                                           # the same as the first line

Each model trains in its own run folder (``runs/<name>``) and is resumable: run the same
command again after an interruption and finished models are skipped, an unfinished one
continues from its last checkpoint. Each finished run is shipped (fp16 weights and a
registry entry: sha256, config, the command, where and how long it trained, held-out NLL)
and a summary table is printed and written to ``runs/summary.md``.

Notebook: docs/instructor.md
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .pretrained import CHECKPOINTS, machine_description, registry, ship_run

__all__ = ["Job", "JOBS", "CONDITIONING", "job_names", "train_command", "train_all", "summary_table"]

# The controls of the conditioned model the chapters 3 and 4 load.
CONDITIONING = ("density", "velocity", "pitch_classes", "key", "period", "group", "composer")


@dataclass(frozen=True)
class Job:
    """One model the chapters load: its registry name is ``<name>-<profile>``."""

    name: str
    model: str
    description: str
    controls: tuple[str, ...] = ()
    scheduled_sampling: float | None = None


JOBS = (
    Job("prnn", "performance_rnn", "Performance RNN trained with teacher forcing (chapters 2, 4–7)"),
    Job("prnn-ss", "performance_rnn", "Performance RNN with scheduled sampling up to 50 % (chapter 2)",
        scheduled_sampling=0.5),
    Job("prnn-cond", "performance_rnn", "Performance RNN conditioned on seven controls (chapters 3, 4, studio)",
        controls=CONDITIONING),
    Job("transformer", "transformer", "Transformer with absolute positions, the paper's baseline (chapter 7)"),
    Job("music-transformer", "music_transformer", "Music Transformer with relative attention (chapter 7)"),
)


def job_names() -> list[str]:
    return [j.name for j in JOBS]


def train_command(job: Job, profile: str, run: Path, *, nproc: int = 1, resume: bool = False,
                  overrides: dict | None = None) -> list[str]:
    """The ``course-lib train`` command line of a job (under ``torchrun`` when ``nproc > 1``)."""
    args = ["train", "--model", job.model, "--profile", profile, "--out", str(run), "--quiet"]
    if job.controls:
        args += ["--controls", *job.controls]
    if job.scheduled_sampling is not None:
        args += ["--scheduled-sampling", str(job.scheduled_sampling)]
    for key, value in (overrides or {}).items():
        if value is not None:
            values = value if isinstance(value, (list, tuple)) else [value]
            args += [f"--{key.replace('_', '-')}", *map(str, values)]
    if resume:
        args.append("--resume")
    if nproc > 1:
        return ["torchrun", "--standalone", f"--nproc_per_node={nproc}", "-m", "course_lib.cli", *args]
    return [sys.executable, "-m", "course_lib.cli", *args]


def _shown(command: list[str]) -> str:
    """The command as a person would type it."""
    if command[:3] == [sys.executable, "-m", "course_lib.cli"]:
        command = ["course-lib", *command[3:]]
    return shlex.join(c for c in command if c not in ("--quiet", "--resume"))


def train_all(profile: str = "full", out: str | Path = "runs", *, nproc: int = 1, only: list[str] | None = None,
              overrides: dict | None = None, ship_to: str | Path = CHECKPOINTS, trained_on: str | None = None,
              log=print) -> list[dict]:
    """Train (or resume, or skip when finished) and ship every job; returns the registry entries.

    Args:
        profile: ``"full"`` for the workshop's models, ``"quick"`` to rehearse the kit on a CPU.
        out: the folder of the run folders.
        nproc: processes per run (``torchrun --nproc_per_node``), e.g. the node's GPUs.
        only: job names to run (default: all of :data:`JOBS`).
        overrides: training settings for every job (``steps``, ``batch_size``, ``window``,
            ``collections``), e.g. to rehearse the kit in a minute.
        ship_to: where the checkpoints and their registry go (default: the package's).
        trained_on: the machine, for the registry (default: detected).

    Raises:
        ValueError: an unknown job name (the message lists them).
        RuntimeError: a training command failed (its command line is in the message; run it
            again with the same command to resume).
    """
    jobs = list(JOBS)
    if only:
        unknown = sorted(set(only) - set(job_names()))
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; choose from {job_names()}")
        jobs = [j for j in JOBS if j.name in only]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trained_on = trained_on or machine_description() + (f", torchrun x {nproc}" if nproc > 1 else "")
    entries = []
    for i, job in enumerate(jobs, 1):
        name, run = f"{job.name}-{profile}", out / f"{job.name}-{profile}"
        command = train_command(job, profile, run, nproc=nproc, resume=(run / "checkpoint.pt").exists(),
                                overrides=overrides)
        if (run / "model.pt").exists():
            log(f"[{i}/{len(jobs)}] {name}: finished before, not trained again ({run}/model.pt)")
        else:
            log(f"[{i}/{len(jobs)}] {name}: {'resuming' if '--resume' in command else 'training'}: {_shown(command)}")
            started = time.perf_counter()
            if subprocess.run(command).returncode != 0:
                raise RuntimeError(f"training {name} failed; fix the cause and run the same command again to "
                                   f"resume: {_shown(command)}")
            log(f"[{i}/{len(jobs)}] {name}: trained in {(time.perf_counter() - started) / 60:.1f} min")
        entry = ship_run(run, name, command=_shown(command), trained_on=trained_on, description=job.description,
                         folder=ship_to)
        log(f"[{i}/{len(jobs)}] {name}: shipped {Path(ship_to) / entry['file']}, held-out NLL "
            f"{entry['valid_nll']:.3f} nats/event")
        entries.append({"name": name, **entry})
    table = summary_table(entries)
    (out / "summary.md").write_text(table + "\n")
    log(table)
    return entries


def summary_table(entries: list[dict]) -> str:
    """A Markdown table of shipped runs: NLL, steps, wall time, events/s, machine."""
    rows = ["| model | held-out NLL (nats/event) | steps | wall (min) | training events/s | trained on |",
            "|---|---|---|---|---|---|"]
    for e in entries:
        rows.append(f"| {e['name']} | {e['valid_nll']:.3f} | {e['steps']:,} | {e['wall_minutes']:.1f} | "
                    f"{e['events_per_s']:,} | {e['trained_on']} |")
    return "\n".join(rows)


def shipped_summary(folder: str | Path | None = None) -> str:
    """:func:`summary_table` of everything in a registry."""
    return summary_table([{"name": n, **e} for n, e in registry(folder).items()])
