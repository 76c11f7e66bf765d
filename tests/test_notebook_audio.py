"""The notebooks keep their sound: every player has a stored output, as a small MP3.

Stored players are what GitHub and the book site play (tools/notebook_audio.py stores them).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from tool_loader import load_tool

from course_lib import audio
from course_lib.performance import Performance

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOUNDING = re.compile(r"\baudio\.play\(|\bAudio\(")
BUDGET = 10e6  # bytes of stored audio (base64) over all notebooks


tool = load_tool("notebook_audio", "notebook_audio")


def _scale(seconds: float) -> Performance:
    n = int(seconds * 4)
    start = np.arange(n) * 0.25
    return Performance(pitch=60 + np.arange(n) % 12, start=start, end=start + 0.2, velocity=np.full(n, 80))


def _mp3_of(html: str) -> bytes:
    (data,) = re.findall(r'data:audio/mpeg;base64,([A-Za-z0-9+/=]+)', html)
    return base64.b64decode(data)


def test_a_player_becomes_an_mp3_of_a_seventh_of_its_size():
    wav_html = audio.play(_scale(10), seconds=10, backend="sine")._repr_html_()
    mp3_html = tool.compact_html(wav_html)
    assert "audio/wav" not in mp3_html and 'type="audio/mpeg"' in mp3_html
    assert "<audio" in mp3_html and "controls" in mp3_html
    mp3 = _mp3_of(mp3_html)
    assert mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0, "no MP3 frame sync at the start"
    seconds = 10 + audio.TAIL_SECONDS
    assert abs(len(mp3) - seconds * tool.KBPS * 125) < 0.05 * seconds * tool.KBPS * 125  # constant bit rate
    assert len(mp3_html) < len(wav_html) / 6


def test_mp3_bytes_takes_samples_or_notes():
    samples = audio.synthesize(_scale(2), backend="sine")
    assert audio.mp3_bytes(samples)[:2] == audio.mp3_bytes(_scale(2), backend="sine")[:2]
    with pytest.raises(ValueError, match="mono"):
        audio.mp3_bytes(np.zeros((2, 100)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_player_of_a_chapter_has_its_sound_stored(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or not SOUNDING.search(cell.source):
            continue
        assert tool.has_audio(cell), f"no stored player for:\n{cell.source[:200]}\nrun: make notebook-audio"
        assert "NBVAL_CHECK_OUTPUT" not in cell.source, "a player's sound may differ across machines"
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert "data:audio/wav" not in html, "a stored WAV player: store it as MP3 (tools/notebook_audio.py)"


def test_stored_audio_stays_small():
    total = sum(tool.audio_bytes(nbformat.read(p, as_version=4)) for p in NOTEBOOKS)
    assert 0 < total < BUDGET, f"{total / 1e6:.1f} MB of stored audio"
