"""The blockwise relative-attention kernel (course_lib.relative_kernel) computes what the
lesson's skewed attention (course_lib.attention) computes, gradients included."""

import pytest
import torch

from course_lib.attention import RelativeSelfAttention, relative_embeddings_for, relative_logits
from course_lib.relative_kernel import blockwise_relative_attention


@pytest.mark.parametrize("table_shape", [(3, 12, 4), (12, 4)])   # one table per head, or shared
def test_blockwise_attention_equals_the_lesson_formula(table_shape):
    """softmax((QKᵀ + S_rel) / √D) V with S_rel from the naive gather, written out."""
    torch.manual_seed(8)
    q, k, v = (torch.randn(2, 3, 15, 4, dtype=torch.float64) for _ in range(3))
    table = torch.randn(*table_shape, dtype=torch.float64)
    e = relative_embeddings_for(table, 15)   # 15 > 12 rows: clipping too
    logits = (q @ k.transpose(-1, -2) + relative_logits(q, e, skew=False)) / 2.0
    causal = torch.ones(15, 15, dtype=torch.bool).tril()
    expected = logits.masked_fill(~causal, float("-inf")).softmax(-1) @ v
    for block, max_logits in ((4, None), (15, None), (6, 40)):
        assert torch.allclose(blockwise_relative_attention(q, k, v, table, block, max_logits=max_logits), expected)


def test_blockwise_attention_equals_one_shot_with_gradients():
    torch.manual_seed(6)
    layer = RelativeSelfAttention(32, 4, max_distance=40).double()
    x = torch.randn(2, 70, 32, dtype=torch.float64, requires_grad=True)
    results = []
    for block, max_logits in ((1000, None), (16, None), (7, None), (16, 300)):   # 300: blocks shrink 16 → 4 rows
        layer.block, layer.max_block_logits = block, max_logits
        out = layer(x)
        results.append((out, torch.autograd.grad(out.sum(), [x, layer.rel])))
    for out, grads in results[1:]:
        assert torch.allclose(out, results[0][0])
        assert all(torch.allclose(a, b) for a, b in zip(grads, results[0][1]))


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("table_shape", [(3, 12, 4), (12, 4)])   # one table per head, or shared
def test_blockwise_attention_backward_matches_finite_differences(dropout, table_shape):
    """The hand-written backward, dropout included (its masks are replayed from a seed)."""
    torch.manual_seed(7)
    q, k, v = (torch.randn(2, 3, 9, 4, dtype=torch.float64, requires_grad=True) for _ in range(3))
    table = torch.randn(*table_shape, dtype=torch.float64, requires_grad=True)

    def attention(q, k, v, table):
        torch.manual_seed(0)   # the same dropout masks at every call
        return blockwise_relative_attention(q, k, v, table, block=4, dropout=dropout, max_logits=20)

    assert torch.autograd.gradcheck(attention, (q, k, v, table))
    undropped = blockwise_relative_attention(q, k, v, table, block=4, max_logits=20)
    assert torch.allclose(attention(q, k, v, table), undropped) == (dropout == 0)


def test_blockwise_attention_under_bf16_autocast_is_close_to_fp32():
    """On a GPU the full models train under bf16 autocast: the fp32 table meets bf16 queries."""
    torch.manual_seed(0)
    layer = RelativeSelfAttention(64, 4, max_distance=300)
    x = torch.randn(2, 300, 64, requires_grad=True)
    out = layer(x)
    grads = torch.autograd.grad(out.pow(2).sum(), [x, layer.rel])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out16 = layer(x)
    assert out16.dtype == torch.bfloat16
    grads16 = torch.autograd.grad(out16.float().pow(2).sum(), [x, layer.rel])
    for exact, approx in zip((out, *grads), (out16, *grads16)):
        assert approx.dtype == exact.dtype or approx is out16
        assert (approx.float() - exact).abs().max() < 0.02 * exact.abs().max()
