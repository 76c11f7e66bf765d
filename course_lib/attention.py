"""Relative self-attention (Shaw et al. 2018) with the memory-efficient skewing of the
Music Transformer (Huang et al. 2018, arXiv 1809.04281).

Attention logits get a term that depends only on the *distance* between query and key:
S_rel[i, j] = q_i · e_{L-1-i+j}, where ``e[L-1]`` embeds distance 0 and ``e[0]`` distance
L−1. Computing it naively gathers an (L, L, D) tensor of embeddings; the skewing trick
computes Q·Eᵀ (L × L), pads one column, reshapes and drops a row — O(L·D) extra memory
instead of O(L²·D). This module is the lesson: the skew as the chapter derives it, the naive
gather it is checked against, and the layer the models use.

Training takes both paths of :class:`RelativeSelfAttention`: windows of up to ``block`` = 128
events (the quick profile's) add this skew to PyTorch's fused attention, and longer ones (the
full profile's 2,048) go through :mod:`course_lib.relative_kernel`, the same numbers one block
of queries at a time, because a whole L × L matrix of logits per head and layer would make
memory grow like L² instead of L.

Notebook: notebooks/07_music_transformer.ipynb
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .measure import peak_memory_mib   # re-exported: chapter 7 imports it from here
from .relative_kernel import blockwise_relative_attention

__all__ = ["relative_logits", "skew_logits", "relative_embeddings_for", "blockwise_relative_attention",
           "RelativeSelfAttention", "peak_memory_mib"]


def skew_logits(qe: torch.Tensor) -> torch.Tensor:
    """(..., L, L) with ``qe[..., i, r] = q_i · e_r`` → (..., L, L) with entry [i, j] =
    ``qe[i, L-1-i+j]`` for j ≤ i: pad a zero column on the left, view the rows as
    (L + 1) × L, drop the first row. Entries above the diagonal are left-overs."""
    *lead, length, _ = qe.shape
    padded = F.pad(qe, (1, 0))
    return padded.reshape(*lead, length + 1, length)[..., 1:, :]


def relative_logits(q: torch.Tensor, e: torch.Tensor, skew: bool = True) -> torch.Tensor:
    """S_rel of shape (B, H, L, L): ``S_rel[b, h, i, j] = q[b, h, i] · e[L-1-i+j]`` for j ≤ i.

    Args:
        q: queries (B, H, L, D).
        e: relative embeddings (L, D) shared by the heads or (H, L, D) one per head;
            ``e[L-1]`` is distance 0, ``e[0]`` distance L−1.
        skew: True (default) computes it with the skewing trick; False with the naive
            gather of an (L, L, D) tensor (the reference). Entries above the diagonal are
            unspecified (they are masked by causal attention).
    """
    length = q.shape[-2]
    if e.shape[-2] != length:
        raise ValueError(f"need one relative embedding per distance 0..{length - 1}: e has {e.shape[-2]} rows")
    et = e.transpose(-1, -2)
    if skew:
        return skew_logits(q @ (et if e.dim() == 2 else et[None]))
    i = torch.arange(length, device=q.device)
    index = (length - 1 - i[:, None] + i[None, :]).clamp(min=0, max=length - 1)   # (L, L)
    gathered = e[..., index, :]                                                    # (L, L, D) or (H, L, L, D)
    return torch.einsum("bhid,ijd->bhij" if e.dim() == 2 else "bhid,hijd->bhij", q, gathered)


def relative_embeddings_for(table: torch.Tensor, length: int) -> torch.Tensor:
    """The rows of a (H, M, D) table of relative embeddings (row M−1 = distance 0) for
    distances ``length − 1 … 0``; distances ≥ M share the farthest row (clipping), so a
    model can run beyond its training length."""
    m = table.shape[-2]
    if length <= m:
        return table[..., m - length:, :]
    far = table[..., :1, :].expand(*table.shape[:-2], length - m, table.shape[-1])
    return torch.cat([far, table], dim=-2)


class RelativeSelfAttention(nn.Module):
    """Multi-head causal self-attention; with ``relative=True`` each head adds the relative
    term of a learned (heads, max_distance, head_dim) table to its logits:
    softmax((QKᵀ + S_rel) / √D) V. Up to ``block`` positions, PyTorch's fused
    ``scaled_dot_product_attention`` does the rest, with S_rel (scaled, causally masked) as its
    additive mask; longer sequences go through :func:`blockwise_relative_attention`, whose
    memory grows like L, not L² (``benchmarks/attention.py`` measures both)."""

    #: sequences longer than this are attended to in blocks of this many queries (less memory)
    block = 128
    #: and a block holds at most this many logits per head (fewer queries against many keys)
    max_block_logits = 128 * 1024

    def __init__(self, d_model: int, heads: int, max_distance: int = 1024, relative: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by {heads} heads")
        self.heads, self.head_dim, self.relative, self.dropout = heads, d_model // heads, relative, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        if relative:
            self.rel = nn.Parameter(torch.randn(heads, max_distance, self.head_dim) * 0.02)

    def _split(self, x: torch.Tensor):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return q, k, v  # each (B, H, T, Dh)

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        b, _, t, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(x)
        length = x.shape[1]
        drop = self.dropout if self.training else 0.0
        if not self.relative:
            return self._merge(F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop))
        if length > self.block:
            return self._merge(blockwise_relative_attention(q, k, v, self.rel, self.block, drop,
                                                                   self.max_block_logits))
        e = relative_embeddings_for(self.rel, length)
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        bias = (relative_logits(q, e) / math.sqrt(self.head_dim)).masked_fill(~causal, float("-inf"))
        return self._merge(F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), dropout_p=drop))

    @torch.no_grad()
    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """The attention probabilities (B, H, L, L) this layer gives input ``x``, computed
        explicitly (for looking at them; :meth:`forward` never materialises them)."""
        q, k, _ = self._split(x)
        length = x.shape[1]
        logits = q @ k.transpose(-1, -2)
        if self.relative:
            logits = logits + relative_logits(q, relative_embeddings_for(self.rel, length))
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        return (logits / math.sqrt(self.head_dim)).masked_fill(~causal, float("-inf")).softmax(-1)

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None):
        """One new position per row: x (B, 1, d_model) and the cached keys and values of the
        earlier positions → (output (B, 1, d_model), new cache). The relative term is computed
        for the new query's row only: O(t·D)."""
        q, k, v = self._split(x)
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        bias = None
        if self.relative:
            e = relative_embeddings_for(self.rel, k.shape[2])        # distances t … 0 for keys 0 … t
            bias = (q @ e.transpose(-1, -2)[None]) / math.sqrt(self.head_dim)   # (B, H, 1, t + 1)
            bias = bias.to(q.dtype)
        return self._merge(F.scaled_dot_product_attention(q, k, v, attn_mask=bias)), (k, v)
