"""Shift stability: a sub-crop classified alone against the same pixels of the whole crop's run.

    python bench/shift_check.py [--model BUNDLE] [--tile 512 --overlap 64] [CROP ...]

For each crop (default: the seam crops of the test suite, a winter one among them), a window
starting at an offset that matches no tile or block boundary is cut out (10 m and 20 m band
files), classified alone, and compared with the whole crop's run: agreement inside (pixels
farther than ``--inner`` px from the cut) and on each side's outer 4 rows or columns. Issue 31's
targets: inside >= 99 %, every side >= 92 %. Figures pool the crops' pixels.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.engine.local import InProcessEngine, Job, collect, run_chunks
from geoseg.engine.predict import Predictor
from geoseg.io.geotiff import open_scene
from geoseg.models.bundle import Bundle, load_bundle
from geoseg.tiling import TileGrid

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "s2-dw"
CROPS = [
    DATA / "train" / "oscd_beirut_20150820",
    DATA / "val" / "oscd_lasvegas_20180205",  # winter
    DATA / "val" / "oscd_norcia_20171018",  # rural
    DATA / "train" / "oscd_beihai_20161209",  # winter
]
SIDES = {"top": np.s_[:4], "bottom": np.s_[-4:], "left": np.s_[:, :4], "right": np.s_[:, -4:]}


def classify(
    path: Path,
    bundle: Bundle,
    tile: int,
    overlap: int,
    precision: str = "auto",
    anchored: bool = True,
) -> np.ndarray:
    """The class raster of ``path`` through the tiled in-process engine, in memory."""
    scene = open_scene(path)
    stride = tile - overlap
    transform = scene.grid.transform if anchored else None
    grid = TileGrid.for_chunk_size(*scene.shape, tile, overlap, 2 * stride, transform)
    engine = InProcessEngine(Predictor(bundle, batch_size=4, precision=precision))
    return collect(run_chunks(Job(scene, grid), engine), grid)


def subcrop(src: Path, dst: Path, win: Window) -> Path:
    """``win`` (even offsets and sizes) of a crop's 10 m and 20 m band files."""
    dst.mkdir()
    for name, factor in (("B10m.tif", 1), ("B20m.tif", 2)):
        with rasterio.open(src / name) as ds:
            box = (win.col_off, win.row_off, win.width, win.height)
            w = Window(*(int(v) // factor for v in box))
            profile = ds.profile | {
                "width": int(w.width),
                "height": int(w.height),
                "transform": ds.window_transform(w),
                "tiled": False,
            }
            for key in ("blockxsize", "blockysize"):
                profile.pop(key, None)
            with rasterio.open(dst / name, "w", **profile) as out:
                out.write(ds.read(window=w))
                out.descriptions = ds.descriptions
    return dst


def window(h: int, w: int) -> Window:
    """About the middle 3/4 of the crop from an offset of 74 / 106 px (no 32-px or tile step)."""
    r, c = min(74, h // 8 * 2), min(106, w // 8 * 2)
    return Window(c, r, (w - c - w // 8) // 2 * 2, (h - r - h // 8) // 2 * 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crops", nargs="*", type=Path, default=CROPS)
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    ap.add_argument("--tile", type=int)
    ap.add_argument("--overlap", type=int)
    ap.add_argument("--inner", type=int, default=64)
    ap.add_argument("--precision", default="auto", help="auto (as users run it), fp32, int8, …")
    ap.add_argument(
        "--corner-grid", action="store_true", help="tiles anchored at each scene's corner (before)"
    )
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    tile = args.tile or bundle.spec.tile_size
    overlap = args.overlap if args.overlap is not None else bundle.spec.overlap
    totals = {k: [0, 0] for k in ["inside", *SIDES]}
    with tempfile.TemporaryDirectory() as tmp:
        for crop in args.crops:
            anchored = not args.corner_grid
            full = classify(crop, bundle, tile, overlap, args.precision, anchored)
            win = window(*full.shape)
            cut = subcrop(crop, Path(tmp) / crop.name, win)
            sub = classify(cut, bundle, tile, overlap, args.precision, anchored)
            r, c, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
            ref = full[r : r + h, c : c + w]
            ok = (sub != NODATA) & (ref != NODATA)
            same = (sub == ref) & ok
            n = args.inner
            parts = {"inside": np.s_[n:-n, n:-n], **SIDES}
            line = []
            for key, sl in parts.items():
                agree, count = int(same[sl].sum()), int(ok[sl].sum())
                totals[key][0] += agree
                totals[key][1] += count
                line.append(f"{key} {agree / max(count, 1):.4f}")
            print(f"{crop.name} ({h}x{w} at {r},{c}): " + ", ".join(line), flush=True)
    pooled = ", ".join(f"{k} {a / max(n, 1):.4f}" for k, (a, n) in totals.items())
    how = "corner" if args.corner_grid else "CRS"
    print(f"pooled (tile {tile}, overlap {overlap}, {args.precision}, {how} grid): {pooled}")


if __name__ == "__main__":
    main()
