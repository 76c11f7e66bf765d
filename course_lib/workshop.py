"""The instructor's kit: train every model the chapters load, with one command.

    course-lib train-all --profile full                 # one after the other, on the best device
    course-lib train-all --profile full --nproc 4       # each with torchrun on 4 GPUs
    make full                                           # the same as the first line

Each model trains in its own run folder (``runs/<name>``, named as it ships: ``prnn-full``,
``prnn-full-cond``, ... see :mod:`course_lib.pretrained`) and is resumable: run the same
command again after an interruption and a finished model is skipped, an unfinished one
continues from its last checkpoint; both only when the run's stored configuration is the one
asked for. A run of another configuration (other steps, say) is refused with the difference,
or trained again from scratch with ``--force``. Each finished run is shipped (fp16 weights and
a registry entry: sha256, config, the command, where and how long it trained, held-out NLL)
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

from .checkpoints import CheckpointError, run_files, stored_config
from .pretrained import CHECKPOINTS, FAMILIES, machine_description, ship_run, shipped_name

__all__ = ["Job", "JOBS", "CONDITIONING", "job_names", "train_command", "requested_config", "train_all",
           "summary_table"]

# The controls of the conditioned model the chapters 3 and 4 load.
CONDITIONING = ("density", "velocity", "pitch_classes", "key", "period", "group", "composer")


@dataclass(frozen=True)
class Job:
    """One model the chapters load: ``name`` is its family (:data:`course_lib.pretrained.FAMILIES`),
    ``model`` its kind; it ships as ``shipped_name(name, profile)`` (``prnn-full-cond``)."""

    name: str
    model: str
    description: str
    controls: tuple[str, ...] = ()
    scheduled_sampling: float | None = None


JOBS = (
    Job("prnn", "prnn", "Performance RNN trained with teacher forcing (chapters 2, 4–7)"),
    Job("prnn-ss", "prnn", "Performance RNN with scheduled sampling up to 50 % (chapter 2)",
        scheduled_sampling=0.5),
    Job("prnn-cond", "prnn", "Performance RNN conditioned on seven controls (chapters 3, 4, studio)",
        controls=CONDITIONING),
    Job("transformer", "transformer", "Transformer with absolute positions, the paper's baseline (chapter 7)"),
    Job("music-transformer", "music-transformer", "Music Transformer with relative attention (chapter 7)"),
)
assert [j.name for j in JOBS] == list(FAMILIES), "every family the chapters ask for has a job"


def job_names() -> list[str]:
    return [j.name for j in JOBS]


def _train_args(job: Job, profile: str, run: Path, overrides: dict | None) -> list[str]:
    """The arguments of ``course-lib train`` for a job (without ``--resume``/``--overwrite``)."""
    args = ["train", "--model", job.model, "--profile", profile, "--out", str(run), "--quiet"]
    if job.controls:
        args += ["--controls", *job.controls]
    if job.scheduled_sampling is not None:
        args += ["--scheduled-sampling", str(job.scheduled_sampling)]
    for key, value in (overrides or {}).items():
        if value is not None:
            values = value if isinstance(value, (list, tuple)) else [value]
            args += [f"--{key.replace('_', '-')}", *map(str, values)]
    return args


def train_command(job: Job, profile: str, run: Path, *, nproc: int = 1, resume: bool = False,
                  overrides: dict | None = None, overwrite: bool = False) -> list[str]:
    """The ``course-lib train`` command line of a job (under ``torchrun`` when ``nproc > 1``)."""
    args = _train_args(job, profile, run, overrides) + ["--resume"] * resume + ["--overwrite"] * overwrite
    if nproc > 1:
        return ["torchrun", "--standalone", f"--nproc_per_node={nproc}", "-m", "course_lib.cli", *args]
    return [sys.executable, "-m", "course_lib.cli", *args]


def requested_config(job: Job, profile: str, overrides: dict | None = None):
    """The :class:`~course_lib.config.TrainConfig` the job's ``course-lib train`` command trains,
    read from that very command line (so the two cannot disagree)."""
    from .cli import _parser, train_config

    return train_config(_parser().parse_args(_train_args(job, profile, Path("run"), overrides)))


def _shown(command: list[str]) -> str:
    """The command as a person would type it."""
    if command[:3] == [sys.executable, "-m", "course_lib.cli"]:
        command = ["course-lib", *command[3:]]
    return shlex.join(c for c in command if c not in ("--quiet", "--resume", "--overwrite"))


def train_all(profile: str = "full", out: str | Path = "runs", *, nproc: int = 1, only: list[str] | None = None,
              overrides: dict | None = None, ship_to: str | Path = CHECKPOINTS, trained_on: str | None = None,
              force: bool = False, log=print) -> list[dict]:
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
        force: train a run folder that holds another configuration again, from scratch
            (without it, such a folder is refused and left as it is).

    Raises:
        ValueError: an unknown job name (the message lists them).
        CheckpointError: a run folder holds a run of another configuration (the message lists the
            differences) and ``force`` is off; nothing has been trained or shipped for it.
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
    plans = [_plan(job, profile, out, nproc=nproc, overrides=overrides, force=force) for job in jobs]
    refused = [plan.refusal for plan in plans if plan.refusal]
    if refused:  # before anything is trained, so one look tells every conflict
        raise CheckpointError("\n".join(refused))
    entries = []
    for i, plan in enumerate(plans, 1):
        def say(text: str, prefix: str = f"[{i}/{len(plans)}] {plan.name}") -> None:
            log(f"{prefix}: {text}")

        _train_or_skip(plan, say)
        entry = ship_run(plan.run, plan.name, command=_shown(plan.command), trained_on=trained_on,
                         description=plan.job.description, folder=ship_to)
        say(f"shipped {Path(ship_to) / entry['file']}, NLL {entry['heldout_nll']:.3f} nats/event on {entry['eval_set']}")
        entries.append({"name": plan.name, **entry})
    table = summary_table(entries)
    (out / "summary.md").write_text(table + "\n")
    log(table)
    return entries


def _run_folder(out: Path, job: Job, profile: str) -> Path:
    """``out/<shipped name>``; a run started under the older folder name (``prnn-cond-full``) goes on there."""
    run, older = out / shipped_name(job.name, profile), out / f"{job.name}-{profile}"
    return older if older != run and older.exists() and not run.exists() else run


@dataclass(frozen=True)
class _Plan:
    """What train-all does with one job: its run folder, the command, and whether the folder
    already holds this configuration (finished or not), or a refusal to say."""

    job: Job
    name: str
    run: Path
    command: list[str]
    same: bool
    refusal: str = ""


def _plan(job: Job, profile: str, out: Path, *, nproc: int, overrides: dict | None, force: bool) -> _Plan:
    """Compare the run folder's stored configuration with the one asked for: the same one is
    resumed (or skipped when finished); another one is refused, or replaced with ``force``."""
    name, run = shipped_name(job.name, profile), _run_folder(out, job, profile)
    held = bool(run_files(run))
    stored = stored_config(run) if held else None
    differences = stored.differences(requested_config(job, profile, overrides)) if stored is not None else {}
    same = held and stored is not None and not differences
    command = train_command(job, profile, run, nproc=nproc, overrides=overrides, resume=same,
                            overwrite=held and not same)
    refusal = ""
    if held and not same and not force:
        what = ("another configuration (" + "; ".join(f"{k}: {a!r} there, {b!r} asked"
                                                      for k, (a, b) in sorted(differences.items())) + ")"
                if stored is not None else "a configuration that cannot be read")
        refusal = (f"{run}: holds a run of {what}; nothing was trained or shipped. Ask for the same settings "
                   "to finish or ship it, add --force to train it again from scratch (replacing it), or use "
                   "another --out")
    return _Plan(job, name, run, command, same, refusal)


def _train_or_skip(plan: _Plan, say) -> None:
    """Skip a finished run of this configuration; resume or train the others."""
    if plan.same and (plan.run / "model.pt").exists():
        say(f"finished before with this configuration, not trained again ({plan.run}/model.pt)")
        return
    say(f"{'resuming' if plan.same else 'training'}: {_shown(plan.command)}")
    started = time.perf_counter()
    if subprocess.run(plan.command).returncode != 0:
        raise RuntimeError(f"training {plan.name} failed; fix the cause and run the same command again to "
                           f"resume: {_shown(plan.command)}")
    say(f"trained in {(time.perf_counter() - started) / 60:.1f} min")


def summary_table(entries: list[dict]) -> str:
    """A Markdown table of shipped runs: NLL, steps, wall time, events/s, machine."""
    rows = ["| model | NLL on heldout-v1 (nats/event) | steps | wall (min) | training events/s | trained on |",
            "|---|---|---|---|---|---|"]
    for e in entries:
        rows.append(f"| {e['name']} | {e['heldout_nll']:.3f} | {e['steps']:,} | {e['wall_minutes']:.1f} | "
                    f"{e['events_per_s']:,} | {e['trained_on']} |")
    return "\n".join(rows)
