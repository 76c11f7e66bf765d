"""Tiny files cannot make the course allocate gigabytes: a note of 10⁷ s is cut when encoded,
and a primer taken from a file costs what its opening costs (issue 17, section 3)."""

import struct
import time

import numpy as np
import pytest

from course_lib.midi import read_midi_bytes


def long_note_file(seconds: float = 1e7) -> bytes:
    """A MIDI file of a few dozen bytes: one note lasting ``seconds``."""
    tempo = 0xFFFFFF  # µs per quarter, the slowest a file can say; one tick per quarter
    ticks = round(seconds * 1e6 / tempo)
    vlq = [ticks & 0x7F]
    while ticks > 0x7F:
        ticks >>= 7
        vlq.append(0x80 | (ticks & 0x7F))
    body = (b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big") + b"\x00\x90\x3c\x64"
            + bytes(reversed(vlq)) + b"\x80\x3c\x00" + b"\x00\xff\x2f\x00")
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 1) + b"MTrk" + struct.pack(">I", len(body)) + body


def test_the_file_is_tiny_and_its_note_lasts_ten_million_seconds():
    data = long_note_file()
    assert len(data) < 50
    assert read_midi_bytes(data).end[0] == pytest.approx(1e7, rel=1e-3)


def test_course_lib_encode_cuts_the_note(tmp_path, capsys):
    from course_lib.cli import main

    path = tmp_path / "long.mid"
    path.write_bytes(long_note_file())
    start = time.perf_counter()
    with pytest.warns(UserWarning, match="longer than 300 s"):
        main(["encode", str(path)])
    assert time.perf_counter() - start < 30
    events = capsys.readouterr().out.split()
    assert 300 < len(events) < 310  # a velocity, the note-on, 300 one-second shifts, the note-off


def test_the_studio_primes_with_the_opening_only():
    from course_lib.widgets import Studio

    studio = Studio(model="prnn-cpu")
    studio.use_midi(long_note_file(), "long.mid")
    events = studio.primer_events()
    assert len(events) < 50  # six seconds of one note, then a second of silence
    result = studio.generate()
    assert len(result.performance) >= 0 and np.isfinite(result.performance.end).all()


def test_course_lib_generate_primes_with_the_opening_only(tmp_path):
    from course_lib.cli import main

    path = tmp_path / "long.mid"
    path.write_bytes(long_note_file(1e9))  # a note far longer than any encoding may hold
    start = time.perf_counter()
    main(["generate", "--checkpoint", "prnn-cpu", "--primer", str(path), "--primer-events", "50",
          "--seconds", "2", "--out", str(tmp_path / "out.mid"), "--quiet"])
    assert time.perf_counter() - start < 60 and (tmp_path / "out.mid").exists()


def test_the_studio_plays_another_model_when_its_default_is_damaged(tmp_path, monkeypatch):
    import json
    import shutil

    from course_lib import pretrained
    from course_lib.widgets import DEFAULT_MODELS, Studio

    folder = tmp_path / "checkpoints"
    shutil.copytree(pretrained.CHECKPOINTS, folder)
    registry = json.loads((folder / "registry.json").read_text())
    first = next(m for m in DEFAULT_MODELS if m in registry)
    damaged = folder / registry[first]["file"]
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(pretrained, "CHECKPOINTS", folder)
    with pytest.warns(UserWarning, match=f"the studio plays .*{first}"):
        studio = Studio()
    assert studio.model_name != first


def test_generate_shows_seconds_rounded(capsys):
    import io

    from course_lib.pretrained import load_pretrained
    from course_lib.search import generate

    stream = io.StringIO()
    import tqdm.auto

    real = tqdm.auto.tqdm
    tqdm.auto.tqdm = lambda *a, **k: real(*a, **{**k, "file": stream})
    try:
        generate(load_pretrained("prnn-cpu"), None, strategy="sample", seconds=2.0, progress=True)
    finally:
        tqdm.auto.tqdm = real
    shown = stream.getvalue()
    assert "/2.0 s of music" in shown and "0000000" not in shown


def test_pitch_classes_with_nan_are_refused_wherever_they_come_from():
    from course_lib.controls import ControlSpec

    spec = ControlSpec(["pitch_classes"])
    with pytest.raises(ValueError, match="finite"):
        spec.request(pitch_classes=[float("nan")] + [1.0] * 11)
    assert spec.request(pitch_classes=[1.0] * 12).shape[-1] == spec.size
