"""The training engine on small synthetic music (fast); the corpus run is in test_training_corpus.py."""

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib.data import EventWindows
from course_lib.performance import Performance
from course_lib.search import generate_seconds, greedy, sample
from course_lib.training import (CheckpointError, TrainConfig, baselines, evaluate, load_model, profile_config,
                                 save_checkpoint, train)

TINY = {"embed_dim": 16, "hidden_size": 48, "num_layers": 1, "dropout": 0.1}


def _scales(n_pieces, seed):
    """Rising scales with a steady pulse: easy to learn, far below the unigram baseline."""
    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(n_pieces):
        root = int(rng.integers(48, 60))
        pitch = root + np.tile([0, 2, 4, 5, 7, 9, 11, 12], 20)
        start = np.arange(len(pitch)) * 0.25
        pieces.append(Performance(pitch, np.full(len(pitch), 80), start, start + 0.2))
    return pieces


@pytest.fixture(scope="module")
def data():
    train_w = EventWindows(_scales(12, 0), 48, augment=True)
    valid_w = EventWindows(_scales(3, 1), 48, stride=48)
    return train_w, valid_w


def _config(**kw):
    base = dict(model_config=TINY, window=48, batch_size=16, steps=40, lr=1e-2, warmup_steps=5,
                eval_every=20, eval_windows=32, checkpoint_every=10)
    return TrainConfig(**{**base, **kw})


def test_training_beats_the_baselines(data, tmp_path):
    train_w, valid_w = data
    model = train(_config(steps=120), train_w, valid_w, tmp_path, progress=False, log=lambda s: None)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    valid = [r["valid_loss"] for r in rows if "valid_loss" in r]
    base = baselines([train_w[i]["events"].numpy() for i in range(len(train_w))],
                     [valid_w[i]["events"].numpy() for i in range(len(valid_w))])
    assert valid[-1] < valid[0] and valid[-1] < base["unigram"] - 0.5
    assert (tmp_path / "model.pt").exists() and (tmp_path / "checkpoint.pt").exists()
    assert load_model(tmp_path, model="performance_rnn").train_step == 120


def test_resume_after_kill_gives_the_same_parameters(data, tmp_path):
    train_w, valid_w = data
    config = _config(steps=30, scheduled_sampling=0.5)
    straight = train(config, train_w, valid_w, tmp_path / "a", progress=False, log=lambda s: None)
    # "killed" after 17 steps: the last checkpoint is at step 10, so steps 11–17 are redone
    train(config, train_w, valid_w, tmp_path / "b", progress=False, stop_after=17, log=lambda s: None)
    resumed = train(config, train_w, valid_w, tmp_path / "b", resume=True, progress=False, log=lambda s: None)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)
    log_a = (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()
    log_b = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in log_b] == list(range(1, 31))
    assert [json.loads(r)["train_loss"] for r in log_a] == pytest.approx([json.loads(r)["train_loss"] for r in log_b])


def test_resume_with_another_configuration_is_refused(data, tmp_path):
    train_w, valid_w = data
    train(_config(steps=10), train_w, valid_w, tmp_path, progress=False, log=lambda s: None)
    with pytest.raises(CheckpointError, match="another configuration"):
        train(_config(steps=10, lr=0.5), train_w, valid_w, tmp_path, resume=True, progress=False)


def test_mismatched_or_damaged_checkpoints_are_refused_clearly(tmp_path):
    from course_lib.models import PerformanceRNN, RNNConfig

    config = _config()
    save_checkpoint(tmp_path / "m.pt", model=PerformanceRNN(RNNConfig(**TINY)), config=config)
    with pytest.raises(CheckpointError, match="hidden_size: checkpoint 48 vs asked 256"):
        load_model(tmp_path / "m.pt", profile="quick")
    with pytest.raises(CheckpointError, match="not a 'music_transformer'"):
        load_model(tmp_path / "m.pt", model="music_transformer")
    (tmp_path / "bad.pt").write_bytes((tmp_path / "m.pt").read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_model(tmp_path / "none.pt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"no model.pt .* \(course-lib train --out .*empty\)"):
        load_model(tmp_path / "empty")
    assert load_model(tmp_path / "m.pt", model_config=TINY).config.hidden_size == 48


def test_loading_never_runs_code_from_the_file(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    torch.save({"format": 1, "payload": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


def test_sampling_is_reproducible_with_a_seed(data, tmp_path):
    train_w, valid_w = data
    model = train(_config(steps=10), train_w, valid_w, tmp_path, progress=False, log=lambda s: None)
    draws = [sample(model, [370, 60], 50, generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert np.array_equal(*draws)
    other = sample(model, [370, 60], 50, generator=torch.Generator().manual_seed(8))
    assert not np.array_equal(draws[0], other)
    assert greedy(model, [370, 60], 20).shape == (20,)
    events = generate_seconds(model, 3.0, generator=torch.Generator().manual_seed(0))
    shifts = events[(events >= 256) & (events < 356)] - 255
    assert shifts.sum() >= 300 and shifts[:-1].sum() < 300


def test_profiles_and_config_errors():
    assert profile_config("full").model_config["hidden_size"] == 512
    assert profile_config("quick", steps=5).steps == 5
    with pytest.raises(ValueError, match="unknown profile"):
        profile_config("medium")
    with pytest.raises(ValueError, match="unknown model"):
        TrainConfig(model="wavenet")
    mt = profile_config("full", model="music_transformer")
    assert mt.model_config["layers"] == 6 and mt.model_config["relative"] and mt.window == 2048
    assert profile_config("quick", model="transformer").model_config["relative"] is False


DDP_SCRIPT = """
import sys, torch, torch.distributed as dist
sys.path.insert(0, {tests!r})
from test_training import _scales, TINY
from course_lib.data import EventWindows
from course_lib.models import model_profile
from course_lib.training import TrainConfig, train
dist.init_process_group("gloo")
name = {model!r}
config = TINY if name == "performance_rnn" else {{**model_profile(name, "quick"), "d_model": 32, "heads": 4, "layers": 2,
                                                 "ff": 64, "max_distance": 64}}
cfg = TrainConfig(model=name, model_config=config, window=48, batch_size=16, steps=12, eval_every=6, eval_windows=8,
                  checkpoint_every=6, lr=1e-2, warmup_steps=2)
model = train(cfg, EventWindows(_scales(8, 0), 48, augment=True), EventWindows(_scales(2, 1), 48),
              {out!r}, progress=False, log=lambda s: None)
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, flat)
assert all(torch.equal(gathered[0], g) for g in gathered), "ranks disagree"
print(f"rank {{dist.get_rank()}} agrees, checksum {{flat.sum().item():.6f}}")
dist.destroy_process_group()
"""


@pytest.mark.parametrize("model", ["performance_rnn", "music_transformer"])
def test_ddp_with_two_cpu_processes(tmp_path, model):
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT.format(tests=str(Path(__file__).parent), out=str(tmp_path / "run"), model=model))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("agrees") == 2
    assert (tmp_path / "run" / "model.pt").exists()


def test_generate_command_writes_midi_and_audio(data, tmp_path):
    train_w, valid_w = data
    train(_config(steps=10), train_w, valid_w, tmp_path / "run", progress=False, log=lambda s: None)
    primer = tmp_path / "primer.mid"
    from course_lib.midi import read_midi, write_midi

    write_midi(_scales(1, 5)[0], primer)
    out = tmp_path / "sample.mid"
    result = subprocess.run([sys.executable, "-m", "course_lib.cli", "generate", "--checkpoint", str(tmp_path / "run"),
                             "--seconds", "3", "--primer", str(primer), "--out", str(out), "--wav", "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.exists() and out.with_suffix(".wav").exists()
    read_midi(out)
    result = subprocess.run([sys.executable, "-m", "course_lib.cli", "generate", "--checkpoint",
                             str(tmp_path / "nothing-here"), "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 2 and "no such checkpoint" in result.stderr and "Traceback" not in result.stderr


def test_a_conditioned_model_trains_resumes_and_loads(tmp_path):
    from course_lib.controls import ControlSpec

    spec = ControlSpec(("density", "position"))
    train_w = EventWindows(_scales(8, 0), 48, augment=True, controls=spec, drop_controls=0.5)
    valid_w = EventWindows(_scales(2, 1), 48, stride=48, controls=spec)
    config = _config(steps=12, controls=("density", "position"), scheduled_sampling=0.3)
    assert config.model_config["control_dim"] == spec.size
    train(config, train_w, valid_w, tmp_path, progress=False, stop_after=7, log=lambda s: None)
    model = train(config, train_w, valid_w, tmp_path, resume=True, progress=False, log=lambda s: None)
    loaded = load_model(tmp_path)
    assert loaded.config.control_dim == spec.size and loaded.train_config.controls == ("density", "position")
    request = torch.as_tensor(spec.request(density=4.0))
    events = sample(loaded, [370, 60], 20, controls=request, generator=torch.Generator().manual_seed(0))
    assert events.shape == (20,)
    assert np.isfinite(evaluate(model, valid_w))
    from course_lib.training import window_losses

    per_window = window_losses(model, valid_w, batch_size=3)
    assert per_window.shape == (len(valid_w),)
    assert per_window.mean() == pytest.approx(evaluate(model, valid_w), rel=1e-5)
    blind = window_losses(model, valid_w, [0, 1], given=())
    assert blind.shape == (2,) and not np.allclose(blind, per_window[:2])


def test_generate_command_takes_controls_and_refuses_bad_ones(tmp_path, capsys):
    from course_lib import cli
    from course_lib.controls import ControlSpec
    from course_lib.midi import read_midi

    spec = ControlSpec(("density", "period", "pitch_classes"))
    train_w = EventWindows(_scales(4, 0), 48, controls=spec, drop_controls=0.5)
    config = _config(steps=3, controls=spec.names, eval_every=3, checkpoint_every=3)
    train(config, train_w, train_w, tmp_path / "run", progress=False, log=lambda s: None)
    out = tmp_path / "s.mid"
    base = ["generate", "--checkpoint", str(tmp_path / "run"), "--seconds", "1", "--out", str(out), "--quiet"]
    assert cli.main(base + ["--control", "density=6", "--control", "period=Baroque",
                            "--control", "pitch_classes=1,0,1,0,1,1,0,1,0,1,0,1"]) == 0
    read_midi(out)
    assert cli.main(base) == 0  # no control given: all missing
    for bad, message in [("density=fast", "density needs a number"), ("period=Jazz", "unknown period 'Jazz'"),
                         ("tempo=120", "no control \\['tempo'\\]"), ("density", "write NAME=VALUE"),
                         ("pitch_classes=1,2", "12 non-negative weights")]:
        capsys.readouterr()
        assert cli.main(base + ["--control", bad]) == 2
        err = capsys.readouterr().err
        assert re.search(message, err), err
    train(_config(steps=2), EventWindows(_scales(2, 0), 48), EventWindows(_scales(1, 1), 48), tmp_path / "plain",
          progress=False, log=lambda s: None)
    plain = ["generate", "--checkpoint", str(tmp_path / "plain"), "--seconds", "1", "--out", str(out), "--quiet"]
    assert cli.main(plain + ["--control", "density=6"]) == 2
    assert "trained without controls" in capsys.readouterr().err


def test_generate_command_runs_every_strategy(data, tmp_path, capsys):
    from course_lib import cli
    from course_lib.midi import read_midi

    train_w, valid_w = data
    train(_config(steps=5), train_w, valid_w, tmp_path / "run", progress=False, log=lambda s: None)
    out = tmp_path / "s.mid"
    base = ["generate", "--checkpoint", str(tmp_path / "run"), "--out", str(out), "--quiet", "--events", "30"]
    assert cli.main(base + ["--strategy", "beam", "--beam-size", "3"]) == 0
    assert [read_midi(tmp_path / n) is not None for n in ("s.mid", "s-2.mid", "s-3.mid")] == [True] * 3
    assert cli.main(base + ["--strategy", "stochastic-beam", "--beam-size", "2", "--out", str(tmp_path / "t.mid")]) == 0
    assert (tmp_path / "t-2.mid").exists() and not (tmp_path / "t-3.mid").exists()
    assert cli.main(base + ["--strategy", "greedy", "--seconds", "1", "--out", str(tmp_path / "g.mid")]) == 0
    capsys.readouterr()
    assert cli.main(base + ["--strategy", "beam", "--beam-size", "0"]) == 2
    assert "beam_size must be >= 1" in capsys.readouterr().err
