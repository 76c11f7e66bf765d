"""The shipped checkpoints: hash-checked, and as good as their registry entry says."""

import json
import shutil

import pytest

from course_lib import pretrained
from course_lib.training import CheckpointError, corpus_windows, evaluate

ENTRIES = pretrained.registry()


def test_the_chapters_models_are_registered():
    assert {"prnn-cpu", "prnn-cpu-ss", "prnn-cpu-cond", "transformer-cpu", "music-transformer-cpu"} <= set(ENTRIES)
    for name, entry in ENTRIES.items():
        assert entry["command"] and entry["trained_on"] and entry["steps"] > 0, name
        # the full Music Transformer is 51 MB in fp16; GitHub refuses files over 100 MB
        assert (pretrained.CHECKPOINTS / entry["file"]).stat().st_size < 100e6, "too big to ship in git"


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_shipped_checkpoint_reproduces_its_nll_on_the_course_evaluation_set(name):
    from course_lib.evaluation import EVAL_SET, heldout_nll

    entry = ENTRIES[name]
    assert entry["eval_set"] == EVAL_SET  # one model, one number, on one named set
    assert heldout_nll(pretrained.load_pretrained(name)).mean == pytest.approx(entry["heldout_nll"], abs=2e-3)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_shipped_checkpoint_reproduces_its_recorded_held_out_nll(name):
    model = pretrained.load_pretrained(name)
    entry = model.registry_entry
    _, valid = corpus_windows(model.train_config, progress=False)
    nll = evaluate(model, valid, max_windows=entry["valid_windows"])
    assert nll == pytest.approx(entry["valid_nll"], abs=2e-3)


def test_a_damaged_or_unknown_checkpoint_is_refused(tmp_path, monkeypatch):
    name = sorted(ENTRIES)[0]
    entry = ENTRIES[name]
    shutil.copy(pretrained.CHECKPOINTS / entry["file"], tmp_path / entry["file"])
    (tmp_path / "registry.json").write_text(json.dumps(ENTRIES))
    monkeypatch.setattr(pretrained, "CHECKPOINTS", tmp_path)
    monkeypatch.setattr(pretrained, "_REGISTRY", tmp_path / "registry.json")
    assert pretrained.load_pretrained(name) is not None
    data = bytearray((tmp_path / entry["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / entry["file"]).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the registry"):
        pretrained.load_pretrained(name)
    (tmp_path / entry["file"]).unlink()
    with pytest.raises(CheckpointError, match="missing; reproduce it with"):
        pretrained.load_pretrained(name)
    with pytest.raises(CheckpointError, match="available"):
        pretrained.load_pretrained("no-such-model")


def test_a_family_name_loads_the_best_shipped_member(tmp_path, monkeypatch):
    """The chapters ask for "prnn": the instructor's `full` model when shipped, else the CPU one."""
    assert pretrained.resolve("prnn") == ("prnn-full" if "prnn-full" in ENTRIES else "prnn-cpu")
    assert pretrained.resolve("prnn-cpu") == "prnn-cpu"
    entries = {**ENTRIES, "prnn-full": ENTRIES["prnn-cpu"]}
    (tmp_path / "registry.json").write_text(json.dumps(entries))
    monkeypatch.setattr(pretrained, "_REGISTRY", tmp_path / "registry.json")
    assert pretrained.resolve("prnn") == "prnn-full"
    assert pretrained.resolve("music-transformer") == "music-transformer-cpu"
    with pytest.raises(CheckpointError, match="or a family"):
        pretrained.resolve("gpt")


def test_models_lists_what_is_shipped(capsys):
    from course_lib import cli

    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    for name, entry in ENTRIES.items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert f"{entry['heldout_nll']:.3f}" in line and f"{entry['steps']:,} steps of" in line, line
        assert entry["trained_on"] in line and "small" in line, line
    assert next(line for line in out.splitlines() if line.startswith("prnn-cpu-cond ")).split()[1] == "prnn-cond"


def test_generate_takes_a_shipped_name_or_family(tmp_path, capsys):
    from course_lib import cli
    from course_lib.midi import read_midi

    out = tmp_path / "s.mid"
    for name in ("prnn-cond", "prnn-cpu-cond-long"):
        assert cli.main(["generate", "--checkpoint", name, "--control", "period=Baroque", "--seconds", "1",
                         "--out", str(out), "--quiet"]) == 0
        read_midi(out)
    assert cli.main(["generate", "--checkpoint", "music-transformer", "--seconds", "1", "--out", str(out),
                     "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["generate", "--checkpoint", "prnn-typo", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no such checkpoint file or run folder here" in err and "prnn-cpu-cond-long" in err
