"""Keep the notebooks' sound in their stored outputs, compressed, so GitHub readers and the book hear it.

    python tools/notebook_audio.py notebooks/*.ipynb       # run each, store its players as MP3
    python tools/notebook_audio.py --report notebooks/*.ipynb

An audio player made by ``course_lib.audio.play`` (or ``IPython.display.Audio``) embeds a WAV:
about 59 kB per second once in base64. :func:`compact_outputs` re-encodes every embedded WAV as
a 48 kbit/s MP3 (about 8 kB per second in base64) with ``course_lib.audio.mp3_bytes``.

:func:`store_audio` runs a copy of a notebook and writes into the notebook only the outputs of
the cells that play sound (compacted); every other cell keeps its stored outputs, so the cells
that nbval compares (``# NBVAL_CHECK_OUTPUT``) are untouched. nbval's lax mode compares no
player: their sound may differ from machine to machine.
"""

from __future__ import annotations

import base64
import io
import re
import sys
import time
import wave
from pathlib import Path

import nbformat
import numpy as np

from course_lib.audio import mp3_bytes

KBPS = 48
_WAV = re.compile(r'src="data:audio/(?:x-)?wav;base64,([A-Za-z0-9+/=\s]+)"(\s+type=")audio/(?:x-)?wav"')
_ANY = re.compile(r'data:audio/[\w.+-]+;base64,([A-Za-z0-9+/=\s]+)')


def _html(output) -> str:
    return output.get("data", {}).get("text/html", "") if output.get("output_type") in (
        "display_data", "execute_result") else ""


def _mp3_of_wav(wav: bytes, kbps: int) -> bytes:
    with wave.open(io.BytesIO(wav)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"expected 16-bit WAV, got {8 * width}-bit")
    samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1) / 32768.0
    return mp3_bytes(samples.astype(np.float32), rate, kbps=kbps)


def compact_html(html: str, kbps: int = KBPS) -> str:
    """``html`` with every embedded WAV replaced by an MP3 of it."""
    def mp3(match: re.Match) -> str:
        data = _mp3_of_wav(base64.b64decode("".join(match.group(1).split())), kbps)
        return f'src="data:audio/mpeg;base64,{base64.b64encode(data).decode("ascii")}"{match.group(2)}audio/mpeg"'

    return _WAV.sub(mp3, html)


def compact_outputs(nb: nbformat.NotebookNode, kbps: int = KBPS) -> nbformat.NotebookNode:
    """Every embedded WAV player of ``nb``'s outputs re-encoded as MP3 (in place; returns ``nb``)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = _html(output)
            if "data:audio/" in html:
                output["data"]["text/html"] = compact_html(html, kbps)
    return nb


def has_audio(cell) -> bool:
    return any("<audio" in _html(o) for o in cell.get("outputs", []))


def audio_bytes(nb: nbformat.NotebookNode) -> int:
    """Bytes of embedded audio (base64, as stored) in ``nb``'s outputs."""
    return sum(len("".join(m.group(1).split())) for c in nb.cells for o in c.get("outputs", [])
               for m in _ANY.finditer(_html(o)))


def store_audio(path: Path, kbps: int = KBPS, timeout: int = 900) -> tuple[int, int]:
    """Run a copy of the notebook at ``path`` and store the outputs of its sounding cells, compacted.

    Returns:
        (cells updated, bytes of stored audio in the notebook now).
    """
    from nbclient import NotebookClient

    path = Path(path)
    ran = nbformat.read(path, as_version=4)
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(ran, timeout=timeout, kernel_name="python3", resources=resources).execute()
    compact_outputs(ran, kbps)
    fresh = {c.source: c for c in ran.cells if c.cell_type == "code" and has_audio(c)}
    nb = nbformat.read(path, as_version=4)  # read again: only the sounding cells change
    updated = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source in fresh:
            cell.outputs = fresh[cell.source].outputs
            count = cell.execution_count or fresh[cell.source].execution_count  # keep the stored numbering
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = count
            cell.get("metadata", {}).pop("execution", None)
            updated += 1
    nbformat.write(nb, path)
    return updated, audio_bytes(nb)


if __name__ == "__main__":
    paths = [Path(a) for a in sys.argv[1:] if not a.startswith("--")]
    total = 0
    for p in paths:
        if "--report" in sys.argv:
            n = audio_bytes(nbformat.read(p, as_version=4))
            print(f"{p}: {n / 1e6:.2f} MB of stored audio")
        else:
            started = time.perf_counter()
            updated, n = store_audio(p)
            seconds = time.perf_counter() - started
            print(f"{p}: {updated} sounding cells stored, {n / 1e6:.2f} MB of audio, {seconds:.0f} s")
        total += n
    print(f"total: {total / 1e6:.2f} MB of stored audio")
