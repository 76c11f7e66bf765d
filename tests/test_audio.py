import os

os.environ.setdefault("MPLBACKEND", "Agg")
import time
import wave

import numpy as np
import pytest

from course_lib import audio
from course_lib.performance import Performance

SR = 22050
CHORD = Performance.from_notes([(60, 80, 0.0, 1.0), (64, 80, 0.5, 1.5), (67, 100, 1.0, 2.0)])


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize("backend", ["soundfont", "sine", "auto"])
def test_synthesize_shape_dtype_and_level(backend):
    y = audio.synthesize(CHORD, SR, backend)
    assert y.dtype == np.float32 and y.ndim == 1
    # The duration plus the release tail, nothing more.
    assert len(y) == int(np.ceil((CHORD.duration + audio.TAIL_SECONDS) * SR))
    assert np.isclose(np.abs(y).max(), audio.PEAK, atol=1e-3)
    assert _rms(y[: int(2.0 * SR)]) > 0.01  # sound while notes play
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("backend", ["soundfont", "sine"])
def test_empty_performance_is_short_silence(backend):
    y = audio.synthesize(Performance.empty(), SR, backend)
    assert y.dtype == np.float32
    assert len(y) == int(np.ceil(audio.TAIL_SECONDS * SR))
    assert not np.any(y)


def test_soundfont_backend_really_runs_here():
    """The GM soundfont from pretty_midi and symusic's synthesizer work: no silent fallback."""
    assert audio.soundfont_path().name == "TimGM6mb.sf2"
    audio.synthesize(CHORD, SR, "soundfont")
    assert audio.last_backend == "soundfont"
    audio.synthesize(CHORD, SR, "auto")
    assert audio.last_backend == "soundfont"
    audio.synthesize(CHORD, SR, "sine")
    assert audio.last_backend == "sine"


def test_missing_soundfont_raises_or_falls_back(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(RuntimeError, match="missing.sf2"):
        audio.synthesize(CHORD, SR, "soundfont")
    with pytest.warns(RuntimeWarning, match="sine"):
        y = audio.synthesize(CHORD, SR, "auto")
    assert audio.last_backend == "sine" and np.abs(y).max() > 0


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        audio.synthesize(CHORD, SR, "fluidsynth")


@pytest.mark.parametrize("backend", ["sine", "soundfont"])
def test_higher_velocity_is_louder(backend):
    # The same note twice, soft then loud, in one performance (symusic 0.5.9 alone
    # ignores velocity; synthesize mixes velocity groups to restore it).
    perf = Performance.from_notes([(60, 30, 0.0, 0.5), (60, 110, 1.0, 1.5)])
    y = audio.synthesize(perf, SR, backend)
    soft, loud = _rms(y[: SR // 2]), _rms(y[SR : SR + SR // 2])
    assert loud > 4 * soft
    # Unnormalised levels compare across calls.
    quiet = audio.synthesize(perf.slice(0, 0.9), SR, backend, normalize=False)
    assert _rms(quiet[: SR // 2]) < _rms(
        audio.synthesize(perf.slice(1.0, 2.0), SR, backend, normalize=False)[: SR // 2]
    )


def test_sine_pitch_is_right():
    y = audio.synthesize(Performance.from_notes([(69, 100, 0.0, 1.0)]), SR, "sine")
    spectrum = np.abs(np.fft.rfft(y[:SR]))
    assert abs(np.argmax(spectrum) * SR / SR - 440.0) < 2.0  # 1 Hz bins over one second


def test_sine_is_fast_enough():
    rng = np.random.default_rng(0)
    n = 600  # ~10 notes per second for 60 s
    start = np.sort(rng.uniform(0, 60, n))
    perf = Performance(
        rng.integers(36, 96, n), rng.integers(20, 127, n), start, start + rng.uniform(0.1, 1.0, n)
    )
    t0 = time.perf_counter()
    audio.synthesize(perf, SR, "sine")
    assert time.perf_counter() - t0 < 2.0  # ~0.2 s here; generous for slow CI


def test_write_wav_readable(tmp_path):
    path = audio.write_wav(CHORD, tmp_path / "out" / "chord.wav", sample_rate=16000, backend="sine")
    with wave.open(str(path)) as f:
        assert f.getnchannels() == 1 and f.getsampwidth() == 2 and f.getframerate() == 16000
        frames = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    assert len(frames) == int(np.ceil((CHORD.duration + audio.TAIL_SECONDS) * 16000))
    assert 0.85 * 32767 < np.abs(frames).max() <= 32767


def test_write_wav_from_samples(tmp_path):
    samples = np.sin(np.linspace(0, 100, 8000)).astype(np.float32) * 0.5
    path = audio.write_wav(samples, tmp_path / "s.wav", sample_rate=8000)
    with wave.open(str(path)) as f:
        assert f.getnframes() == 8000


def _wav_info(clip):
    """(sample rate, channels, frames) of the WAV an IPython Audio object embeds."""
    import io

    with wave.open(io.BytesIO(clip.data)) as f:
        return f.getframerate(), f.getnchannels(), f.getnframes()


def test_play_clip_and_empty():
    long = Performance.from_notes([(60 + i % 12, 80, i * 0.5, i * 0.5 + 0.4) for i in range(40)])  # 20 s
    assert _wav_info(audio.play(long, seconds=3.0, backend="sine")) == (SR, 1, 3 * SR)
    rate, channels, frames = _wav_info(audio.play(Performance.empty()))
    assert (rate, channels) == (SR, 1) and frames > 0
    assert _wav_info(audio.play(CHORD, seconds=None))[2] == len(audio.synthesize(CHORD, SR))
    assert "<audio" in audio.play(CHORD, seconds=1.0)._repr_html_()
