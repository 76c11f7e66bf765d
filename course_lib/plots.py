"""Pictures of music and of training: piano rolls, event sequences, histograms, loss curves.

Every helper takes ``ax=None`` (draw into a new figure) or an existing matplotlib
axes, and returns ``(fig, ax)`` so a notebook can compose several plots in one
figure. Nothing here calls ``plt.show()`` or picks a matplotlib backend.

Notebook: notebooks/01_event_encoding.ipynb (rolls, events), 02_teacher_forcing.ipynb
(loss curves) and later chapters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.patches import Patch

from .performance import Performance

__all__ = [
    "note_name",
    "event_kinds",
    "piano_roll",
    "compare_rolls",
    "event_plot",
    "event_histogram",
    "length_histogram",
    "loss_curve",
    "control_signals",
    "confusion_matrix",
]

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KIND_NAMES = ("note-on", "note-off", "time-shift", "velocity", "other")
KIND_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:orange", "tab:gray")


def _axes(ax, figsize=(10, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def note_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI note: ``note_name(60) == "C4"``, ``61 → "C#4"``.

    Notebook: notebooks/01_event_encoding.ipynb
    """
    return f"{NOTE_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"


# -- piano rolls ------------------------------------------------------------------------
def piano_roll(
    performance: Performance,
    ax=None,
    *,
    seconds: float | None = None,
    title: str | None = None,
    color_by: str | None = "velocity",
    pitch_range: tuple[int, int] | None = None,
    colorbar: bool = False,
):
    """Draw notes as horizontal bars: time in seconds across, pitch up.

    One rectangle per note, all in a single ``PolyCollection`` (fast for 10k+ notes).

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        performance: the notes to draw.
        ax: axes to draw into (``None``: a new figure).
        seconds: show only the first ``seconds``.
        title: axes title.
        color_by: ``"velocity"`` (colour and opacity follow loudness), ``"pitch_class"``
            (C, C#, … each its own colour) or ``None`` (one colour).
        pitch_range: ``(low, high)`` pitches to show; default: the notes' range.
        colorbar: add a velocity colour bar (with ``color_by="velocity"``).

    Returns:
        ``(fig, ax)``.
    """
    fig, ax = _axes(ax)
    if seconds is not None:
        performance = performance.slice(0.0, seconds)  # notes that start before `seconds`
    pitch, start, end = performance.pitch, performance.start, performance.end

    # Each note is the rectangle (start, pitch - 0.4) … (end, pitch + 0.4).
    lo, hi = pitch - 0.4, pitch + 0.4
    verts = np.stack(
        [np.stack([start, lo], 1), np.stack([start, hi], 1), np.stack([end, hi], 1), np.stack([end, lo], 1)],
        axis=1,
    )
    # A thin dark outline keeps repeated notes of one pitch apart.
    bars = PolyCollection(verts, edgecolors="#00000080", linewidths=0.3)
    if color_by == "velocity":
        bars.set_array(performance.velocity.astype(float))
        bars.set_cmap("viridis")
        bars.set_norm(Normalize(0, 127))
        if len(performance):
            bars.set_alpha(0.45 + 0.55 * performance.velocity / 127.0)
    elif color_by == "pitch_class":
        cmap = plt.get_cmap("hsv")
        bars.set_facecolor(cmap((pitch % 12) / 12.0))
    elif color_by is None:
        bars.set_facecolor("tab:blue")
    else:
        raise ValueError(f"color_by must be 'velocity', 'pitch_class' or None, got {color_by!r}")
    ax.add_collection(bars, autolim=False)

    # Axes: time from 0; pitch labelled with note names at every C (C4 = 60).
    if pitch_range is None:
        pitch_range = (int(pitch.min()) - 1, int(pitch.max()) + 1) if len(performance) else (59, 73)
    right = seconds if seconds is not None else max(performance.duration, 1.0)
    ax.set_xlim(0, right)
    ax.set_ylim(pitch_range[0] - 0.5, pitch_range[1] + 0.5)
    ticks = [p for p in range(pitch_range[0], pitch_range[1] + 1) if p % 12 == 0]
    if len(ticks) < 2:  # a narrow range: label every pitch
        ticks = list(range(pitch_range[0], pitch_range[1] + 1))
    ax.set_yticks(ticks, [note_name(p) for p in ticks])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.grid(axis="y", alpha=0.3)
    if not len(performance):
        ax.text(0.5, 0.5, "(no notes)", transform=ax.transAxes, ha="center", va="center", color="gray")
    if title:
        ax.set_title(title)
    if colorbar and color_by == "velocity":
        fig.colorbar(bars, ax=ax, label="velocity", pad=0.01)
    return fig, ax


def compare_rolls(
    perf_a: Performance,
    perf_b: Performance,
    labels: Sequence[str] = ("original", "decoded"),
    seconds: float | None = None,
    **kwargs,
):
    """Two piano rolls stacked, with shared time and pitch axes, to spot differences
    (an encoding round trip, an augmentation, a model's continuation).

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        perf_a, perf_b: the two performances.
        labels: their titles.
        seconds: show only the first ``seconds`` of both.
        **kwargs: passed on to :func:`piano_roll` (e.g. ``color_by``).

    Returns:
        ``(fig, axes)`` with the two axes, top then bottom.
    """
    if len(labels) != 2:
        raise ValueError(f"compare_rolls needs two labels, got {len(labels)}: {labels!r}")
    fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True, sharey=True)
    both = [p for p in (perf_a, perf_b) if len(p)]
    if both and "pitch_range" not in kwargs:
        kwargs["pitch_range"] = (
            min(int(p.pitch.min()) for p in both) - 1,
            max(int(p.pitch.max()) for p in both) + 1,
        )
    for perf, label, ax in zip((perf_a, perf_b), labels, axes, strict=True):
        piano_roll(perf, ax, seconds=seconds, title=label, **kwargs)
    if seconds is None:
        axes[0].set_xlim(0, max(perf_a.duration, perf_b.duration, 1.0))
    axes[0].set_xlabel("")
    fig.tight_layout()
    return fig, axes


# -- event sequences --------------------------------------------------------------------
def _offsets(encoding) -> tuple[int, int, int, int]:
    """(note-off, time-shift, velocity, vocabulary size) id boundaries of an encoding;
    the Performance RNN defaults (128, 256, 356, 388) when ``encoding`` is None."""
    if encoding is None:
        return 128, 256, 356, 388
    return (
        int(getattr(encoding, "note_off_offset", 128)),
        int(getattr(encoding, "time_shift_offset", 256)),
        int(getattr(encoding, "velocity_offset", 356)),
        int(getattr(encoding, "vocab_size", 388)),
    )


def _as_ids(events) -> np.ndarray:
    """Event ids as one flat int array (a sequence, or a list of sequences of any lengths)."""
    if isinstance(events, np.ndarray):
        return events.astype(np.int64).ravel()
    if hasattr(events, "detach"):  # a torch tensor
        return events.detach().cpu().numpy().astype(np.int64).ravel()
    events = list(events)
    if events and all(np.ndim(e) == 0 for e in events):
        return np.asarray(events, dtype=np.int64)
    return np.concatenate([_as_ids(e) for e in events]) if events else np.zeros(0, dtype=np.int64)


def event_kinds(events, encoding=None) -> np.ndarray:
    """Kind of each event id: 0 note-on, 1 note-off, 2 time-shift, 3 velocity, 4 other
    (ids outside the vocabulary, e.g. padding or start tokens).

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        events: event ids (array, list, tensor, or a list of such sequences).
        encoding: a ``PerformanceEncoding`` for non-default vocabularies.

    Returns:
        int array of kinds, one per event.
    """
    ids = _as_ids(events)
    off, shift, vel, size = _offsets(encoding)
    kinds = np.searchsorted(np.array([off, shift, vel, size]), ids, side="right")
    kinds[ids < 0] = 4
    return kinds


def event_plot(events, ax=None, *, max_events: int = 400, title: str | None = None, encoding=None):
    """The event sequence as the model sees it: event index across, event id up,
    one dot per event coloured by kind, with the four id bands shaded and labelled.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        events: event ids.
        ax: axes to draw into (``None``: a new figure).
        max_events: draw only the first ``max_events`` events.
        title: axes title.
        encoding: a ``PerformanceEncoding`` for non-default vocabularies.

    Returns:
        ``(fig, ax)``.
    """
    fig, ax = _axes(ax)
    ids = _as_ids(events)[:max_events]
    kinds = event_kinds(ids, encoding)
    off, shift, vel, size = _offsets(encoding)
    bands = ((0, off), (off, shift), (shift, vel), (vel, size))
    for kind, (lo, hi) in enumerate(bands):
        ax.axhspan(lo - 0.5, hi - 0.5, color=KIND_COLORS[kind], alpha=0.07, linewidth=0)
        ax.text(
            1.01,
            (lo + hi - 1) / 2,
            f"{KIND_NAMES[kind]}\n{lo}–{hi - 1}",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8,
            color=KIND_COLORS[kind],
        )
    x = np.arange(len(ids))
    ax.plot(x, ids, color="lightgray", linewidth=0.6, zorder=1)
    handles = []
    for kind in range(len(KIND_NAMES)):
        mask = kinds == kind
        if mask.any():
            ax.scatter(x[mask], ids[mask], s=10, color=KIND_COLORS[kind], zorder=2)
            handles.append(Patch(color=KIND_COLORS[kind], label=f"{KIND_NAMES[kind]} ({mask.sum()})"))
    ax.set_xlim(-1, max(len(ids), 1))
    ax.set_ylim(-0.5, max(size, int(ids.max()) + 1 if len(ids) else 0) - 0.5)
    ax.set_xlabel("event index")
    ax.set_ylabel("event id")
    if handles:
        ax.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            fontsize=8,
            ncol=len(handles),
            frameon=False,
        )
    if title:
        ax.set_title(title, pad=22 if handles else None)
    return fig, ax


def event_histogram(events, ax=None, *, by: str = "kind", encoding=None, title: str | None = None):
    """How often each kind of event (or each event id) occurs.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        events: event ids (one sequence, or a list of sequences: a corpus).
        ax: axes to draw into (``None``: a new figure).
        by: ``"kind"`` (four bars with counts) or ``"id"`` (one bar per event id,
            coloured by kind: shows e.g. which time shifts are common).
        encoding: a ``PerformanceEncoding`` for non-default vocabularies.
        title: axes title.

    Returns:
        ``(fig, ax)``.
    """
    fig, ax = _axes(ax)
    ids = _as_ids(events)
    kinds = event_kinds(ids, encoding)
    if by == "kind":
        counts = np.bincount(kinds, minlength=len(KIND_NAMES))
        shown = [k for k in range(len(KIND_NAMES)) if k < 4 or counts[k]]
        bars = ax.bar([KIND_NAMES[k] for k in shown], counts[shown], color=[KIND_COLORS[k] for k in shown])
        ax.bar_label(bars, labels=[f"{c:,}" for c in counts[shown]], fontsize=8)
        ax.set_ylabel("events")
    elif by == "id":
        size = _offsets(encoding)[3]
        valid = ids[(ids >= 0) & (ids < size)]
        counts = np.bincount(valid, minlength=size)
        colors = [KIND_COLORS[k] for k in event_kinds(np.arange(size), encoding)]
        ax.bar(np.arange(size), counts, width=1.0, color=colors)
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_xlabel("event id")
        ax.set_ylabel("events")
        ax.legend(handles=[Patch(color=KIND_COLORS[k], label=KIND_NAMES[k]) for k in range(4)], fontsize=8)
    else:
        raise ValueError(f"by must be 'kind' or 'id', got {by!r}")
    if title:
        ax.set_title(title)
    return fig, ax


def length_histogram(lengths, ax=None, *, bins: int = 30, title: str | None = None, unit: str = "events"):
    """Distribution of sequence lengths in a corpus, with the median marked.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        lengths: one length per piece (or a list of sequences: their lengths are taken).
        ax: axes to draw into (``None``: a new figure).
        bins: histogram bins.
        title: axes title.
        unit: what a length counts (x-axis label).

    Returns:
        ``(fig, ax)``.
    """
    fig, ax = _axes(ax, figsize=(7, 3.5))
    lengths = list(lengths)
    if lengths and np.ndim(lengths[0]) > 0:
        lengths = [len(x) for x in lengths]
    lengths = np.asarray(lengths, dtype=float)
    if len(lengths):
        ax.hist(lengths, bins=bins, color="tab:blue", alpha=0.8)
        median = float(np.median(lengths))
        ax.axvline(median, color="black", linestyle="--", linewidth=1, label=f"median {median:,.0f}")
        ax.legend(fontsize=8)
    ax.set_xlabel(f"length ({unit})")
    ax.set_ylabel("pieces")
    if title:
        ax.set_title(title)
    return fig, ax


# -- training ---------------------------------------------------------------------------
def _columns(metrics) -> dict[str, np.ndarray]:
    """Dict of lists or list of dicts → dict of float arrays (NaN where a row lacks a key)."""
    if isinstance(metrics, Mapping):
        return {k: np.asarray(v, dtype=float) for k, v in metrics.items() if _numeric(v)}
    rows = list(metrics)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    columns = {k: [row.get(k, np.nan) for row in rows] for k in keys}
    return {k: np.asarray(v, dtype=float) for k, v in columns.items() if _numeric(v)}


def _numeric(values) -> bool:
    try:
        np.asarray(values, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def loss_curve(
    metrics,
    ax=None,
    *,
    keys: Sequence[str] | None = None,
    x: str | None = None,
    title: str | None = None,
    log: bool = False,
):
    """Plot training curves: every ``*loss*`` column present (train, valid, …) against steps.

    Notebook: notebooks/02_teacher_forcing.ipynb (and every chapter that trains)

    Args:
        metrics: a list of dicts (one per logged step, e.g. ``{"step": 10, "train_loss": 3.1}``;
            rows may lack keys, e.g. validation logged less often) or a dict of lists.
        ax: axes to draw into (``None``: a new figure).
        keys: columns to plot (default: those whose name contains "loss", else all numeric ones).
        x: the x column (default: "step", else "epoch", else the row number).
        title: axes title.
        log: logarithmic y axis.

    Returns:
        ``(fig, ax)``.
    """
    fig, ax = _axes(ax, figsize=(7, 3.5))
    columns = _columns(metrics)
    if x is None:
        x = next((k for k in ("step", "epoch") if k in columns), None)
    if keys is None:
        keys = [k for k in columns if "loss" in k and k != x] or [k for k in columns if k != x]
    for key in keys:
        if key not in columns:
            raise KeyError(f"no column {key!r} in the metrics; there are {sorted(columns)}")
        y = columns[key]
        xs = columns[x] if x is not None else np.arange(len(y))
        have = np.isfinite(y)
        ax.plot(xs[have], y[have], marker="o" if have.sum() < 30 else None, markersize=3, label=key)
    ax.set_xlabel(x or "row")
    ax.set_ylabel("loss" if all("loss" in k for k in keys) else "value")
    if log:
        ax.set_yscale("log")
    if keys:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig, ax


# -- control signals and classifiers ------------------------------------------------------------
def control_signals(events, *, window: float = 3.0, title: str | None = None, encoding=None):
    """Four stacked panels over the same time axis: the piano roll, note density (notes
    per second), mean velocity, and the pitch-class histogram, each computed in the
    window centred on every event.

    Returns:
        ``(fig, axes)``.

    Notebook: notebooks/03_control_signals.ipynb
    """
    from . import controls
    from .encoding import PerformanceEncoding

    enc = encoding or PerformanceEncoding()
    ids = _as_ids(events)
    times = controls.event_times(ids, enc)
    fig, axes = plt.subplots(4, 1, figsize=(10, 8), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1.2, 1.2, 2]})
    piano_roll(enc.decode(ids), axes[0], title=title)
    axes[0].set_xlabel("")
    axes[1].plot(times, controls.note_density(ids, window, enc), color="tab:blue")
    axes[1].set_ylabel("notes / s")
    axes[2].plot(times, controls.mean_velocity(ids, window, enc), color="tab:orange")
    axes[2].set_ylabel("velocity")
    pcs = controls.pitch_class_histogram(ids, window, enc)
    edges = np.concatenate([times, [times[-1] + 1e-3]]) if len(times) else np.zeros(1)
    axes[3].pcolormesh(edges, np.arange(13) - 0.5, pcs.T, cmap="Greys", shading="flat", vmin=0, vmax=pcs.max() or 1)
    axes[3].set_yticks(range(12), NOTE_NAMES, fontsize=7)
    axes[3].set_ylabel("pitch class")
    axes[3].set_xlabel("time (s)")
    for ax in axes[1:3]:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes


def confusion_matrix(confusion, labels: Sequence[str], ax=None, *, title: str | None = None):
    """A confusion matrix (rows: true class, columns: predicted), each row shaded by its
    share and annotated with its counts.

    Returns:
        ``(fig, ax)``.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    counts = np.asarray(confusion)
    if counts.shape != (len(labels), len(labels)):
        raise ValueError(f"a confusion matrix over {len(labels)} labels must be {len(labels)} x {len(labels)}, "
                         f"got shape {counts.shape}")
    fig, ax = _axes(ax, figsize=(6, 5))
    rows = counts.sum(1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if counts[i, j]:
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return fig, ax
