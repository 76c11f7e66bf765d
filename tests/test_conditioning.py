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
