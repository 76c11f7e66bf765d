"""Relative attention benchmark: peak memory of the skewed layer vs the naive gather vs plain
attention, training throughput of the Music Transformer vs the plain Transformer, and cached
generation vs recomputing the prefix.

    python benchmarks/attention.py [--device cpu|cuda]

Prints a report; copy it with the machine into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics

import torch
import torch.nn.functional as F

from course_lib.attention import RelativeSelfAttention, relative_embeddings_for, relative_logits
from course_lib.measure import median_seconds, peak_memory_mib
from course_lib.models import MusicTransformer, Transformer
from course_lib.training import sequence_loss

HEADS, D_MODEL = 8, 512


def naive_layer_pass(layer: RelativeSelfAttention, x: torch.Tensor) -> None:
    """The same layer's maths with the naive (L, L, D) gather instead of the skew."""
    q, k, v = layer._split(x)
    length = x.shape[1]
    bias = relative_logits(q, relative_embeddings_for(layer.rel, length), skew=False) / math.sqrt(layer.head_dim)
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.masked_fill(~causal, float("-inf")))
    layer._merge(out).sum().backward()


def memory(device) -> None:
    print(f"peak extra memory, one {HEADS}-head layer (d_model {D_MODEL}), batch 1, forward + backward "
          f"(median of 3; naive: one run):")
    for length in (512, 1024, 2048, 4096):
        def run(kind):
            def go():
                torch.manual_seed(0)
                layer = RelativeSelfAttention(D_MODEL, HEADS, max_distance=length, relative=kind != "plain")
                x = torch.randn(1, length, D_MODEL, requires_grad=True)
                if kind == "naive":
                    naive_layer_pass(layer, x)
                else:
                    layer(x).sum().backward()
            return go
        plain, skewed = (statistics.median(peak_memory_mib(run(kind)) for _ in range(3)) for kind in ("plain", "skewed"))
        # The per-head (H, L, L, D) gather needs ~2 × H·L²·D·4 bytes: 17 GB at L = 2,048, more than this machine.
        naive = peak_memory_mib(run("naive")) if length <= 1024 else float("nan")
        ratio = f"{naive / skewed:.1f}x less than naive" if naive == naive else "naive not run (needs > 16 GB)"
        print(f"  L = {length:5d}: plain {plain:7.0f} MiB, skewed {skewed:7.0f} MiB ({skewed / plain:.2f}x plain), "
              f"naive {naive:7.0f} MiB; skewed is {ratio}")


def throughput(device, sync) -> None:
    print("training throughput, whole model (quick width, 3 layers), forward + backward + AdamW step:")
    for length, batch in ((512, 8), (2048, 2)):
        rates = {}
        for cls in (MusicTransformer, Transformer):
            torch.manual_seed(0)
            model = cls.from_profile("quick", max_distance=length).to(device)
            opt = torch.optim.AdamW(model.parameters(), 1e-4)
            x = torch.randint(0, 388, (batch, length + 1), device=device)

            def step():
                loss = sequence_loss(model, x)
                opt.zero_grad()
                loss.backward()
                opt.step()

            rates[cls.__name__] = batch * length / median_seconds(step, repeat=5, warmup=2, sync=sync)
        share = rates["MusicTransformer"] / rates["Transformer"]
        print(f"  L = {length:5d}: Music Transformer {rates['MusicTransformer']:8,.0f} events/s, Transformer "
              f"{rates['Transformer']:8,.0f} events/s ({share:.0%})")


def cached_generation(device, sync) -> None:
    torch.manual_seed(0)
    model = MusicTransformer.from_profile("quick", max_distance=1024).to(device).eval()
    events = torch.randint(0, 388, (1, 1025), device=device)
    with torch.no_grad():
        state = None
        for t in range(1024):
            _, state = model.step(events[:, t], None, state)
        one_step = median_seconds(lambda: model.step(events[:, 1024], None, state), repeat=20, sync=sync)
        recompute = median_seconds(lambda: model(events[:, :1025]), repeat=5, sync=sync)
    print(f"the 1,025th event: cached step {one_step * 1e3:.2f} ms, recomputing the 1,025-event prefix "
          f"{recompute * 1e3:.1f} ms ({recompute / one_step:.0f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    print(f"machine: {platform.processor() or platform.machine()}, device {device}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")
    if device.type == "cpu":
        memory(device)
    throughput(device, sync)
    cached_generation(device, sync)
