"""What Level-1C cloud detection (s2cloudless, geoseg.io.clouds) costs on a scene, by phase.

    python bench/cloud_mask.py bench/data/full_10980.tif [--jp2] [--json bench/results/x.json]

The scene is a bench/make_scene.py mosaic of real Level-1C crops (B01, B09 stand-ins at 10 m);
no real product here carries B10, so a clear-sky cirrus stand-in (30 DN, 60 m) is written beside
it in a temporary folder. Phases: reading the ten bands averaged onto the 60 m grid, the LightGBM
probabilities, the averaging and dilation; wall and CPU seconds, peak RSS, and the share of the
scene masked (clear real land: should be near 0). Reading B01/B09 at 10 m costs more than a
product's native 60 m files. ``--jp2`` first writes the detector's ten bands as lossless JPEG 2000
files at their native 10/20/60 m resolutions, as a SAFE product holds them (block means of the
10 m values; not timed), and times the detector on those.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from geoseg.io import clouds
from geoseg.io.reader import open_scene
from geoseg.io.scene import BandSource, Scene


def _clock() -> tuple[float, float]:
    t = os.times()
    return time.perf_counter(), t.user + t.system


#: Native resolution (m) of the detector's bands in a product.
NATIVE = {"B01": 60, "B02": 10, "B04": 10, "B05": 20, "B08": 10, "B8A": 20, "B09": 60, "B11": 20}


def as_jp2(scene: Scene, folder: Path) -> None:
    """The detector's bands but B10 (the caller adds it) as JPEG 2000 at native resolution."""
    g = scene.grid
    for name, res in NATIVE.items():
        src = scene.bands[name]
        with rasterio.open(src.path) as ds:
            dn = ds.read(src.index)
        k = res // round(g.res[0])
        h, w = dn.shape[0] // k, dn.shape[1] // k
        dn = dn[: h * k, : w * k].reshape(h, k, w, k).mean(axis=(1, 3)).round().astype(np.uint16)
        with rasterio.open(
            folder / f"{name}.jp2", "w", driver="JP2OpenJPEG", width=w, height=h, count=1,
            dtype="uint16", crs=g.crs, transform=g.transform * Affine.scale(k),
            QUALITY=100, REVERSIBLE="YES", BLOCKXSIZE=1024, BLOCKYSIZE=1024,
        ) as dst:  # fmt: skip
            dst.write(dn, 1)
        scene.bands[name] = BandSource(name, str(folder / f"{name}.jp2"), 1, 1e-4, 0.0, 0.0)
        del dn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--jp2", action="store_true", help="time the bands as JPEG 2000 files")
    args = ap.parse_args()
    scene = open_scene(args.scene, cloud_mask=False)
    g = scene.grid
    grid, _ = clouds.detector_grid(scene)  # B10's native grid: the detector's
    h, w = grid.height, grid.width
    with tempfile.TemporaryDirectory() as tmp:
        b10 = Path(tmp) / "B10.tif"
        with rasterio.open(
            b10, "w", driver="GTiff", width=w, height=h, count=1, dtype="uint16",
            crs=grid.crs, transform=grid.transform, nodata=0,
        ) as dst:  # fmt: skip
            dst.write(np.full((1, h, w), 30, dtype=np.uint16))
        scene.bands["B10"] = BandSource("B10", str(b10), 1, 1e-4, 0.0, 0.0)
        if args.jp2:
            as_jp2(scene, Path(tmp))
        assert clouds.detectable(scene)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = [_clock()]
        x, valid = clouds.read_bands(scene, grid)
        t.append(_clock())
        probability = clouds.cloud_probability(x, valid)
        t.append(_clock())
        mask = clouds.cloud_mask(probability)
        t.append(_clock())
        names = ("read_60m", "lightgbm", "average_dilate")
        phases = {
            name: {"wall_s": b[0] - a[0], "cpu_s": b[1] - a[1]}
            for name, a, b in zip(names, t[:-1], t[1:], strict=True)
        }
        total = {"wall_s": t[-1][0] - t[0][0], "cpu_s": t[-1][1] - t[0][1]}
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "scene": str(args.scene),
        "scene_px": g.width * g.height,
        "detector_px": w * h,
        "cores": os.cpu_count(),
        "gpu": "none",
        "phases": phases,
        "total": total,
        "detector_px_per_s": w * h / total["wall_s"],
        "masked_share": float(mask.mean()),
        "valid_share_60m": float(valid.mean()),
        "peak_rss_mb_before": rss0,
        "peak_rss_mb_after": rss1,
        "files": "JPEG 2000 at native resolution" if args.jp2 else "the scene's own",
        "command": f"python bench/cloud_mask.py {args.scene}" + (" --jp2" if args.jp2 else ""),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
