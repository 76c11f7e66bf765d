"""Hearing a performance: synthesis to a waveform, a player for notebooks, WAV files.

Two synthesizers turn a :class:`~course_lib.performance.Performance` into sound:

* ``"soundfont"`` — symusic's C++ sample player with the General MIDI soundfont
  that pretty_midi's wheel ships (``TimGM6mb.sf2``, 6 MB): a real piano sound,
  fully offline; a 150 s piece renders in well under a second on one core.
* ``"sine"`` — a few lines of numpy additive synthesis (four harmonics and an
  attack/decay/release envelope). It sounds like an organ, but it has no
  dependency beyond numpy and shows what "synthesis" means.

``"auto"`` uses the soundfont and falls back to sine (with a warning) if the
soundfont or symusic's synthesizer is unavailable. ``last_backend`` tells which
synthesizer rendered the last call.

symusic 0.5.9's synthesizer ignores note velocities (every note sounds equally
loud), so :func:`synthesize` renders the notes in groups of similar velocity and
mixes the groups with a gain of ``(velocity / 127) ** 2``, the soundfont
standard's default velocity curve. The sine synthesizer uses the same curve, so
both backends play dynamics the same way.

Notebook: notebooks/01_event_encoding.ipynb (and every chapter that plays music)
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import os
import warnings
import wave
from pathlib import Path

import numpy as np

from .performance import Performance

__all__ = [
    "BACKENDS",
    "TAIL_SECONDS",
    "last_backend",
    "soundfont_path",
    "synthesize",
    "velocity_gain",
    "play",
    "write_wav",
    "wav_bytes",
    "mp3_bytes",
]

BACKENDS = ("auto", "soundfont", "sine")
TAIL_SECONDS = 0.5
"""Silence kept after the last note ends, so its release rings out."""

PEAK = 0.9
"""Synthesized audio is scaled so that its loudest sample is this (unless silent)."""

VELOCITY_GROUPS = 16
"""The soundfont backend renders notes in this many velocity groups (see module doc)."""

last_backend: str | None = None
"""The backend that rendered the most recent :func:`synthesize` call ("soundfont"/"sine")."""


# -- shared helpers ---------------------------------------------------------------------
def velocity_gain(velocity) -> np.ndarray:
    """Amplitude of a note of this MIDI velocity: ``(velocity / 127) ** 2``.

    Args:
        velocity: MIDI velocities (1–127), a number or an array.

    Returns:
        Gains in (0, 1] as float64.
    """
    return (np.asarray(velocity, dtype=np.float64) / 127.0) ** 2


def _n_samples(performance: Performance, sample_rate: int) -> int:
    return int(np.ceil((performance.duration + TAIL_SECONDS) * sample_rate))


def _fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad ``audio`` to exactly ``n`` samples."""
    if len(audio) >= n:
        return audio[:n]
    return np.concatenate([audio, np.zeros(n - len(audio), dtype=audio.dtype)])


def _normalize(audio: np.ndarray, peak: float = PEAK) -> np.ndarray:
    loudest = float(np.abs(audio).max()) if len(audio) else 0.0
    return audio * (peak / loudest) if loudest > 0 else audio


# -- the soundfont backend --------------------------------------------------------------
def soundfont_path() -> Path:
    """The General MIDI soundfont used by the ``"soundfont"`` backend.

    ``$COURSE_SOUNDFONT`` may name another ``.sf2`` file; otherwise it is the
    ``TimGM6mb.sf2`` installed with pretty_midi.

    Returns:
        Path of the soundfont file.

    Raises:
        FileNotFoundError: the file does not exist (say where it should be).
    """
    custom = os.environ.get("COURSE_SOUNDFONT")
    path = Path(custom) if custom else Path(str(importlib.resources.files("pretty_midi") / "TimGM6mb.sf2"))
    if not path.is_file():
        raise FileNotFoundError(
            f"soundfont {path} not found; reinstall pretty_midi (its wheel ships TimGM6mb.sf2) "
            "or set COURSE_SOUNDFONT to a .sf2 file"
        )
    return path


@functools.lru_cache(maxsize=4)
def _synthesizer(path: str, sample_rate: int):
    import symusic

    return symusic.Synthesizer(path, sample_rate, 0)


def _soundfont_score(performance: Performance, index: np.ndarray, total_seconds: float):
    """A symusic score (time in seconds) of the notes ``index``, plus a silent marker
    note that makes the rendering last ``total_seconds``."""
    import symusic

    score = symusic.Score(ttype="second")
    track = symusic.Track(program=int(performance.program), ttype="second")
    track.notes = symusic.Note.from_numpy(
        performance.start[index].astype(np.float32),
        (performance.end[index] - performance.start[index]).astype(np.float32),
        performance.pitch[index].astype(np.int8),
        performance.velocity[index].astype(np.int8),
        ttype="second",
    )
    score.tracks.append(track)
    # The renderer stops at the last note-off, cutting the release. A drum-channel
    # note on key 0 (no instrument in General MIDI) is silent but extends the render.
    marker = symusic.Track(is_drum=True, ttype="second")
    marker.notes.append(symusic.Note(total_seconds - 0.01, 0.01, 0, 1, ttype="second"))
    score.tracks.append(marker)
    return score


def _render_soundfont(performance: Performance, sample_rate: int) -> np.ndarray:
    synth = _synthesizer(str(soundfont_path()), int(sample_rate))
    n = _n_samples(performance, sample_rate)
    out = np.zeros(n, dtype=np.float32)
    groups = np.minimum(performance.velocity.astype(np.int64) * VELOCITY_GROUPS // 128, VELOCITY_GROUPS - 1)
    for group in np.unique(groups):
        index = np.flatnonzero(groups == group)
        score = _soundfont_score(performance, index, n / sample_rate)
        stereo = synth.render(score, stereo=True)  # shape (2, samples), Fortran order
        mono = _fit_length(0.5 * (stereo[0] + stereo[1]), n)
        out += velocity_gain(performance.velocity[index].mean()) * mono
    return out


# -- the sine backend -------------------------------------------------------------------
HARMONICS = np.array([1.0, 0.5, 0.25, 0.12])
"""Relative amplitudes of partials 1, 2, 3, 4 of the sine synthesizer."""

ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.3, 0.35, 0.25
"""Envelope of the sine synthesizer: seconds, seconds, level, seconds."""


def _attack_decay(n: int, sample_rate: int) -> np.ndarray:
    """Envelope while a key is held: a linear attack, then a decay towards SUSTAIN."""
    t = np.arange(n, dtype=np.float32) / sample_rate
    return np.minimum(t / ATTACK, 1.0) * (SUSTAIN + (1 - SUSTAIN) * np.exp(-t / DECAY))


def _render_sine(performance: Performance, sample_rate: int) -> np.ndarray:
    """Additive synthesis, one note at a time (each note is a few numpy operations)."""
    n = _n_samples(performance, sample_rate)
    out = np.zeros(n, dtype=np.float32)
    if not len(performance):
        return out
    first = np.round(performance.start * sample_rate).astype(np.int64)
    held = np.maximum(np.round((performance.end - performance.start) * sample_rate).astype(np.int64), 1)
    n_release = int(RELEASE * sample_rate)
    freq = 440.0 * 2.0 ** ((performance.pitch - 69) / 12.0)
    gain = velocity_gain(performance.velocity)

    # Shared by all notes: the held envelope (cut to each note's length), the release
    # (an exponential fade that reaches exactly zero), and a sample counter.
    attack_decay = _attack_decay(int(held.max()), sample_rate)
    u = np.arange(n_release, dtype=np.float32) / n_release
    release = np.exp(-5 * u) * (1 - u)
    ramp = np.arange(int(held.max()) + n_release, dtype=np.float32)

    for i in range(len(performance)):
        h = held[i]
        envelope = np.concatenate([attack_decay[:h], attack_decay[h - 1] * release])
        phase = np.float32(2 * np.pi * freq[i] / sample_rate) * ramp[: len(envelope)]
        tone = np.zeros_like(phase)
        for k, amp in enumerate(HARMONICS, start=1):
            if freq[i] * k < sample_rate / 2:  # partials above Nyquist would alias
                tone += np.float32(amp) * np.sin(k * phase)
        end = min(first[i] + len(envelope), n)
        out[first[i] : end] += np.float32(gain[i]) * (envelope * tone)[: end - first[i]]
    return out


# -- public API -------------------------------------------------------------------------
def synthesize(
    performance: Performance,
    sample_rate: int = 22050,
    backend: str = "auto",
    *,
    normalize: bool = True,
) -> np.ndarray:
    """Render a performance to a mono waveform.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        performance: the notes to play (``performance.program`` picks the GM instrument
            for the soundfont backend).
        sample_rate: samples per second.
        backend: ``"soundfont"`` (raises if it cannot run), ``"sine"``, or ``"auto"``
            (soundfont, else sine with a warning). ``last_backend`` records which ran.
        normalize: scale so the loudest sample is 0.9 (silence stays silence). With
            ``False`` the raw levels are kept, e.g. to compare loudness across calls.

    Returns:
        float32 array of ``ceil((duration + TAIL_SECONDS) * sample_rate)`` samples.
    """
    global last_backend
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not isinstance(performance, Performance):
        raise TypeError(f"synthesize() needs a Performance, got {type(performance).__name__}")
    if sample_rate < 1000:
        raise ValueError(f"sample_rate must be at least 1000 Hz, got {sample_rate}")

    if backend == "sine":
        audio, used = _render_sine(performance, sample_rate), "sine"
    else:
        try:
            audio, used = _render_soundfont(performance, sample_rate), "soundfont"
        except Exception as err:
            if backend == "soundfont":
                raise RuntimeError(f"the soundfont synthesizer failed: {err}") from err
            warnings.warn(
                f"soundfont synthesis failed ({err}); using the sine synthesizer instead",
                RuntimeWarning,
                stacklevel=2,
            )
            audio, used = _render_sine(performance, sample_rate), "sine"
    last_backend = used
    if normalize:
        audio = _normalize(audio)
    return audio.astype(np.float32)


def _as_audio(source, sample_rate: int, backend: str) -> np.ndarray:
    """A performance is synthesized; an array is taken as mono samples in [-1, 1]."""
    if isinstance(source, Performance):
        return synthesize(source, sample_rate, backend)
    audio = np.asarray(source, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected mono samples (a 1-D array), got shape {audio.shape}")
    return audio


def play(
    performance: Performance | np.ndarray,
    seconds: float | None = 30.0,
    sample_rate: int = 22050,
    backend: str = "auto",
):
    """A player for a notebook cell: the first ``seconds`` of the performance.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        performance: the notes (or samples already synthesized at ``sample_rate``).
        seconds: how much to play (``None``: all). The clip is embedded in the notebook
            as a WAV (about 44 kB per second), so keep it short.
        sample_rate: 22,050 Hz keeps notebooks small and is plenty for a piano.
        backend: see :func:`synthesize`.

    Returns:
        An ``IPython.display.Audio`` object (an empty performance plays 0.5 s of silence).
    """
    from IPython.display import Audio

    if isinstance(performance, Performance) and seconds is not None:
        performance = performance.slice(0.0, seconds)
    audio = _as_audio(performance, sample_rate, backend)
    if seconds is not None and len(audio) > seconds * sample_rate:
        audio = audio[: int(seconds * sample_rate)].copy()
        fade = min(len(audio), int(0.05 * sample_rate))  # no click where the clip is cut
        audio[len(audio) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    if len(audio) == 0 or not np.abs(audio).max() > 0:
        audio = np.zeros(max(len(audio), int(0.5 * sample_rate)), dtype=np.float32)
    return Audio(np.clip(audio, -1.0, 1.0), rate=sample_rate, normalize=False)


def write_wav(
    performance: Performance | np.ndarray,
    path: str | os.PathLike,
    sample_rate: int = 22050,
    backend: str = "auto",
) -> Path:
    """Write a performance as a 16-bit PCM mono WAV file.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        performance: the notes (or samples already synthesized at ``sample_rate``).
        path: the file to write (parent folders are created).
        sample_rate: samples per second.
        backend: see :func:`synthesize`.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(performance, sample_rate, backend))
    return path


def wav_bytes(
    performance: Performance | np.ndarray,
    sample_rate: int = 22050,
    backend: str = "auto",
) -> bytes:
    """The content of a 16-bit PCM mono WAV file of a performance (or of samples), e.g.
    for an audio widget or a download; arguments as :func:`write_wav`."""
    audio = _as_audio(performance, sample_rate, backend)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def mp3_bytes(
    performance: Performance | np.ndarray,
    sample_rate: int = 22050,
    backend: str = "auto",
    *,
    kbps: int = 48,
) -> bytes:
    """The content of a mono MP3 file of a performance (or of samples), about a seventh of the
    WAV's size at the default 48 kbit/s: for players whose sound is kept in a notebook's stored
    outputs (tools/notebook_audio.py, the book site). Every browser plays MP3.

    Notebook: stored players of every chapter (tools/notebook_audio.py)

    Args:
        performance: the notes (or samples already synthesized at ``sample_rate``).
        sample_rate: samples per second (MP3 allows 8,000–48,000 Hz; 22,050 keeps a piano clear).
        backend: see :func:`synthesize`.
        kbps: the constant bit rate, in kbit/s.

    Returns:
        The MP3 bytes.

    Raises:
        ImportError: the encoder ``lameenc`` is missing (``pip install lameenc``; ``make setup``
            installs it with the test tools).
    """
    try:
        import lameenc
    except ImportError as err:
        raise ImportError("MP3 needs the lameenc package: pip install lameenc (make setup installs it)") from err
    audio = _as_audio(performance, sample_rate, backend)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(int(kbps))
    encoder.set_in_sample_rate(int(sample_rate))
    encoder.set_channels(1)
    encoder.set_quality(2)  # 2 = high quality, slower (still far faster than real time)
    return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())
