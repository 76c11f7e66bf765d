"""Ship a trained run: fp16 weights into course_lib/data/checkpoints/, with a registry entry
(sha256, config, the command that reproduces it, where and how long it trained, held-out NLL).

    python tools/ship_checkpoint.py runs/prnn-cpu prnn-cpu --command "course-lib train ..." \
        --trained-on "2-core CPU (AMD EPYC), 1 thread"
"""

import argparse

from course_lib import pretrained

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("run", help="the run folder (model.pt, metrics.jsonl)")
    parser.add_argument("name")
    parser.add_argument("--command", required=True, help="the command that reproduces the run")
    parser.add_argument("--trained-on", required=True, help="the machine it trained on")
    parser.add_argument("--description", default="")
    args = parser.parse_args()

    entry = pretrained.ship_run(args.run, args.name, command=args.command, trained_on=args.trained_on,
                                description=args.description)
    path = pretrained.CHECKPOINTS / entry["file"]
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB): held-out NLL {entry['valid_nll']:.4f} nats/event")
