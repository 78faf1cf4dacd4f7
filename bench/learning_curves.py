"""Training runs side by side, epoch block by epoch block: mean val and rural hold-out mIoU.

A run's per-epoch figures are noisy (the shipped run's selection score moves by 0.05 from one
epoch to the next), so comparing two recipes by their best epochs says little. Means over
blocks of epochs, at equal epochs, are steadier. Each RUN is a bundle folder (its bundle.json
keeps the history) or a training checkpoint (`.ckpt`, written every epoch, also of runs stopped
early):

    python bench/learning_curves.py geoseg/models/default build/candidate_default_extra.ckpt

Figures are the training loop's whole-crop pass: agreement with Dynamic World labels.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

KEYS = ("val_miou", "holdout_miou")


def history(run: Path) -> list[dict[str, Any]]:
    """The per-epoch records of a bundle folder or a checkpoint."""
    if run.is_dir():
        spec = json.loads((run / "bundle.json").read_text())
        return list(spec["provenance"]["history"])
    import torch  # only checkpoints need it

    state = torch.load(run, map_location="cpu", weights_only=False)
    return list(state["history"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="bundle folders or .ckpt files")
    parser.add_argument("--block", type=int, default=10, help="epochs per block")
    args = parser.parse_args()

    runs = {str(run): {h["epoch"]: h for h in history(run)} for run in args.runs}
    common = set.intersection(*(set(h) for h in runs.values()))
    last = max(common)
    print(f"epochs 0-{last}, present in every run; mean mIoU (val / rural hold-out)")
    print("epochs    | " + " | ".join(runs))
    for lo in range(0, last + 1, args.block):
        epochs = [e for e in range(lo, min(lo + args.block, last + 1)) if e in common]
        cells = [
            " / ".join(f"{statistics.mean(h[e][k] for e in epochs):.3f}" for k in KEYS)
            for h in runs.values()
        ]
        print(f"{lo:>3}-{epochs[-1]:<5} | " + " | ".join(cells))
    for name, h in runs.items():
        best = max(h.values(), key=lambda r: r["score"])
        print(f"{name}: best score {best['score']:.3f} at epoch {best['epoch']} of 0-{max(h)}")


if __name__ == "__main__":
    main()
