"""One vocabulary for models (issue 16, item 5): kinds, sizes, families and shipped names,
with every older spelling still accepted where a learner may have typed it."""

import json
from pathlib import Path

import pytest

import course_lib
from course_lib import cli, pretrained
from course_lib.models import (KIND_ALIASES, MODEL_KINDS, MusicTransformer, PerformanceRNN, build_model, model_kind,
                               model_profile, model_size, size_name)
from course_lib.training import TrainConfig, profile_config

ENTRIES = pretrained.registry()


def test_kinds_have_one_spelling_and_accept_the_older_ones():
    assert list(MODEL_KINDS) == ["prnn", "transformer", "music-transformer"]
    for old, new in KIND_ALIASES.items():
        assert model_kind(old) == new
        assert TrainConfig(model=old) == TrainConfig(model=new)   # stored in today's spelling
        assert type(build_model(old, model_size(new, "small"))) is MODEL_KINDS[new]
    assert TrainConfig(model="performance_rnn").model == "prnn"
    assert profile_config("full", model="music_transformer").window == 2048
    with pytest.raises(ValueError, match="known: prnn, transformer, music-transformer"):
        model_kind("wavenet")


def test_a_size_is_not_a_profile_but_the_older_word_still_works():
    assert size_name("quick") == "small" and size_name("full") == "large"
    assert model_profile("prnn", "full") == model_size("prnn", "large")
    assert PerformanceRNN.from_profile("full").config == PerformanceRNN.from_size("large").config
    assert MusicTransformer.from_size("small").config.d_model == 128
    # the training setup (profile) picks a size; the size can be chosen apart from it
    assert profile_config("quick").size == "small" and profile_config("full").size == "large"
    assert profile_config("quick", size="large").model_config == model_size("prnn", "large")
    assert TrainConfig(profile="full").size == "large"                 # the older keyword
    stored = {**TrainConfig().to_dict(), "model": "performance_rnn", "profile": "quick"}
    del stored["size"]
    assert TrainConfig.from_dict(stored) == TrainConfig()              # a checkpoint from before
    with pytest.raises(ValueError, match="unknown size 'medium'"):
        model_size("prnn", "medium")


def test_shipped_names_read_kind_tag_variant():
    assert pretrained.canonical_name("prnn-ss-full") == "prnn-full-ss"
    assert pretrained.canonical_name("prnn-cond-full") == "prnn-full-cond"
    assert pretrained.canonical_name("prnn-cpu-cond-long") == "prnn-cpu-cond-long"
    assert pretrained.canonical_name("music-transformer-cpu") == "music-transformer-cpu"
    assert pretrained.canonical_name("music_transformer") == "music-transformer"
    assert pretrained.canonical_name("my-own-model") == "my-own-model"
    assert pretrained.FAMILIES["prnn-cond"] == ("prnn-full-cond", "prnn-cpu-cond")
    for name in ENTRIES:   # every shipped name is already in today's spelling, and starts with its kind
        assert pretrained.canonical_name(name) == name
        assert name.split("-")[0] in {"prnn", "transformer", "music"}


def _registry(tmp_path, monkeypatch, entries):
    (tmp_path / "registry.json").write_text(json.dumps(entries))
    monkeypatch.setattr(pretrained, "_REGISTRY", tmp_path / "registry.json")


def test_older_spellings_load_the_same_model(tmp_path, monkeypatch):
    assert pretrained.resolve("performance_rnn") == pretrained.resolve("prnn")
    assert pretrained.resolve("prnn-ss-cpu") == "prnn-cpu-ss"
    # an instructor's registry from before the names were unified, and one from after
    _registry(tmp_path, monkeypatch, {**ENTRIES, "prnn-cond-full": ENTRIES["prnn-cpu-cond"]})
    assert pretrained.resolve("prnn-cond") == "prnn-cond-full"
    assert pretrained.resolve("prnn-full-cond") == "prnn-cond-full"
    _registry(tmp_path, monkeypatch, {**ENTRIES, "prnn-full-ss": ENTRIES["prnn-cpu-ss"]})
    assert pretrained.resolve("prnn-ss") == pretrained.resolve("prnn-ss-full") == "prnn-full-ss"
    model = pretrained.load_pretrained("prnn-ss-full")
    assert model.registry_entry["name"] == "prnn-full-ss"


def test_the_registry_speaks_the_same_vocabulary():
    for name, entry in ENTRIES.items():
        assert entry["model"] in MODEL_KINDS, name
        assert entry["size"] in ("small", "large") and "profile" not in entry, name
        assert "music_transformer" not in entry["command"] and "performance_rnn" not in entry["command"]
    assert {row["family"] for row in pretrained.shipped_models()} >= set(pretrained.FAMILIES)


def test_the_command_line_takes_kinds_and_sizes():
    parser = cli._parser()
    args = parser.parse_args(["train", "--model", "music-transformer", "--size", "large", "--out", "r"])
    assert cli.train_config(args).model_config == model_size("music-transformer", "large")
    old = parser.parse_args(["train", "--model", "music_transformer", "--out", "r"])
    assert cli.train_config(old) == cli.train_config(parser.parse_args(["train", "--model", "music-transformer",
                                                                        "--out", "r"]))
    assert cli.train_config(parser.parse_args(["train", "--out", "r"])).model == "prnn"


def test_every_module_is_reachable_from_the_package():
    files = {p.stem for p in Path(course_lib.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    files |= {p.parent.name for p in Path(course_lib.__file__).parent.glob("*/__init__.py")}
    assert files <= course_lib._MODULES
    for name in ("widgets", "grading", "workshop", "windows", "measure", "relative_kernel", "checkpoints"):
        assert getattr(course_lib, name).__name__ == f"course_lib.{name}"


def test_dead_code_is_gone():
    from course_lib import corpus, workshop

    assert not hasattr(workshop, "shipped_summary")
    assert not hasattr(corpus, "main")


def test_the_corpus_command_calls_report_with_its_options(monkeypatch):
    from course_lib import corpus

    calls = []
    monkeypatch.setattr(corpus, "report", lambda **kw: calls.append(kw))
    assert cli.main(["corpus", "--build", "--collections", "bach", "--workers", "2", "--cache-dir", "/tmp/c"]) == 0
    assert calls == [{"build": True, "collections": ["bach"], "workers": 2, "cache_dir": "/tmp/c"}]
