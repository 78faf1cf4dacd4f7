"""How a map's edges differ from the same pixels inside a larger scene: the measurement behind
``tests/engine/test_local.py::test_scene_edges_are_classified_like_the_same_pixels_inside_a_larger_scene``,
for any bundle, plus the class-share shift on the outermost pixels.

    python bench/edge_check.py [--model BUNDLE] [--ring 4] [--shares 2]

A sub-crop of the Beirut crop (the test's window) is classified alone and compared with the same
pixels of the whole crop's run. Per side it prints the agreement on the outer ``--ring`` rows or
columns, and the largest change of any class's share on the outer ``--shares`` pixels
(sub-crop vs whole-crop run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from rasterio.windows import Window

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers, so the figure is the test's own

from geoseg.classes import NODATA  # noqa: E402
from geoseg.models.bundle import load_bundle  # noqa: E402
from tests.conftest import BEIRUT, classify_array  # noqa: E402
from tests.engine.test_local import _subcrop  # noqa: E402


def sides(n: int) -> dict[str, tuple[slice, ...]]:
    return {
        "top": np.s_[:n],
        "bottom": np.s_[-n:],
        "left": np.s_[:, :n],
        "right": np.s_[:, -n:],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    ap.add_argument("--ring", type=int, default=4)
    ap.add_argument("--shares", type=int, default=2)
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    tile, overlap = bundle.spec.tile_size, bundle.spec.overlap
    full = classify_array(BEIRUT, bundle, tile, overlap, chunk_tiles=2)
    h, w = full.shape
    win = Window(w // 8 * 2, h // 8 * 2, w // 4 * 2, h // 4 * 2)
    with tempfile.TemporaryDirectory() as tmp:
        sub = classify_array(_subcrop(BEIRUT, Path(tmp) / "sub", win), bundle, tile, overlap, 2)
    ref = full[win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width]
    ok = (sub != NODATA) & (ref != NODATA)
    names = [c.name for c in bundle.spec.classes]
    print(f"sub-crop {sub.shape[1]} x {sub.shape[0]} px of {BEIRUT.name}, tile {tile}")
    for side, ring in sides(args.ring).items():
        agree = (sub[ring] == ref[ring])[ok[ring]].mean()
        edge = sides(args.shares)[side]
        valid = ok[edge]
        shift = [
            abs((sub[edge][valid] == k).mean() - (ref[edge][valid] == k).mean()) * 100
            for k in range(len(names))
        ]
        worst = int(np.argmax(shift))
        print(
            f"{side:>6}: outer {args.ring} px agree {agree:.1%}; outer {args.shares} px: "
            f"largest class-share shift {shift[worst]:.1f} points ({names[worst]})"
        )


if __name__ == "__main__":
    main()
