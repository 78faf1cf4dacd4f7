"""Expected calibration error of a bundle's confidence on labelled crops it was not fitted on.

    python bench/calibration_check.py [--model BUNDLE] --scenes DIR [DIR ...]

Prints the ECE (percentage points, agreement with Dynamic World labels) of the maximum class
probability as trained (T = 1) and with the bundle's temperature, on whole crops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoseg.models.bundle import load_bundle  # noqa: E402
from geoseg.train.calibration import (  # noqa: E402
    expected_calibration_error,
    labelled_scenes,
    sample_logits,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    ap.add_argument("--scenes", nargs="+", type=Path, required=True)
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    scenes, inputs = labelled_scenes(bundle, args.scenes)
    logits, labels = sample_logits(bundle.network.float(), scenes, inputs, torch.device("cpu"))
    t = bundle.spec.temperature
    before = expected_calibration_error(torch.softmax(logits, dim=1), labels)
    after = expected_calibration_error(torch.softmax(logits / t, dim=1), labels)
    crops = f"{len(scenes)} crops, {labels.numel():,} px"
    print(f"{crops}: ECE {before:.2f} (T = 1) -> {after:.2f} (T = {t:.3f})")


if __name__ == "__main__":
    main()
