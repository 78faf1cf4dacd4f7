"""What the cloud-and-shadow mask (geoseg.io.clouds) costs on a scene, and how well it does.

    python bench/cloud_mask.py cost bench/data/full_10980.tif [--json bench/results/x.json]
    python bench/cloud_mask.py quality [--json bench/results/y.json]
    python bench/cloud_mask.py context [--json bench/results/z.json]

``cost``: CPU and wall seconds of ``clouds.detect`` on a scene (a bench/make_scene.py mosaic of
real Level-1C crops), CPU seconds per 10 m megapixel and that rate times a full 10980² tile, and
peak RSS. CPU seconds are the unit to compare: they hold on a shared machine, wall seconds not.

``quality``: on ../shared/data, the share of the pixels the ``clouds/`` pairs' difference maps
call cloud that the mask covers in the cloudy images (pairs with >= 10 % cloud there: the three
DR Congo ones), and the share of pixels masked in every crop of ``s2-dw/val`` and ``s2-dw/test``
(clear scenes: false alarms), pooled and per crop, with and without the shadow rule.

``context``: how far the network's view reaches, the cause of sub-crop disagreement: on the first
tile of each cloudy pair, the classes of columns 0–99 with columns 150–255 as they are and
mirrored in place (a cut's stand-in), which differ though no cell of theirs changed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from geoseg.io import clouds
from geoseg.io.reader import open_scene

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FULL_TILE_PX = 10980 * 10980


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def masked(path: Path, cast_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The detector's labels on the scene's pixels, and where the scene holds data."""
    scene = open_scene(path, cloud_mask="none")
    everything = Window(0, 0, scene.grid.width, scene.grid.height)
    keep = clouds.keep_cast_shadows
    if not cast_only:
        clouds.keep_cast_shadows = lambda scene, coarse, classes: classes  # type: ignore[assignment]
    try:
        labels = clouds.detect(scene).labels(everything)
    finally:
        clouds.keep_cast_shadows = keep
    _, valid = scene.read(everything, ["B02"])
    return labels, valid


def cost(scene_path: Path) -> dict[str, Any]:
    scene = open_scene(scene_path, cloud_mask="none")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), _cpu()
    mask = clouds.detect(scene)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    px = scene.grid.width * scene.grid.height
    return {
        "scene": str(scene_path),
        "scene_px": px,
        "bands": list(clouds.model_bands(scene) or ()),
        "cores": os.cpu_count(),
        "load_avg_after": os.getloadavg(),
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_s_per_megapixel": cpu / (px / 1e6),
        "cpu_s_full_tile_extrapolated": cpu * FULL_TILE_PX / px,
        "masked_share": mask.fraction,
        "peak_rss_mb_before": rss0,
        "peak_rss_mb_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def quality() -> dict[str, Any]:
    pairs = {}
    hit = total = 0
    for pair in sorted(p for p in (DATA / "clouds").iterdir() if p.is_dir()):
        with rasterio.open(pair / "diff_reference.tif") as ds:
            cloud = ds.read(1) == 1
        if cloud.mean() < 0.10:
            continue
        labels, _ = masked(pair / "cloudy.tif")
        covered = int(((labels == clouds.CLOUD) | (labels == clouds.SHADOW))[cloud].sum())
        pairs[pair.name] = 100.0 * covered / int(cloud.sum())
        hit, total = hit + covered, total + int(cloud.sum())
    crops: dict[str, dict[str, float]] = {}
    sums = {"cast": [0, 0], "all": [0, 0]}
    for split in ("val", "test"):
        for crop in sorted((DATA / "s2-dw" / split).iterdir()):
            for rule, cast_only in (("cast", True), ("all", False)):
                labels, valid = masked(crop, cast_only)
                n = int((((labels == clouds.CLOUD) | (labels == clouds.SHADOW)) & valid).sum())
                crops.setdefault(f"{split}/{crop.name}", {})[rule] = 100.0 * n / int(valid.sum())
                sums[rule][0] += n
                sums[rule][1] += int(valid.sum())
    return {
        "cloud_covered_pct": {"pooled": 100.0 * hit / max(total, 1), **pairs},
        "false_alarm_pct_pooled": {k: 100.0 * a / b for k, (a, b) in sums.items()},
        "false_alarm_pct_worst": {
            rule: max(v[rule] for v in crops.values()) for rule in ("cast", "all")
        },
        "false_alarm_pct": crops,
        "note": "cast: shadows kept only where a detected cloud can cast them (the default); "
        "all: every shadow the network finds",
    }


def context() -> dict[str, Any]:
    from geoseg.io import cloud_input

    out: dict[str, Any] = {}
    for pair in sorted(p for p in (DATA / "clouds").iterdir() if p.is_dir()):
        scene = open_scene(pair / "cloudy.tif", cloud_mask="none")
        bands = clouds.model_bands(scene) or clouds.BANDS_4
        net = clouds._Network(bands, clouds.level(scene))
        coarse = clouds.detector_grid(scene.grid)[0]
        _, x, _ = next(cloud_input.strips(scene, bands, coarse, 0, clouds.TILE, clouds.STRIDE))
        tile = clouds._tile((x - net.mean) / net.std, 0)
        cut = tile.copy()
        cut[:, :, 150:] = tile[:, :, 150:][:, :, ::-1]
        a, b = net._probs(tile)[:, :, :100], net._probs(cut)[:, :, :100]
        out[pair.name] = {
            "classes_changed_pct": 100.0 * float((a.argmax(0) != b.argmax(0)).mean()),
            "max_probability_change": float(np.abs(a - b).max()),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("cost", "quality", "context"))
    ap.add_argument("scene", type=Path, nargs="?")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.what == "cost" and args.scene is None:
        ap.error("cost needs a scene")
    result = {"cost": lambda: cost(args.scene), "quality": quality, "context": context}[args.what]()
    result["command"] = (
        "python bench/cloud_mask.py " + args.what + (f" {args.scene}" if args.scene else "")
    )
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
