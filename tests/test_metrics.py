"""Measures of generated music against hand-computed examples."""

import math

import numpy as np
import pytest
import torch

from course_lib import metrics
from course_lib.encoding import PerformanceEncoding
from course_lib.models import PerformanceRNN
from course_lib.performance import Performance

ENC = PerformanceEncoding()


def test_distinct_n_and_top_ngram_coverage_by_hand():
    seq = [1, 2, 1, 2, 1, 2, 3]
    assert metrics.distinct_n(seq, 1) == pytest.approx(3 / 7)
    assert metrics.distinct_n(seq, 2) == pytest.approx(3 / 6)       # (1,2) (2,1) (2,3)
    assert metrics.top_ngram_coverage(seq, 2) == pytest.approx(6 / 7)  # (1,2) three times covers six positions
    assert metrics.top_ngram_coverage([5] * 10, 4) == 1.0 and metrics.distinct_n(range(10), 4) == 1.0
    assert math.isnan(metrics.distinct_n([1, 2], 4)) and math.isnan(metrics.top_ngram_coverage([], 1))
    with pytest.raises(ValueError, match="n >= 1"):
        metrics.distinct_n(seq, 0)


def test_pitch_class_entropy_notes_per_second_and_silence():
    one = Performance.from_notes([(60, 80, 0, 1), (72, 80, 1, 2)])
    assert metrics.pitch_class_entropy(one) == 0.0
    chromatic = Performance.from_notes([(60 + i, 80, i, i + 1) for i in range(12)])
    assert metrics.pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    gaps = Performance.from_notes([(60, 80, 0, 1), (62, 80, 0.5, 1.5), (64, 80, 3, 4)])  # sounding 0–1.5, 3–4
    assert metrics.silence_ratio(gaps) == pytest.approx(1.5 / 4)
    assert metrics.silence_ratio(gaps, seconds=8) == pytest.approx(5.5 / 8)
    assert metrics.notes_per_second(gaps) == pytest.approx(3 / 4)
    assert math.isnan(metrics.pitch_class_entropy(Performance.empty()))


def test_model_scores_match_the_teacher_forcing_loss():
    torch.manual_seed(0)
    model = PerformanceRNN.from_profile("quick", embed_dim=8, hidden_size=16, num_layers=1).eval()
    primer, events = [370, 60, 300], [188, 62, 310, 190]
    nll, entropy = metrics.model_scores(model, primer, events)
    with torch.no_grad():
        logits = model(torch.tensor([primer + events[:-1]]))[0, 2:]
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor(events))
    assert nll == pytest.approx(expected.item(), rel=1e-5)
    assert 0 < entropy <= math.log(388) + 1e-9
    with pytest.raises(ValueError, match="non-empty primer"):
        metrics.model_scores(model, [], events)


def test_measure_has_every_measure_and_repetition_shows():
    loop = ENC.encode(Performance.from_notes([(60 + 2 * (i % 2), 80, i * 0.25, i * 0.25 + 0.2) for i in range(40)]))
    varied_rng = np.random.default_rng(0)
    varied = ENC.encode(Performance.from_notes(
        [(int(varied_rng.integers(48, 84)), 80, i * 0.25, i * 0.25 + 0.2) for i in range(40)]))
    a, b = metrics.measure(loop), metrics.measure(varied)
    assert set(a) == set(metrics.MEASURES) and math.isnan(a["nll"])
    assert a["distinct_4"] < b["distinct_4"] and a["top_4gram_coverage"] > b["top_4gram_coverage"]
    assert a["notes_per_second"] == pytest.approx(4.0, rel=0.03)


def test_diversity_and_summaries():
    p = Performance.from_notes([(60 + i, 80, i, i + 1) for i in range(8)])
    q = Performance.from_notes([(70 + i, 80, i, i + 1) for i in range(8)])
    assert metrics.diversity([p, p]) == 1.0 and metrics.diversity([p, q]) == 0.0
    with pytest.raises(ValueError, match="at least two"):
        metrics.diversity([p])
    table = {"loop": metrics.summarize([{"distinct_4": 0.1}, {"distinct_4": 0.3}])}
    assert table["loop"]["distinct_4"] == pytest.approx((0.2, 0.1))
    text = metrics.format_table(table, ["distinct_4", "nll"])
    assert "0.20 ±0.10" in text and "—" in text
