"""How far a bundle's map depends on the tile size: the measurement behind
``tests/engine/test_predict.py::test_tiles_leave_no_seams_with_the_default_model``, for any bundle.

    python bench/tile_agreement.py [--model BUNDLE] [--overlap N] [--sizes 256 512 1024]

For each pair of tile sizes it prints the share of valid pixels with the same class, the
disagreement within 8 px of a tile edge and inside tiles (a seam shows as the former exceeding the
latter), and the class pairs that flip most. The scene is the Beirut training crop.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers, so the figure is the test's own

from geoseg.classes import NODATA  # noqa: E402
from geoseg.models.bundle import load_bundle  # noqa: E402
from tests.conftest import BEIRUT, classify_array  # noqa: E402
from tests.engine.test_predict import near_tile_edges  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    ap.add_argument("--overlap", type=int, help="overlap in px (default: the bundle's)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    overlap = bundle.spec.overlap if args.overlap is None else args.overlap
    names = [c.name for c in bundle.spec.classes]
    maps = {
        t: classify_array(BEIRUT, bundle, t, overlap, chunk_tiles=max(1, 1024 // t))
        for t in args.sizes
    }
    for a, b in itertools.combinations(args.sizes, 2):
        valid = maps[a] != NODATA
        differ = valid & (maps[a] != maps[b])
        edge = near_tile_edges(valid.shape, a, overlap, 8) | near_tile_edges(
            valid.shape, b, overlap, 8
        )
        flips = Counter(
            " <-> ".join(sorted((names[x], names[y])))
            for x, y in zip(maps[a][differ], maps[b][differ], strict=True)
        )
        top = ", ".join(f"{k} {n / differ.sum():.0%}" for k, n in flips.most_common(4))
        print(
            f"tile {a} vs {b}, overlap {overlap}: agree {1 - differ[valid].mean():.2%}; "
            f"disagree at tile edges {differ[edge & valid].mean():.2%}, "
            f"inside {differ[~edge & valid].mean():.2%}; flips: {top}"
        )


if __name__ == "__main__":
    main()
