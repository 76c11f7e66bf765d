"""Relative attention with skewing, and the Transformers behind the common model interface."""

import numpy as np
import pytest
import torch

from course_lib.attention import RelativeSelfAttention, relative_embeddings_for, relative_logits, skew_logits
from course_lib.models import MusicTransformer, Transformer, build_model, model_profile
from course_lib.search import beam_search, greedy, sample, stochastic_beam_search

TINY = dict(d_model=32, heads=4, layers=2, ff=64, dropout=0.0, max_distance=16)


@pytest.mark.parametrize("per_head", [False, True])
def test_skewing_equals_the_naive_gather_and_the_definition(per_head):
    torch.manual_seed(0)
    q = torch.randn(2, 3, 6, 4, dtype=torch.float64)
    e = torch.randn(*((3,) if per_head else ()), 6, 4, dtype=torch.float64)
    fast, slow = relative_logits(q, e), relative_logits(q, e, skew=False)
    below = torch.ones(6, 6, dtype=torch.bool).tril()
    assert torch.allclose(fast[..., below], slow[..., below])
    for i in range(6):
        for j in range(i + 1):
            row = e[..., 5 - i + j, :]
            assert torch.allclose(fast[:, :, i, j], (q[:, :, i] * row).sum(-1))
    with pytest.raises(ValueError, match="one relative embedding per distance"):
        relative_logits(q, e[..., :5, :])


def test_skew_on_a_4x4_example_by_hand():
    qe = torch.arange(16.0).reshape(4, 4)       # qe[i, r] = 4 i + r
    skewed = skew_logits(qe)
    for i in range(4):
        for j in range(i + 1):
            assert skewed[i, j] == qe[i, 3 - i + j]


def test_both_paths_are_differentiable_and_agree_on_gradients():
    torch.manual_seed(1)
    q = torch.randn(1, 2, 5, 3, dtype=torch.float64, requires_grad=True)
    e = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    below = torch.ones(5, 5, dtype=torch.bool).tril()
    grads = []
    for skew in (True, False):
        q.grad = e.grad = None
        relative_logits(q, e, skew=skew)[..., below].sum().backward()
        grads.append((q.grad.clone(), e.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0]) and torch.allclose(grads[0][1], grads[1][1])


def test_clipping_repeats_the_farthest_embedding():
    table = torch.arange(3.0)[None, :, None].expand(1, 3, 2)   # rows 0, 1, 2 (2 = distance 0)
    assert relative_embeddings_for(table, 2)[0, :, 0].tolist() == [1.0, 2.0]
    assert relative_embeddings_for(table, 5)[0, :, 0].tolist() == [0.0, 0.0, 0.0, 1.0, 2.0]


@pytest.mark.parametrize("cls", [MusicTransformer, Transformer])
@pytest.mark.parametrize("control_dim", [0, 5])
def test_step_equals_forward_at_every_position_even_beyond_max_distance(cls, control_dim):
    torch.manual_seed(2)
    model = cls.from_profile("quick", **TINY, control_dim=control_dim).eval()
    events = torch.randint(0, 388, (2, 24))        # 24 > max_distance 16: clipping is exercised
    controls = torch.rand(2, 24, control_dim) if control_dim else None
    with torch.no_grad():
        full = model(events, controls)
        state, steps = None, []
        for t in range(24):
            logits, state = model.step(events[:, t], controls[:, t] if control_dim else None, state)
            steps.append(logits)
    assert torch.allclose(full, torch.stack(steps, 1), atol=1e-4)


@pytest.mark.parametrize("cls", [MusicTransformer, Transformer])
def test_a_future_event_never_changes_an_earlier_logit(cls):
    torch.manual_seed(3)
    model = cls.from_profile("quick", **TINY).eval()
    events = torch.randint(0, 388, (1, 20))
    changed = events.clone()
    changed[0, 12] = (changed[0, 12] + 1) % 388
    with torch.no_grad():
        a, b = model(events), model(changed)
    assert torch.allclose(a[0, :12], b[0, :12], atol=1e-6) and not torch.allclose(a[0, 12:], b[0, 12:])


@pytest.mark.parametrize("cls", [MusicTransformer, Transformer])
def test_reorder_state_and_every_search_run(cls):
    torch.manual_seed(4)
    model = cls.from_profile("quick", **TINY).eval()
    events = torch.tensor([5, 6, 7])
    _, state = model.step(events, None, None)
    index = torch.tensor([2, 2, 0])
    with torch.no_grad():
        got, _ = model.step(torch.tensor([9, 9, 9]), None, model.reorder_state(state, index))
        alone, _ = model.step(torch.tensor([9]), None, model.step(torch.tensor([7]), None, None)[1])
    assert torch.allclose(got[0], alone[0], atol=1e-5) and torch.allclose(got[0], got[1])
    primer = [370, 60, 300]
    assert greedy(model, primer, 5).shape == (5,)
    assert sample(model, primer, 5, top_p=0.9, num_samples=2).shape == (2, 5)
    assert beam_search(model, primer, 5, 3)[0].events.tolist() == beam_search(model, primer, 5, 3)[0].events.tolist()
    assert beam_search(model, primer, 6, 1)[0].events.tolist() == greedy(model, primer, 6).tolist()
    assert len(stochastic_beam_search(model, primer, 5, 3)) == 3


def test_profiles_build_and_configs_round_trip():
    for name in ("music_transformer", "transformer"):
        config = model_profile(name, "quick")
        model = build_model(name, config)
        assert model.config.relative == (name == "music_transformer")
        assert isinstance(model, MusicTransformer)
    with pytest.raises(ValueError, match="divisible"):
        RelativeSelfAttention(30, 4)
    with pytest.raises(ValueError, match="unknown profile"):
        MusicTransformer.from_profile("huge")


@pytest.mark.parametrize("name", ["music_transformer", "transformer"])
def test_training_engine_checkpoints_and_resume_work_for_transformers(name, tmp_path):
    from course_lib.data import EventWindows
    from course_lib.performance import Performance
    from course_lib.training import TrainConfig, evaluate, load_model, train

    pieces = []
    for root in (48, 50, 52, 55):
        pitch = root + np.tile([0, 2, 4, 5, 7, 9, 11, 12], 12)
        start = np.arange(len(pitch)) * 0.25
        pieces.append(Performance(pitch, np.full(len(pitch), 80), start, start + 0.2))
    train_w, valid_w = EventWindows(pieces, 48, augment=True), EventWindows(pieces[:1], 48, stride=48)
    config = TrainConfig(model=name, model_config={**model_profile(name, "quick"), **TINY}, window=48,
                         batch_size=8, steps=30, lr=3e-3, warmup_steps=5, eval_every=30, eval_windows=8,
                         checkpoint_every=10)
    before = evaluate(build_model(name, config.model_config), valid_w)
    train(config, train_w, valid_w, tmp_path, progress=False, stop_after=15, log=lambda s: None)
    model = train(config, train_w, valid_w, tmp_path, resume=True, progress=False, log=lambda s: None)
    assert evaluate(model, valid_w) < before - 1.0
    loaded = load_model(tmp_path, model=name)
    assert isinstance(loaded, MusicTransformer) and loaded.train_step == 30
    with pytest.raises(Exception, match="holds a"):
        load_model(tmp_path, model="performance_rnn")


def test_attention_weights_are_causal_distributions_that_reproduce_the_layer():
    torch.manual_seed(5)
    model = MusicTransformer.from_profile("quick", **TINY).eval()
    events = torch.randint(0, 388, (1, 10))
    maps = model.attention_weights(events)
    assert len(maps) == TINY["layers"] and maps[0].shape == (1, TINY["heads"], 10, 10)
    assert torch.allclose(maps[0].sum(-1), torch.ones(1, TINY["heads"], 10))
    assert (maps[0].triu(1) == 0).all()
    attn = model.blocks[0].attn
    x = model.blocks[0].norm1(model._inputs(events, None, 0))
    _, _, v = attn._split(x)
    with torch.no_grad():
        assert torch.allclose(attn._merge(maps[0] @ v), attn(x), atol=1e-5)
