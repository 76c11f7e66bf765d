"""Ship a trained run: fp16 weights into course_lib/data/checkpoints/, with a registry entry
(sha256, the command that reproduces it, where and how long it trained, held-out NLL).

    python tools/ship_checkpoint.py runs/prnn-cpu prnn-cpu --command "course-lib train ..." \
        --trained-on "2-core CPU (AMD EPYC), 1 thread"
"""

import argparse
import json
from pathlib import Path

from course_lib import pretrained
from course_lib.training import corpus_windows, evaluate, load_model, save_checkpoint

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("run", help="the run folder (model.pt, metrics.jsonl)")
    parser.add_argument("name")
    parser.add_argument("--command", required=True, help="the command that reproduces the run")
    parser.add_argument("--trained-on", required=True, help="the machine it trained on")
    parser.add_argument("--description", default="")
    args = parser.parse_args()

    run = Path(args.run)
    model = load_model(run / "model.pt")
    config = model.train_config
    out = pretrained.CHECKPOINTS / f"{args.name}.pt"
    save_checkpoint(out, model=model, config=config, step=model.train_step, half=True)
    shipped = load_model(out)
    _, valid = corpus_windows(config, progress=False)
    nll = evaluate(shipped, valid, max_windows=512)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    entries = pretrained.registry()
    entries[args.name] = {
        "file": out.name,
        "sha256": pretrained.sha256(out),
        "model": config.model,
        "profile": config.profile,
        "steps": model.train_step,
        "events_per_s": round(metrics[-1]["events_per_s"]),
        "trained_on": args.trained_on,
        "wall_minutes": round(metrics[-1]["elapsed_s"] / 60, 1),
        "valid_nll": round(nll, 4),
        "valid_windows": min(512, len(valid)),
        "command": args.command,
        "description": args.description,
    }
    (pretrained.CHECKPOINTS / "registry.json").write_text(json.dumps(entries, indent=2) + "\n")
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB): held-out NLL {nll:.4f} nats/event")
