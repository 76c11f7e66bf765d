"""Runs are never destroyed by accident (issue 17, section 2): a run folder is refused unless
resumed or replaced, train-all compares configurations, run files carry their sha256, and the
everyday mistakes get a clear error instead of a traceback."""

import builtins
import io
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib import checkpoints, cli, pretrained, workshop
from course_lib.checkpoints import CheckpointError, HashMismatch, prepare_run_folder, save_checkpoint
from course_lib.models import PerformanceRNN, RNNConfig
from course_lib.performance import Performance
from course_lib.training import TrainConfig, load_model, pick_device, train
from course_lib.windows import EventWindows

TINY = {"embed_dim": 8, "hidden_size": 16, "num_layers": 1, "dropout": 0.0}


def _windows(n, seed):
    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(n):
        pitch = int(rng.integers(48, 60)) + np.tile([0, 2, 4, 5, 7, 9, 11, 12], 8)
        start = np.arange(len(pitch)) * 0.25
        pieces.append(Performance(pitch, np.full(len(pitch), 80), start, start + 0.2))
    return EventWindows(pieces, 32)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run: checkpoint.pt, model.pt, metrics, config, sha256.json."""
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(model_config=TINY, window=32, batch_size=4, steps=4, eval_every=4, eval_windows=4,
                         checkpoint_every=2)
    train(config, _windows(4, 0), _windows(1, 1), out, progress=False, log=lambda s: None)
    return out, config


def _copy(run, to):
    to.mkdir()
    for f in run.iterdir():
        (to / f.name).write_bytes(f.read_bytes())
    return to


# -- train --out on an existing run --------------------------------------------------------------
def test_train_refuses_a_folder_that_holds_a_run(finished, tmp_path, capsys):
    run, _ = finished
    before = {f.name: f.read_bytes() for f in run.iterdir()}
    assert cli.main(["train", "--out", str(run), "--steps", "3", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "holds a run already" in err and "--resume" in err and "--overwrite" in err and "Traceback" not in err
    assert {f.name: f.read_bytes() for f in run.iterdir()} == before   # nothing touched
    assert cli.main(["train", "--out", str(run), "--resume", "--overwrite"]) == 2
    assert "choose one" in capsys.readouterr().err


def test_overwrite_removes_the_run_files_and_nothing_else(finished, tmp_path):
    run = _copy(finished[0], tmp_path / "r")
    (run / "notes.txt").write_text("mine")
    prepare_run_folder(run, resume=True)          # resuming keeps everything
    assert (run / "model.pt").exists()
    prepare_run_folder(run, overwrite=True)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]
    prepare_run_folder(tmp_path / "new")          # an empty or missing folder is fine


# -- train-all compares configurations ----------------------------------------------------------
def _job_run(tmp_path, job, overrides, **config_changes):
    """A finished run folder of a train-all job, holding the config train-all asks for (changed)."""
    config = workshop.requested_config(job, "quick", overrides)
    config = TrainConfig.from_dict({**config.to_dict(), **config_changes})
    run = tmp_path / "runs" / pretrained.shipped_name(job.name, "quick")
    save_checkpoint(run / "model.pt", model=PerformanceRNN(RNNConfig(**config.model_config)), config=config)
    return run


def test_train_all_skips_only_the_same_configuration(tmp_path):
    job, overrides = workshop.JOBS[0], {"steps": 50}
    run = _job_run(tmp_path, job, overrides)
    plan = workshop._plan(job, "quick", tmp_path / "runs", nproc=1, overrides=overrides, force=False)
    assert plan.same and not plan.refusal
    said = []
    workshop._train_or_skip(plan, said.append)
    assert "not trained again" in said[0]
    # the same folder, asked for 3 steps: refused with the difference, nothing touched
    with pytest.raises(CheckpointError, match=r"steps: 50 there, 3 asked.*--force"):
        workshop.train_all("quick", tmp_path / "runs", only=[job.name], overrides={"steps": 3},
                           ship_to=tmp_path / "ck", log=lambda s: None)
    assert (run / "model.pt").exists() and not (tmp_path / "ck").exists()
    forced = workshop._plan(job, "quick", tmp_path / "runs", nproc=1, overrides={"steps": 3}, force=True)
    assert "--overwrite" in forced.command and "--resume" not in forced.command and not forced.refusal


def test_train_all_refusal_on_the_command_line(tmp_path, capsys):
    _job_run(tmp_path, workshop.JOBS[0], {"steps": 50}, lr=0.5)
    code = cli.main(["train-all", "--profile", "quick", "--only", "prnn", "--steps", "50",
                     "--out", str(tmp_path / "runs"), "--ship-to", str(tmp_path / "ck")])
    err = capsys.readouterr().err
    assert code == 2 and "lr: 0.5 there, 0.003 asked" in err and "Traceback" not in err


# -- run files carry their sha256 ---------------------------------------------------------------
def test_run_files_carry_their_hashes_and_damage_is_reported(finished, tmp_path):
    run = _copy(finished[0], tmp_path / "r")
    hashes = json.loads((run / "sha256.json").read_text())
    assert set(hashes) == {"model.pt", "checkpoint.pt"}
    assert all(hashes[n] == checkpoints.sha256(run / n) for n in hashes)
    data = bytearray((run / "model.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / "model.pt").write_bytes(bytes(data))
    with pytest.raises(HashMismatch, match="model.pt: sha256 .* does not match"):
        load_model(run)
    (run / "checkpoint.pt").write_bytes((run / "checkpoint.pt").read_bytes()[:-10] + b"0123456789")
    with pytest.raises(HashMismatch, match="checkpoint.pt"):
        train(finished[1], _windows(4, 0), _windows(1, 1), run, resume=True, progress=False, log=lambda s: None)


def _opens_of(path, monkeypatch):
    """A list that records every opening of ``path`` (by builtins.open, io.open, Path.open, torch.load)."""
    opened, real = [], builtins.open

    def counting(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve() == Path(path).resolve():
            opened.append(file)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting)
    monkeypatch.setattr(io, "open", counting)
    return opened


def test_the_bytes_hashed_are_the_bytes_loaded(finished, monkeypatch):
    run, _ = finished
    opened = _opens_of(run / "model.pt", monkeypatch)
    load_model(run)
    assert len(opened) == 1
    name = "prnn-cpu"
    opened = _opens_of(pretrained.CHECKPOINTS / pretrained.registry()[name]["file"], monkeypatch)
    pretrained.load_pretrained(name)
    assert len(opened) == 1


# -- clear errors ---------------------------------------------------------------------------------
def test_a_model_pt_given_as_checkpoint_pt_is_named(finished, tmp_path):
    out, config = tmp_path / "r", finished[1]
    save_checkpoint(out / "checkpoint.pt", model=load_model(finished[0]), config=config)   # weights only
    with pytest.raises(CheckpointError, match="weights only .* not the optimizer state"):
        train(config, _windows(4, 0), _windows(1, 1), out, resume=True, progress=False, log=lambda s: None)


def test_a_checkpoint_without_its_config_is_named(tmp_path):
    torch.save({"format": 1, "state_dict": {}}, tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="bare.pt: a checkpoint without its config"):
        load_model(tmp_path / "bare.pt")


def test_a_broken_registry_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "registry.json").write_text('{"prnn-cpu": {"file": ')
    monkeypatch.setattr(pretrained, "_REGISTRY", tmp_path / "registry.json")
    with pytest.raises(CheckpointError, match=r"registry.json: the checkpoint registry is broken"):
        pretrained.load_pretrained("prnn")
    (tmp_path / "registry.json").write_text('{"prnn-cpu": {"file": "prnn-cpu.pt"}}')
    with pytest.raises(CheckpointError, match="entry 'prnn-cpu' lacks its sha256"):
        pretrained.registry()
    assert cli.main(["models", "--folder", str(tmp_path)]) == 2
    assert str(tmp_path / "registry.json") in capsys.readouterr().err


def test_generate_refuses_a_folder_as_out_before_generating(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pretrained, "load", lambda *a, **k: pytest.fail("generated before checking --out"))
    assert cli.main(["generate", "--checkpoint", "prnn", "--out", str(tmp_path), "--quiet"]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_full_disk_is_said_and_leaves_no_tmp(finished, tmp_path):
    model = load_model(finished[0])
    path = save_checkpoint(tmp_path / "model.pt", model=model, config=finished[1])
    before = path.read_bytes()
    os.symlink("/dev/full", tmp_path / "model.pt.tmp")   # writing there fails with ENOSPC
    with pytest.raises(OSError, match="the disk is full") as err:
        save_checkpoint(path, model=model, config=finished[1])
    assert err.value.errno == 28
    assert not os.path.lexists(tmp_path / "model.pt.tmp") and path.read_bytes() == before
    assert load_model(path) is not None   # its recorded hash still matches


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_device_this_machine_lacks_is_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="not a device name"):
        pick_device("gpu")
    assert cli.main(["train", "--device", "cuda", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv, message", [
    (["train", "--out", "r", "--batch-size", "0"], "must be at least 1"),
    (["train", "--out", "r", "--batch-size", "-3"], "must be at least 1"),
    (["train", "--out", "r", "--steps", "0"], "must be at least 1"),
    (["train-all", "--steps", "-1"], "must be at least 1"),
    (["generate", "--checkpoint", "prnn", "--seconds", "0"], "above 0 and at most 3,600"),
    (["generate", "--checkpoint", "prnn", "--seconds", "nan"], "above 0 and at most 3,600"),
    (["generate", "--checkpoint", "prnn", "--seconds", "inf"], "above 0 and at most 3,600"),
    (["generate", "--checkpoint", "prnn", "--seconds", "1e7"], "above 0 and at most 3,600"),
    (["generate", "--checkpoint", "prnn", "--events", "0"], "must be at least 1"),
])
def test_impossible_numbers_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_impossible_numbers_are_refused_by_the_library_too():
    for field in ("batch_size", "steps"):
        for bad in (0, -3, 2.5):
            with pytest.raises(ValueError, match=f"{field} must be a whole number"):
                TrainConfig(**{field: bad})
    assert math.isfinite(cli.MAX_SECONDS)


def test_pitch_classes_with_nan_are_refused(capsys):
    model = pretrained.load_pretrained("prnn-cond")
    with pytest.raises(ValueError, match="finite numbers"):
        cli._requested_controls(model, ["pitch_classes=nan,0,1,0,1,1,0,1,0,1,0,1"])
    with pytest.raises(ValueError, match="finite numbers"):
        cli._requested_controls(model, ["density=inf"])
    assert cli._requested_controls(model, ["pitch_classes=1,0,1,0,1,1,0,1,0,1,0,1", "period=Baroque"]) is not None
