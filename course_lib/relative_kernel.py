"""The relative-attention kernel training takes for long sequences: the Music Transformer's
skewing, one block of queries at a time, with a hand-written backward.

Chapter 7 teaches the skew as pad, reshape, drop a row (:func:`course_lib.attention.skew_logits`).
For a 2,048-event window that still leaves an L × L matrix of logits per head and layer, kept
for the backward. Here the same numbers come block by block: the skew becomes a strided view
of each block's Q·Eᵀ (no padded copy), and the backward recomputes a block's probabilities
from saved log-sum-exps, as FlashAttention does (Dao et al. 2022, arXiv 2205.14135), so
memory grows like L, not L². ``tests/test_relative_kernel.py`` checks it against the lesson's
version, gradients included; ``benchmarks/attention.py`` measures both.

Notebook: notebooks/07_music_transformer.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["blockwise_relative_attention"]


def blockwise_relative_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, table: torch.Tensor,
                                 block: int = 256, dropout: float = 0.0, max_logits: int | None = None) -> torch.Tensor:
    """Causal relative attention computed ``block`` queries at a time, with a hand-written
    backward that recomputes each block's probabilities (FlashAttention's idea, in plain
    PyTorch): the L × L logits of all heads never exist at once, so memory grows like
    L · block instead of L². Equal to the one-shot computation, gradients included
    (``tests/test_relative_kernel.py``).

    Args:
        q, k, v: (B, H, L, D).
        table: the (H, M, D) relative embeddings (row M−1 = distance 0; see
            :func:`~course_lib.attention.relative_embeddings_for`).
        block: queries per block.
        dropout: dropout on the attention probabilities (0 in evaluation).
        max_logits: a block also holds at most this many logits per head (fewer queries
            where there are more keys), so its memory stays the same however long the
            sequence; None: always ``block`` queries.

    Returns:
        softmax((QKᵀ + S_rel) / √D) V, causally masked: (B, H, L, D).

    Notebook: notebooks/07_music_transformer.ipynb
    """
    from .attention import relative_embeddings_for   # here: attention imports this module

    length = q.shape[-2]
    e = relative_embeddings_for(table, length)
    return _BlockwiseRelativeAttention.apply(q, k, v, e, _block_bounds(length, block, max_logits), dropout)


def _skew_block(qe: torch.Tensor) -> torch.Tensor:
    """The skew for a block of B query rows (the last B positions) against K keys: (..., B, K)
    with ``qe[..., r, c]`` = q_r · (embedding of distance K−1−c) → entry [r, j] =
    ``qe[..., r, B−1−r+j]``. In a contiguous (B, K) matrix that element sits at flat position
    (B−1) + r·(K−1) + j, so the skew is a strided view: the pad-and-reshape of
    :func:`~course_lib.attention.skew_logits` without the padded copy. Entries above the
    block's diagonal read the next row (left-overs, masked anyway). Each (B, K) matrix of
    ``qe`` must be contiguous."""
    *lead, rows, keys = qe.shape
    return qe.as_strided(qe.shape, (*qe.stride()[:-2], keys - 1, 1), qe.storage_offset() + rows - 1)


def _unskew_block(grad: torch.Tensor) -> torch.Tensor:
    """The adjoint of :func:`_skew_block` for a gradient that is zero above the block's
    diagonal: each entry goes back where the skew read it (pad-and-reshape, run backwards)."""
    *lead, rows, keys = grad.shape
    flat = F.pad(grad.reshape(*lead, rows * keys), (rows, 0))
    return flat.reshape(*lead, rows, keys + 1)[..., 1:]


def _block_bounds(length: int, block: int, max_logits: int | None) -> list[tuple[int, int]]:
    """(start, stop) of each block of queries: ``block`` rows, fewer where a block would
    hold more than ``max_logits`` logits per head."""
    bounds, start = [], 0
    while start < length:
        rows = block if max_logits is None else max(1, min(block, max_logits // min(length, start + block)))
        bounds.append((start, min(length, start + rows)))
        start += rows
    return bounds


def _times_embeddings(q: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """``q @ eᵀ`` for queries (B, H, R, D) and per-head embeddings (H, K, D) without
    broadcasting ``e`` over the batch (which would copy it B times): the batch goes into the
    rows of one product per head. Each (R, K) matrix of the result is contiguous."""
    if e.dim() == 2 or q.shape[0] == 1:
        return q @ e.transpose(-1, -2)
    b, h, r, d = q.shape
    product = q.transpose(0, 1).reshape(h, b * r, d) @ e.transpose(-1, -2)
    return product.view(h, b, r, -1).transpose(0, 1)


class _BlockwiseRelativeAttention(torch.autograd.Function):
    """Causal relative attention, one block of queries at a time, forward and backward by hand.

    Each block of queries attends only to the keys up to its last position (the causal
    upper triangle is never computed). The forward keeps each row's log-sum-exp and the
    output, and the backward recomputes a block's probabilities from them, as
    FlashAttention does (Dao et al. 2022, arXiv 2205.14135). So no L × L tensor outlives
    its block, and no per-block gradient the size of the whole sequence is ever made.
    Dropout masks come from a seeded generator per block, so the backward replays them."""

    @staticmethod
    def _probabilities(q, k, e, start, stop, scale, lse=None):
        qb, kb, eb = q[..., start:stop, :], k[..., :stop, :], e[..., e.shape[-2] - stop:, :]
        acc = torch.promote_types(q.dtype, torch.float32)   # softmax statistics in fp32 at least
        logits = (qb @ kb.transpose(-1, -2)).to(acc)   # a new tensor: the in-place steps below are safe
        logits.add_(_skew_block(_times_embeddings(qb, eb))).mul_(scale)
        rows = stop - start   # the future lies in the block's own last `rows` keys only
        future = torch.ones(rows, rows, dtype=torch.bool, device=q.device).triu_(1)
        logits[..., start:].masked_fill_(future, float("-inf"))
        if lse is None:
            lse = torch.logsumexp(logits, dim=-1, keepdim=True)
        return logits.sub_(lse).exp_(), lse

    @staticmethod
    def _dropout_mask(shape, dropout, seed, device):
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return torch.rand(shape, generator=generator, device=device).ge_(dropout).div_(1 - dropout)

    @staticmethod
    def forward(ctx, q, k, v, e, bounds, dropout):
        # One copy each here rather than one per block: the batched matrix products need the
        # (batch, head) dimensions to fold into one, which the projections' layout does not allow.
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        ctx.e_dtype, e = e.dtype, e.to(q.dtype)   # under autocast: the fp32 table meets bf16 queries
        scale = q.shape[-1] ** -0.5
        seed = int(torch.randint(2 ** 62, (1,)).item()) if dropout > 0 else 0
        out = torch.empty_like(q)
        lses = []
        for i, (start, stop) in enumerate(bounds):
            p, lse = _BlockwiseRelativeAttention._probabilities(q, k, e, start, stop, scale)
            if dropout > 0:
                p.mul_(_BlockwiseRelativeAttention._dropout_mask(p.shape, dropout, seed + i, q.device))
            out[..., start:stop, :] = p.to(v.dtype) @ v[..., :stop, :]
            lses.append(lse)
        ctx.save_for_backward(q, k, v, e, out, torch.cat(lses, dim=-2))
        ctx.bounds, ctx.dropout, ctx.seed, ctx.scale = bounds, dropout, seed, scale
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        q, k, v, e, out, lse = ctx.saved_tensors
        scale, dropout = ctx.scale, ctx.dropout
        acc = torch.promote_types(q.dtype, torch.float32)
        # rowsum(dP ∘ P) of the softmax backward equals rowsum(dO ∘ O), dropout included: one
        # number per query, computed once instead of an L-wide product per block
        delta = (grad_out.to(acc) * out.to(acc)).sum(-1, keepdim=True)
        dq, dk, dv, de = (torch.zeros_like(t, dtype=acc) for t in (q, k, v, e))
        length = e.shape[-2]
        for i, (start, stop) in enumerate(ctx.bounds):
            qb, kb, vb, eb = q[..., start:stop, :], k[..., :stop, :], v[..., :stop, :], e[..., length - stop:, :]
            go = grad_out[..., start:stop, :].to(acc)
            p, _ = _BlockwiseRelativeAttention._probabilities(q, k, e, start, stop, scale, lse[..., start:stop, :])
            dp = go @ vb.to(acc).transpose(-1, -2)
            if dropout > 0:
                mask = _BlockwiseRelativeAttention._dropout_mask(p.shape, dropout, ctx.seed + i, q.device)
                dv[..., :stop, :] += (p * mask).transpose(-1, -2) @ go
                dp.mul_(mask)
            else:
                dv[..., :stop, :] += p.transpose(-1, -2) @ go
            # softmax backward: dS = P ∘ (dP − rowsum(dP ∘ P)), then the 1/√D of the logits
            ds = p.mul_(dp.sub_(delta[..., start:stop, :])).mul_(scale)
            dq[..., start:stop, :] += ds @ kb.to(acc)
            dk[..., :stop, :] += ds.transpose(-1, -2) @ qb.to(acc)
            dqe = _unskew_block(ds)   # the relative term: S_rel = skew(Q Eᵀ)
            dq[..., start:stop, :] += dqe @ eb.to(acc)
            de_block = dqe.transpose(-1, -2) @ qb.to(acc)   # summed over the batch (and heads, if shared)
            de[..., length - stop:, :] += de_block.sum(dim=tuple(range(de_block.dim() - e.dim())))
        return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), de.to(ctx.e_dtype), None, None
