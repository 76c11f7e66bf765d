"""The headless smoke of the course's main job: corpus → events → MIDI, audio, picture."""

import shutil
import subprocess
import sys
import wave
from pathlib import Path

from course_lib.midi import read_midi

COMMAND = [sys.executable, "-m", "course_lib.cli"]


def test_demo_writes_midi_audio_and_picture(tmp_path):
    result = subprocess.run(COMMAND + ["demo", "--out", str(tmp_path), "--quiet"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "bach/bwv66.6" in result.stdout
    stem = str(tmp_path / "bach_bwv66.6")
    midi = read_midi(Path(stem + ".decoded.mid"))
    assert len(midi) > 100
    with wave.open(stem + ".wav") as w:
        assert w.getframerate() == 22050 and w.getnchannels() == 1
        assert w.getnframes() / 22050 > midi.duration
    png = Path(stem + ".pianoroll.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    names = Path(stem + ".events.txt").read_text().split()
    assert names[0].startswith("VELOCITY(") and any(n.startswith("TIME_SHIFT(") for n in names)


def test_demo_on_a_midi_file_and_a_bad_one(tmp_path):
    result = subprocess.run(COMMAND + ["demo", "--out", str(tmp_path / "a"), "--midi",
                                       str(_a_midi_file(tmp_path))], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "a" / "song.wav").exists()
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x99\x99")
    result = subprocess.run(COMMAND + ["demo", "--out", str(tmp_path / "b"), "--midi", str(bad)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "broken.mid" in result.stderr and "Traceback" not in result.stderr


def test_encode_command_prints_events(tmp_path):
    result = subprocess.run(COMMAND + ["encode", str(_a_midi_file(tmp_path)), "--names", "--limit", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["VELOCITY(19)", "NOTE_ON(60)", "TIME_SHIFT(500 ms)"]


def _a_midi_file(tmp_path):
    from course_lib.midi import write_midi
    from course_lib.performance import Performance

    path = tmp_path / "song.mid"
    if not path.exists():
        write_midi(Performance.from_notes([(60, 80, 0, 0.5), (64, 80, 0.5, 1.0)]), path)
    return path
