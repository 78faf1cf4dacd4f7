"""How a bundle maps real Level-2A patches: the BigEarthNet examples beside their CORINE labels.

    python bench/l2a_check.py [--model BUNDLE]

BigEarthNet patches carry patch-level CORINE 2018 labels only (no pixel reference), so this is a
plausibility check, not an accuracy figure: it prints each patch's class shares (%) next to the
CORINE classes named for it, and the processing-level warning geoseg gives.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoseg.classes import NODATA  # noqa: E402
from geoseg.io.reader import open_scene  # noqa: E402
from geoseg.models.bundle import load_bundle  # noqa: E402
from geoseg.run.domain import assess  # noqa: E402
from tests.conftest import SHARED, classify_array  # noqa: E402

ARCHIVE = SHARED / "l2a-samples" / "bigearthnet" / "BigEarthNet-S2-Example.tar.bz2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    names = [c.name for c in bundle.classes]
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(tmp, filter="data")
        for patch in sorted((Path(tmp) / "BigEarthNet-S2-Example").iterdir()):
            corine = json.loads(next(patch.glob("*_labels_metadata.json")).read_text())["labels"]
            classes = classify_array(patch, bundle, bundle.spec.tile_size, bundle.spec.overlap, 1)
            valid = classes[classes != NODATA]
            shares = np.bincount(valid, minlength=len(names)) / max(valid.size, 1) * 100
            top = ", ".join(
                f"{names[i]} {shares[i]:.0f}" for i in np.argsort(-shares) if shares[i] >= 1
            )
            warn = "; ".join(assess(open_scene(patch), bundle)) or "no warning"
            print(f"{patch.name}\n  CORINE: {'; '.join(corine)}\n  map %:  {top}\n  {warn}")


if __name__ == "__main__":
    main()
