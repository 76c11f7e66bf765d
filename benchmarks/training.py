"""Training and generation speed of the Performance RNN.

    python benchmarks/training.py [--device cuda] [--profiles quick full]

* training throughput (events/s): forward + backward + AdamW step on random windows,
  median over timed steps after warm-up, with PyTorch's oneDNN LSTM kernel on and off (CPU);
* generation: one event with the step form (state kept) vs recomputing the whole
  prefix of 1,024 events, median per event; and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform

import torch

from course_lib.measure import median_seconds
from course_lib.models import PerformanceRNN
from course_lib.training import profile_config, sequence_loss


def train_throughput(profile: str, device: torch.device, onednn: bool, repeat: int) -> float:
    config = profile_config(profile)
    model = PerformanceRNN.from_profile(profile).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = torch.randint(0, 388, (config.batch_size, config.window + 1), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)

    def step():
        with autocast:
            loss = sequence_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = onednn
    try:
        seconds = median_seconds(step, repeat, warmup=2, sync=sync)
    finally:
        torch.backends.mkldnn.enabled = previous
    return config.batch_size * config.window / seconds


@torch.no_grad()
def generation(profile: str, device: torch.device, length: int, repeat: int) -> tuple[float, float, float]:
    """Seconds per event: step form (oneDNN off, as the model does), step with oneDNN forced
    on, and recomputing the prefix of ``length`` events."""
    model = PerformanceRNN.from_profile(profile).to(device).eval()
    prefix = torch.randint(0, 388, (1, length), device=device)
    state = None
    for t in range(length - 1):
        _, state = model.step(prefix[:, t], None, state)
    last = prefix[:, -1]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    step = median_seconds(lambda: model.step(last, None, state), repeat * 20, sync=sync)

    def step_onednn():
        x = model.embed(last[:, None])
        model.lstm(x, state)  # nn.LSTM directly: the oneDNN kernel where PyTorch picks it

    onednn = median_seconds(step_onednn, repeat * 20, sync=sync)
    recompute = median_seconds(lambda: model(prefix)[:, -1], repeat, sync=sync)
    return step, onednn, recompute


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--profiles", nargs="+", default=["quick", "full"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores")
    for profile in args.profiles:
        if device.type == "cpu":
            on = train_throughput(profile, device, True, args.repeat)
            off = train_throughput(profile, device, False, args.repeat)
            print(f"[{profile}] training: {on:,.0f} events/s with oneDNN, {off:,.0f} events/s without")
        else:
            print(f"[{profile}] training: {train_throughput(profile, device, True, args.repeat):,.0f} events/s (bf16)")
        step, onednn, recompute = generation(profile, device, 1024, args.repeat)
        print(f"[{profile}] generation at 1,024 events: step {step * 1e3:.2f} ms/event "
              f"(oneDNN kernel: {onednn * 1e3:.2f} ms), recompute the prefix {recompute * 1e3:.1f} ms/event "
              f"→ step form {recompute / step:.0f}× faster")


if __name__ == "__main__":
    main()
