import os

os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from course_lib import plots
from course_lib.performance import Performance

PERF = Performance.from_notes(
    [(60, 80, 0.0, 0.5), (64, 40, 0.5, 1.0), (67, 120, 1.0, 2.0), (72, 10, 1.5, 1.6)]
)
# NOTE_ON 60, VELOCITY, TIME_SHIFT 50, NOTE_OFF 60, …, an id outside the vocabulary (padding)
EVENTS = np.array([375, 60, 305, 188, 64, 305, 192, 0, 127, 128, 255, 256, 355, 356, 387, 388])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bars(ax) -> PolyCollection:
    (bars,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    return bars


def test_note_names():
    assert plots.note_name(60) == "C4"
    assert plots.note_name(61) == "C#4"
    assert plots.note_name(21) == "A0"
    assert plots.note_name(108) == "C8"


@pytest.mark.parametrize("color_by", ["velocity", "pitch_class", None])
def test_piano_roll_one_patch_per_note(color_by):
    fig, ax = plots.piano_roll(PERF, title="four notes", color_by=color_by)
    bars = _bars(ax)
    assert len(bars.get_paths()) == len(PERF)
    # The third note (67, from 1.0 to 2.0 s) is the rectangle it should be.
    verts = bars.get_paths()[2].vertices[:4]
    assert np.allclose(verts[:, 0].min(), 1.0) and np.allclose(verts[:, 0].max(), 2.0)
    assert np.allclose(verts[:, 1].mean(), 67)
    assert ax.get_title() == "four notes"
    assert "C4" in [t.get_text() for t in ax.get_yticklabels()]
    fig.canvas.draw()


def test_piano_roll_velocity_colours():
    fig, ax = plots.piano_roll(PERF, colorbar=True)
    assert np.array_equal(_bars(ax).get_array(), PERF.velocity)
    assert len(fig.axes) == 2  # the colour bar


def test_piano_roll_into_given_axes_and_seconds():
    fig, (a, b) = plt.subplots(1, 2)
    out_fig, out_ax = plots.piano_roll(PERF, b, seconds=1.0)
    assert out_fig is fig and out_ax is b
    assert len(_bars(b).get_paths()) == 2  # only the notes starting before 1 s
    assert b.get_xlim() == (0.0, 1.0)


def test_piano_roll_empty():
    fig, ax = plots.piano_roll(Performance.empty())
    assert len(_bars(ax).get_paths()) == 0
    fig.canvas.draw()


def test_piano_roll_bad_color_by():
    with pytest.raises(ValueError, match="color_by"):
        plots.piano_roll(PERF, color_by="loudness")


def test_piano_roll_10k_notes_fast():
    import time

    rng = np.random.default_rng(0)
    n = 10_000
    start = np.sort(rng.uniform(0, 600, n))
    perf = Performance(
        rng.integers(21, 109, n), rng.integers(1, 128, n), start, start + rng.uniform(0.05, 2, n)
    )
    t0 = time.perf_counter()
    fig, ax = plots.piano_roll(perf)
    fig.canvas.draw()
    assert time.perf_counter() - t0 < 5.0  # ~0.4 s here
    assert len(_bars(ax).get_paths()) == n


def test_compare_rolls_share_axes():
    fig, axes = plots.compare_rolls(PERF, PERF.transpose(5), labels=("a", "b"))
    assert len(axes) == 2
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    assert axes[0].get_ylim() == axes[1].get_ylim()
    assert axes[0].get_ylim()[1] >= 72 + 5  # covers the higher of the two
    assert len(_bars(axes[1]).get_paths()) == len(PERF)


def test_event_kinds_from_id_ranges():
    kinds = plots.event_kinds(EVENTS)
    assert kinds.tolist() == [3, 0, 2, 1, 0, 2, 1, 0, 0, 1, 1, 2, 2, 3, 3, 4]
    assert plots.event_kinds([[1, 2], [300]]).tolist() == [0, 0, 2]  # a list of sequences


def test_event_kinds_match_the_encoding():
    encoding = pytest.importorskip("course_lib.encoding")
    enc = encoding.PerformanceEncoding()
    ids = np.arange(enc.vocab_size)
    assert np.array_equal(plots.event_kinds(ids), plots.event_kinds(ids, enc))
    if hasattr(enc, "event_kind"):
        assert np.array_equal(plots.event_kinds(ids), enc.event_kind(ids))


def test_event_plot():
    fig, ax = plots.event_plot(EVENTS, title="events", max_events=10)
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == 10
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("note-on") for t in legend) and any(t.startswith("time-shift") for t in legend)
    fig.canvas.draw()


def test_event_plot_of_an_encoded_performance():
    encoding = pytest.importorskip("course_lib.encoding")
    events = encoding.PerformanceEncoding().encode(PERF)
    fig, ax = plots.event_plot(events)
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(events)


def test_event_plot_empty():
    fig, ax = plots.event_plot(np.zeros(0, dtype=int))
    fig.canvas.draw()


def test_event_histograms():
    fig, ax = plots.event_histogram(EVENTS)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [4, 4, 4, 3, 1]  # note-on, note-off, time-shift, velocity, other
    fig, ax = plots.event_histogram([EVENTS, EVENTS], by="id")
    assert len(ax.patches) == 388 and sum(p.get_height() for p in ax.patches) == 2 * 15
    with pytest.raises(ValueError):
        plots.event_histogram(EVENTS, by="pitch")


def test_length_histogram():
    fig, ax = plots.length_histogram([100, 200, 300, 5000], bins=5)
    assert sum(p.get_height() for p in ax.patches) == 4
    assert "median 250" in ax.get_legend().get_texts()[0].get_text()
    plots.length_histogram([np.zeros(3), np.zeros(5)])  # sequences: their lengths
    plots.length_histogram([])


def test_loss_curve_list_of_dicts_with_gaps():
    rows = [{"step": i, "train_loss": 5.0 / (i + 1)} for i in range(20)]
    for row in rows[::5]:
        row["valid_loss"] = row["train_loss"] + 0.1
    fig, ax = plots.loss_curve(rows)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"train_loss", "valid_loss"}
    assert len(lines["train_loss"].get_xdata()) == 20 and len(lines["valid_loss"].get_xdata()) == 4
    assert ax.get_xlabel() == "step"


def test_loss_curve_dict_of_lists_and_keys():
    fig, ax = plots.loss_curve({"epoch": [1, 2, 3], "accuracy": [0.1, 0.2, 0.3], "note": ["a", "b", "c"]})
    assert [line.get_label() for line in ax.get_lines()] == ["accuracy"]
    assert ax.get_xlabel() == "epoch"
    with pytest.raises(KeyError, match="valid_loss"):
        plots.loss_curve({"train_loss": [1.0]}, keys=["valid_loss"])


def test_control_signals_draw_four_panels_over_one_time_axis():
    from course_lib.encoding import PerformanceEncoding

    perf = Performance.from_notes([(60 + i % 12, 40 + 5 * i, i * 0.2, i * 0.2 + 0.3) for i in range(15)])
    fig, axes = plots.control_signals(PerformanceEncoding().encode(perf), title="scale")
    assert len(axes) == 4 and axes[1].get_ylabel() == "notes / s"
    density_line = axes[1].lines[0].get_ydata()
    assert density_line.max() == pytest.approx(15 / 3.0, rel=0.35)  # window of 3 s around the middle
    plt.close(fig)


def test_confusion_matrix_annotates_counts_and_checks_its_shape():
    fig, ax = plots.confusion_matrix([[3, 1], [0, 2]], ["a", "b"], title="t")
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "3"]
    with pytest.raises(ValueError, match="2 x 2"):
        plots.confusion_matrix([[1, 2, 3]], ["a", "b"])
    plt.close(fig)
