"""Does multi-scale inference help? Class probabilities averaged over the input resampled to
several scales, against the single scale, on whole labelled crops (issue 13, item 2).

    python bench/multiscale_check.py --scenes ../shared/data/s2-dw/val
    python bench/multiscale_check.py --holdout configs/rural_holdout.yaml

Each crop is classified in one whole-crop pass per scale (the training loop's validation pass:
the bundle's network in fp32, its temperature, no tiling); the model input is resized bilinearly
(0.75 = coarser than 10 m, 1.5 = finer) and the probabilities resized back before averaging.
Prints OA and mIoU (agreement with Dynamic World, pooled over the crops; classes with ≥ 0.5 % of
the pixels) for each scale alone and for each combination with scale 1.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from rasterio.windows import Window

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoseg.classes import NODATA  # noqa: E402
from geoseg.core.metrics import confusion, metrics  # noqa: E402
from geoseg.models.bundle import load_bundle  # noqa: E402
from geoseg.train.calibration import labelled_scenes  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "s2-dw"


@torch.no_grad()
def probabilities(
    network: torch.nn.Module, x: torch.Tensor, scale: float, t: float
) -> torch.Tensor:
    """Class probabilities ``(classes, h, w)`` of ``x`` ``(channels, h, w)`` seen at ``scale``."""
    h, w = x.shape[1:]
    sh, sw = max(32, round(h * scale)), max(32, round(w * scale))
    xs = x[None] if (sh, sw) == (h, w) else F.interpolate(x[None], (sh, sw), mode="bilinear")
    ph, pw = math.ceil(sh / 32) * 32, math.ceil(sw / 32) * 32
    logits = network(F.pad(xs, (0, pw - sw, 0, ph - sh)))[:, :, :sh, :sw]
    probs = torch.softmax(logits / t, dim=1)
    if (sh, sw) != (h, w):
        probs = F.interpolate(probs, (h, w), mode="bilinear")
    return probs[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    ap.add_argument("--scenes", nargs="*", type=Path, default=[])
    ap.add_argument("--holdout", type=Path, help="a hold-out YAML (crops and patches)")
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0, 0.75, 1.5])
    args = ap.parse_args()
    dirs = list(args.scenes)
    if args.holdout:
        spec = yaml.safe_load(args.holdout.read_text())
        dirs += [DATA / p for p in [*spec.get("crops", []), *spec.get("patches", [])]]
    torch.set_num_threads(2)
    bundle = load_bundle(args.model)
    network = bundle.network.float().eval()
    scenes, inputs = labelled_scenes(bundle, dirs)
    n, t = len(bundle.spec.classes), bundle.spec.temperature
    combos = [(s,) for s in args.scales] + [(1.0, s) for s in args.scales if s != 1.0]
    combos.append(tuple(args.scales))
    cms = {c: np.zeros((n, n), dtype=np.int64) for c in combos}
    for scene in scenes:
        h, w = scene.shape
        refl, valid, label = scene.read(Window(0, 0, w, h))
        x = torch.from_numpy(inputs(refl, valid))
        probs = {s: probabilities(network, x, s, t) for s in args.scales}
        for combo in combos:
            pred = torch.stack([probs[s] for s in combo]).mean(0).argmax(0).numpy()
            pred = pred.astype(np.uint8)
            pred[~valid] = NODATA
            cms[combo] += confusion(pred, label, n)
    print(f"{len(scenes)} crops, {int(cms[combos[0]].sum()):,} labelled px")
    for combo, cm in cms.items():
        m = metrics(cm)
        name = " + ".join(f"{s:g}" for s in combo)
        print(f"scales {name:14s} OA {100 * m['overall_accuracy']:.1f} %  mIoU {m['miou']:.3f}")


if __name__ == "__main__":
    main()
