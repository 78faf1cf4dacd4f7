"""Build a benchmark scene from real Sentinel-2 crops: a mosaic of 512 × 512 cells cut from the
crops in ../shared/data/s2-dw, written as one 12-band uint16 GeoTIFF (tiled, ZSTD).

The crops carry 10 bands (B02–B08, B8A, B11, B12). A full product also has the 60 m bands B01 and
B09; to read the same volume as a 12-band L2A product they are filled with copies of B02 and B8A
(labelled as such in the band descriptions' metadata). Memory: one row of cells at a time.

    python bench/make_scene.py --size 10980 bench/data/full_10980.tif
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from geoseg.io.geotiff import open_scene

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "s2-dw"
BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]
STAND_IN = {"B01": "B02", "B09": "B8A"}
CELL = 512


def load_cells() -> list[np.ndarray]:
    cells = []
    for crop in sorted(p for split in ("train", "val", "test") for p in (DATA / split).iterdir()):
        scene = open_scene(crop)
        if min(scene.shape) < CELL:
            continue
        names = [STAND_IN.get(b, b) for b in BANDS]
        refl, valid = scene.read(Window(0, 0, CELL, CELL), names)
        cells.append(np.where(valid, np.round(refl * 10000), 0).astype(np.uint16))
    return cells


def build(size: int, path: Path) -> Path:
    cells = load_cells()
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": len(BANDS),
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "transform": Affine(10, 0, 300000, 0, -10, 5000040),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "zstd",
        "bigtiff": "yes",
        "interleave": "pixel",
    }
    n = -(-size // CELL)
    with rasterio.open(path, "w", **profile) as dst:
        dst.descriptions = tuple(BANDS)
        dst.update_tags(
            SOURCE="mosaic of real Sentinel-2 L1C crops from geoseg shared data (s2-dw)",
            STAND_INS="B01 is a copy of B02, B09 a copy of B8A",
        )
        for i in range(n):
            h = min(CELL, size - i * CELL)
            row = np.concatenate([cells[(i * 7 + j) % len(cells)] for j in range(n)], axis=2)
            dst.write(row[:, :h, :size], window=Window(0, i * CELL, size, h))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--size", type=int, default=10980)
    args = ap.parse_args()
    print(build(args.size, args.path))


if __name__ == "__main__":
    main()
