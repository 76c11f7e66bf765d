"""The instructor's kit: `course-lib train-all` trains, resumes, skips and ships every model."""

import sys

import pytest

from course_lib import cli
from course_lib.pretrained import registry, sha256
from course_lib.training import load_model
from course_lib.workshop import JOBS, job_names, train_all, train_command

TINY = {"steps": 2, "batch_size": 2, "window": 32, "collections": ["bach"]}


def test_every_model_the_chapters_load_has_a_job():
    assert job_names() == ["prnn", "prnn-ss", "prnn-cond", "transformer", "music-transformer"]
    assert {j.model for j in JOBS} == {"prnn", "transformer", "music-transformer"}


def test_commands_run_alone_or_under_torchrun(tmp_path):
    job = JOBS[2]
    alone = train_command(job, "full", tmp_path / "r", overrides={"steps": 5, "collections": ["bach", "mozart"]})
    assert alone[:3] == [sys.executable, "-m", "course_lib.cli"]
    assert alone[alone.index("--controls") + 1: alone.index("--controls") + 8] == list(job.controls)
    assert " --steps 5 --collections bach mozart" in " ".join(alone)
    assert "--resume" in train_command(job, "full", tmp_path / "r", resume=True)
    spread = train_command(job, "full", tmp_path / "r", nproc=4)
    assert spread[:4] == ["torchrun", "--standalone", "--nproc_per_node=4", "-m"]


def test_unknown_job_names_are_refused_with_the_list(tmp_path):
    with pytest.raises(ValueError, match="choose from"):
        train_all("quick", tmp_path, only=["gpt"])


@pytest.mark.slow
def test_train_all_trains_ships_skips_and_resumes(tmp_path):
    runs, shelf, said = tmp_path / "runs", tmp_path / "checkpoints", []
    entries = train_all("quick", runs, only=["prnn", "music-transformer"], overrides=TINY, ship_to=shelf,
                        trained_on="test machine", log=said.append)
    assert [e["name"] for e in entries] == ["prnn-quick", "music-transformer-quick"]
    shipped = registry(shelf)
    for e in entries:
        entry = shipped[e["name"]]
        assert entry["sha256"] == sha256(shelf / entry["file"])
        assert entry["config"]["steps"] == 2 and entry["config"]["collections"] == ["bach"]
        assert entry["command"].startswith("course-lib train --model") and entry["trained_on"] == "test machine"
        assert entry["valid_nll"] > 0
        model = load_model(shelf / entry["file"])
        assert model.train_step == 2
    assert (runs / "summary.md").read_text().count("| prnn-quick |") == 1

    # Interrupted after its last checkpoint: the next call resumes that run and skips the finished one.
    (runs / "prnn-quick" / "model.pt").unlink()
    said.clear()
    train_all("quick", runs, only=["prnn", "music-transformer"], overrides=TINY, ship_to=shelf,
              trained_on="test machine", log=said.append)
    assert any("prnn-quick: resuming" in line for line in said), said
    assert any("music-transformer-quick: finished before" in line for line in said), said
    assert (runs / "prnn-quick" / "model.pt").exists()


def test_the_command_line_reports_a_failed_run(tmp_path, capsys):
    # A batch larger than the collection's windows makes the training command fail: the kit says
    # which command to run again, with no traceback of its own.
    code = cli.main(["train-all", "--profile", "quick", "--only", "prnn", "--out", str(tmp_path / "runs"),
                     "--ship-to", str(tmp_path / "ck"), "--steps", "1", "--batch-size", "100000"])
    assert code == 2
    assert "run the same command again" in capsys.readouterr().err
