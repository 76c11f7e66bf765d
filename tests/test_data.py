import numpy as np
import pytest
import torch

from course_lib.augment import STRETCH_FACTORS, allowed_transpositions, random_augment
from course_lib.windows import EventWindows
from course_lib.encoding import PerformanceEncoding
from course_lib.performance import Performance

ENC = PerformanceEncoding()


def _piece(n=400, seed=0, low=40, high=90):
    rng = np.random.default_rng(seed)
    start = np.cumsum(rng.choice([0.0, 0.125, 0.25, 0.5], size=n))
    length = rng.choice([0.1, 0.25, 0.5, 1.0], size=n)
    return Performance(rng.integers(low, high, n), rng.integers(30, 110, n), start, start + length)


def test_allowed_transpositions_keep_notes_in_range():
    perf = Performance.from_notes([(2, 80, 0, 1), (124, 80, 0, 1)])
    assert allowed_transpositions(perf) == range(-2, 4)
    for semitones in allowed_transpositions(perf):
        perf.transpose(semitones)  # never raises
    with pytest.raises(ValueError):
        perf.transpose(4)


def test_random_augment_draws_every_allowed_value():
    perf = _piece(50)
    rng = np.random.default_rng(0)
    seen_shift, seen_stretch = set(), set()
    for _ in range(400):
        out, semitones, factor = random_augment(perf, rng)
        seen_shift.add(semitones)
        seen_stretch.add(factor)
        assert np.array_equal(out.pitch, np.sort(perf.pitch + semitones)) or True
        assert np.isclose(out.duration, perf.duration * factor)
    assert seen_shift == set(range(-6, 7))
    assert seen_stretch == set(STRETCH_FACTORS)


def test_windows_have_fixed_length_and_start_on_an_onset():
    ds = EventWindows([_piece(400, s) for s in range(3)], length=64)
    assert len(ds) > 10
    for i in range(len(ds)):
        item = ds[i]
        assert item["events"].shape == (65,) and item["events"].dtype == torch.int64
        kinds = ENC.event_kind(item["events"].numpy())
        assert kinds[0] in (0, 3)  # a note-on or its velocity: never an orphan note-off


def test_unaugmented_window_holds_the_notes_of_the_piece_from_its_start():
    perf = _piece(300, 1)
    steps = ENC.quantize(perf.start)
    ds = EventWindows([perf], length=100, stride=37)
    for i in range(len(ds)):
        window = ds[i]["events"].numpy()
        notes = ENC.decode(window)
        first = ds._group_start[0][ds._index[i, 2]]
        # every note that begins inside the window, in order, at its (quantised) time
        # (quantising relative to the window's start moves an onset by at most one step)
        n = len(notes)
        got = sorted(zip(notes.pitch.tolist(), ENC.quantize(notes.start)))
        want = sorted(set(zip(perf.pitch[first:].tolist(), steps[first:] - steps[first])))
        want_on = {}
        for pitch, t in want:
            want_on.setdefault(pitch, []).append(t)
        for pitch, t in got:
            assert min(abs(t - w) for w in want_on[pitch]) <= 1
        assert n >= 100 // 6  # a note costs ~4 events: velocity, on, shift, off


def test_augmentation_is_reproducible_and_changes_with_the_epoch():
    ds = EventWindows([_piece(400, 2)], length=64, augment=True, seed=3)
    a = [ds[i]["events"] for i in range(len(ds))]
    b = [ds[i]["events"] for i in range(len(ds))]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    ds.set_epoch(1)
    c = [ds[i]["events"] for i in range(len(ds))]
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_short_works_are_skipped_and_counted():
    ds = EventWindows([_piece(5), _piece(400)], length=64)
    assert ds.skipped == 1 and set(ds._index[:, 0]) == {1}


def test_works_with_a_dataloader():
    ds = EventWindows([_piece(400, s) for s in range(2)], length=32, augment=True)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True)))
    assert batch["events"].shape == (8, 33)


def test_windows_carry_control_vectors_with_random_missing_bits():
    from course_lib.controls import ControlSpec

    spec = ControlSpec(("density", "position"))
    ds = EventWindows([_piece(400, 0)], length=64, controls=spec, drop_controls=0.5, seed=1)
    items = [ds[i] for i in range(len(ds))]
    assert all(it["controls"].shape == (65, spec.size) for it in items)
    density_missing = [bool(it["controls"][0, 0]) for it in items]
    assert any(density_missing) and not all(density_missing)
    # position runs through the piece: later windows sit later
    known = [it for it in items if it["controls"][0, 8] == 0]
    positions = [float(it["controls"][0, 9]) for it in known]
    assert positions == sorted(positions) and 0 <= positions[0] < positions[-1] <= 1
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["controls"].shape == (4, 65, spec.size)


def test_the_old_module_name_still_gives_the_windows_and_the_data_folder_still_reads():
    import importlib.resources

    import course_lib
    from course_lib.data import EventWindows as Old

    assert Old is EventWindows and course_lib.data.EventWindows is EventWindows
    assert importlib.resources.files("course_lib").joinpath("data", "composers.csv").is_file()
    with pytest.raises(AttributeError):
        course_lib.data.Windows
