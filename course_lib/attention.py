"""Relative self-attention (Shaw et al. 2018) with the memory-efficient skewing of the
Music Transformer (Huang et al. 2018, arXiv 1809.04281).

Attention logits get a term that depends only on the *distance* between query and key:
S_rel[i, j] = q_i · e_{L-1-i+j}, where ``e[L-1]`` embeds distance 0 and ``e[0]`` distance
L−1. Computing it naively gathers an (L, L, D) tensor of embeddings; the skewing trick
computes Q·Eᵀ (L × L), pads one column, reshapes and drops a row — O(L·D) extra memory
instead of O(L²·D).

Notebook: notebooks/07_music_transformer.ipynb
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

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


def _skew_block(qe: torch.Tensor) -> torch.Tensor:
    """The skew for a block of B query rows (the last B positions) against K keys: (..., B, K)
    with ``qe[..., r, c]`` = q_r · (embedding of distance K−1−c) → entry [r, j] =
    ``qe[..., r, B−1−r+j]``. In a contiguous (B, K) matrix that element sits at flat position
    (B−1) + r·(K−1) + j, so the skew is a strided view: :func:`skew_logits`'s pad-and-reshape
    without the padded copy. Entries above the block's diagonal read the next row (left-overs,
    masked anyway). Each (B, K) matrix of ``qe`` must be contiguous."""
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


def blockwise_relative_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, table: torch.Tensor,
                                 block: int = 256, dropout: float = 0.0, max_logits: int | None = None) -> torch.Tensor:
    """Causal relative attention computed ``block`` queries at a time, with a hand-written
    backward that recomputes each block's probabilities (FlashAttention's idea, in plain
    PyTorch): the L × L logits of all heads never exist at once, so memory grows like
    L · block instead of L². With ``max_logits``, a block also holds at most that many
    logits per head (fewer queries where there are more keys), so its memory stays the same
    however long the sequence. Equal to the one-shot computation, gradients included (tests).

    Args:
        q, k, v: (B, H, L, D).
        table: the (H, M, D) relative embeddings (row M−1 = distance 0; see
            :func:`relative_embeddings_for`).
    """
    length = q.shape[-2]
    e = relative_embeddings_for(table, length)
    return _BlockwiseRelativeAttention.apply(q, k, v, e, _block_bounds(length, block, max_logits), dropout)


def relative_embeddings_for(table: torch.Tensor, length: int) -> torch.Tensor:
    """The rows of a (H, M, D) table of relative embeddings (row M−1 = distance 0) for
    distances ``length − 1 … 0``; distances ≥ M share the farthest row (clipping), so a
    model can run beyond its training length."""
    m = table.shape[-2]
    if length <= m:
        return table[..., m - length:, :]
    far = table[..., :1, :].expand(*table.shape[:-2], length - m, table.shape[-1])
    return torch.cat([far, table], dim=-2)


def _resident_mib(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its peak) of this process, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _peak_child(fn, warmup: bool, queue) -> None:
    import ctypes

    # A forked child must not enter the OpenMP thread pool its parent started (libgomp is not
    # fork-safe: it would hang), so it computes on one thread.
    torch.set_num_threads(1)
    # glibc keeps freed blocks in its heap and reuses them imperfectly when tensor sizes
    # change from call to call, so the resident size drifts above what is alive. A fixed mmap
    # threshold gives every allocation over 64 KiB its own mapping, handed back when freed:
    # the peak then follows the live tensors, as torch.cuda.max_memory_allocated does.
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 64 * 1024)   # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):   # not glibc: measure with its allocator as it is
        pass
    if warmup:   # the libraries' one-time start-up and scratch buffers are not fn's memory
        fn()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")   # reset the peak (VmHWM) to what is resident now
    start = _resident_mib("VmRSS")
    fn()
    queue.put(_resident_mib("VmHWM") - start)


def peak_memory_mib(fn, warmup: bool = True) -> float:
    """Extra peak resident memory (MiB) that ``fn()`` needs, measured in a forked child
    process (Linux): its peak RSS minus its RSS just before the call. With ``warmup`` the
    child calls ``fn`` once first and measures the second call, so one-time start-up costs
    (kernels, thread pools, scratch buffers) are not counted. On a GPU use
    ``torch.cuda.max_memory_allocated``."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_peak_child, args=(fn, warmup, queue))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the measured function failed in the child process (exit code {child.exitcode})")
    return float(queue.get())


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
