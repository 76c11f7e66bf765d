"""A conditioned model obeys its density control: asked for more notes, it plays more."""

import numpy as np
import torch

from course_lib.controls import ControlSpec, note_density
from course_lib.data import EventWindows
from course_lib.encoding import PerformanceEncoding
from course_lib.performance import Performance
from course_lib.search import generate_seconds
from course_lib.training import TrainConfig, train

ENC = PerformanceEncoding()


def _pulse(notes_per_second, seconds, seed):
    rng = np.random.default_rng(seed)
    start = np.arange(0, seconds, 1 / notes_per_second)
    pitch = rng.integers(55, 75, len(start))
    return Performance(pitch, np.full(len(start), 80), start, start + 0.5 / notes_per_second)


def test_requested_density_changes_the_measured_density(tmp_path):
    spec = ControlSpec(("density",))
    pieces = [_pulse(rate, 40, seed) for seed in range(6) for rate in (1.5, 12)]
    train_w = EventWindows(pieces, 64, controls=spec, drop_controls=0.2, seed=0)
    valid_w = EventWindows(pieces[:2], 64, stride=64, controls=spec)
    config = TrainConfig(model_config={"embed_dim": 16, "hidden_size": 64, "num_layers": 1, "dropout": 0.0},
                         controls=("density",), window=64, batch_size=16, steps=600, lr=1e-2, warmup_steps=10,
                         eval_every=600, eval_windows=8, checkpoint_every=600, augment=False)
    model = train(config, train_w, valid_w, tmp_path, progress=False, log=lambda s: None)
    measured = {}
    for rate in (1.5, 12):
        request = torch.as_tensor(spec.request(density=rate))
        events = generate_seconds(model, 8, controls=request, generator=torch.Generator().manual_seed(0))
        measured[rate] = len(ENC.decode(events)) / 8
    print(measured)
    assert measured[12] > 2 * measured[1.5]


MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])


class _Tune:
    """A random walk on one scale, with its key signature in the metadata (as in the corpus)."""

    period, composer, born = "Traditional", "Traditional", None

    def __init__(self, tonic, mode, seed):
        rng = np.random.default_rng(seed)
        scale = MAJOR if mode == "major" else MINOR
        degree = np.cumsum(rng.choice([-1, 1, 1, -2, 2], 160)) % 14
        pitch = 60 + tonic + scale[degree % 7] + 12 * (degree // 7) - 12
        start = np.arange(160) * 0.2
        self.performance = Performance(pitch, np.full(160, 80), start, start + 0.18)
        self.key = f"{['C', 'D', 'E', 'F', 'G', 'A'][[0, 2, 4, 5, 7, 9].index(tonic)]} {mode}"


def test_requested_key_moves_the_notes_into_its_scale(tmp_path):
    # (tests/test_controls.py checks that augmentation moves the key control with the notes)
    spec = ControlSpec(("key",))
    tunes = [_Tune(0, mode, seed) for seed in range(4) for mode in ("major", "minor")]
    train_w = EventWindows(tunes, 64, controls=spec, drop_controls=0.1, seed=0)
    config = TrainConfig(model_config={"embed_dim": 32, "hidden_size": 64, "num_layers": 1, "dropout": 0.0},
                         controls=("key",), window=64, batch_size=16, steps=400, lr=1e-2, warmup_steps=10,
                         eval_every=400, eval_windows=8, checkpoint_every=400, augment=False)
    model = train(config, train_w, train_w, tmp_path, progress=False, log=lambda s: None)
    in_scale = {}
    for mode in ("major", "minor"):
        request = torch.as_tensor(spec.request(key=f"C {mode}"))
        pieces = generate_seconds(model, 15, controls=request, num_samples=6, generator=torch.Generator().manual_seed(1))
        pcs = np.concatenate([ENC.decode(e).pitch % 12 for e in pieces])
        in_scale[mode] = (np.isin(pcs, MAJOR).mean(), np.isin(pcs, MINOR).mean())
    print(in_scale)  # about 0.95 in the requested scale, 0.6 in the other (they share four notes)
    assert in_scale["major"][0] > in_scale["minor"][0] + 0.2 and in_scale["minor"][1] > in_scale["major"][1] + 0.2
