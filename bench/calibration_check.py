"""Expected calibration error of a bundle's confidence on labelled crops it was not fitted on.

    python bench/calibration_check.py [--model BUNDLE] --scenes DIR [DIR ...]

Prints the ECE (percentage points, agreement with Dynamic World labels) of the maximum class
probability as trained (T = 1) and with the bundle's temperature, on whole crops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoseg.models.bundle import load_bundle  # noqa: E402
from geoseg.models.inputs import read_bands  # noqa: E402
from geoseg.train.calibration import expected_calibration_error, sample_logits  # noqa: E402
from geoseg.train.dataset import LabelledScene, ModelInput, find_scenes  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    ap.add_argument("--scenes", nargs="+", type=Path, required=True)
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    spec = bundle.spec
    names = read_bands(spec.bands, spec.indices)
    scenes = [
        LabelledScene.open(img, lab, names, spec.classes) for img, lab in find_scenes(args.scenes)
    ]
    mean, std = np.asarray(spec.normalization.mean), np.asarray(spec.normalization.std)
    inputs = ModelInput(spec.bands, spec.indices, mean, std)
    logits, labels = sample_logits(bundle.network.float(), scenes, inputs, torch.device("cpu"))
    t = spec.temperature
    before = expected_calibration_error(torch.softmax(logits, dim=1), labels)
    after = expected_calibration_error(torch.softmax(logits / t, dim=1), labels)
    crops = f"{len(scenes)} crops, {labels.numel():,} px"
    print(f"{crops}: ECE {before:.2f} (T = 1) -> {after:.2f} (T = {t:.3f})")


if __name__ == "__main__":
    main()
