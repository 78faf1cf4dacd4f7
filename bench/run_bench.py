"""Benchmark geoseg classify against the model-only ceiling and a naive tile loop, in one run.

Each case runs in its own process so its peak RSS (ru_maxrss) is its own. Figures, machine and
command are appended to bench/RESULTS.md by hand from the JSON this prints.

    python bench/run_bench.py bench/data/s4096.tif [--naive] [--model BUNDLE]

* model-only: forward passes of the same network on batches of 512² tiles already in memory (no
  I/O, no blending), in fp32 (the ceiling the ratios divide by) and in each reduced precision
  (``--precisions``);
* end-to-end: ``geoseg.classify`` with default settings (``--precision auto``, polygons
  included: read, indices, tiled inference with overlap blending, COG writing, vectorizing,
  statistics), scene pixels per second and tile pixels per second, CPU seconds by phase and
  square kilometres per second per core; ``--e2e-fp32`` also runs it with ``--precision fp32``;
* naive: read a 512² window → normalise → predict → argmax → write, tile after tile, no overlap,
  no read-ahead (the TorchGeo GridGeoSampler pattern) with the same model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from affine import Affine

HERE = Path(__file__).resolve().parent


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children (Dask workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def case_model_only(
    model: str | None, batches: int, batch_size: int, precision: str = "fp32"
) -> dict[str, float]:
    """The Predictor's own forward (BatchNorm folded, channels-last, softmax; int8: ONNX
    Runtime) on tiles in memory."""
    import torch

    from geoseg.engine.predict import Predictor
    from geoseg.models.bundle import load_bundle

    bundle = load_bundle(model)
    pred = Predictor(bundle, device="auto", batch_size=batch_size, precision=precision)
    tile = bundle.spec.tile_size
    x = torch.randn(batch_size, len(bundle.spec.channels), tile, tile)
    with torch.inference_mode():
        pred._forward(x)  # warm-up
        if pred.device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), _cpu_s()
        for _ in range(batches):
            probs = pred._forward(x)
        probs.cpu()
        dt, cpu = time.perf_counter() - t0, _cpu_s() - c0
    px = batches * batch_size * tile * tile
    return {
        "seconds": dt,
        "tile_px_per_s": px / dt,
        "cpu_s_per_mpx": cpu / px * 1e6,
        "peak_rss_mb": _peak_rss_mb(),
    }


def case_end_to_end(
    scene: str,
    model: str | None,
    chunk_size: int,
    engine: str,
    workers: int | None,
    precision: str = "auto",
) -> dict[str, float]:
    import geoseg
    from geoseg.run.identity import result_precision
    from geoseg.tiling import TileGrid

    bundle = geoseg.load_bundle(model)
    with tempfile.TemporaryDirectory(dir=HERE / "data") as out:
        opts = geoseg.Options(
            chunk_size=chunk_size,
            engine=engine,
            workers=workers,
            resume=False,
            precision=precision,
        )
        t0, c0 = time.perf_counter(), _cpu_s()
        res = geoseg.classify(scene, out, model=bundle, options=opts)
        dt = time.perf_counter() - t0
    cpu = _cpu_s() - c0
    shape, transform = _shape(scene)
    tile, overlap = bundle.spec.tile_size, bundle.spec.overlap
    grid = TileGrid.for_chunk_size(*shape, tile, overlap, chunk_size, transform)
    tiles = grid.n_tile_rows * grid.n_tile_cols * grid.tile**2
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cores = os.cpu_count() or 1
    return {
        "precision": result_precision(opts, bundle) or "fp32",
        "seconds": dt,
        "cpu_s": cpu,
        "km2_per_s_per_core": res.total_pixels * 1e-4 / dt / cores,  # 10 m pixels
        **{k: round(v, 2) for k, v in res.timings.items()},
        "scene_px_per_s": res.total_pixels / dt,
        "tile_px_per_s": tiles / dt,
        "tile_px_per_scene_px": tiles / res.total_pixels,
        "peak_rss_mb": _peak_rss_mb(),
        "peak_rss_workers_mb": children,
    }


def case_naive(scene: str, model: str | None) -> dict[str, float]:
    import numpy as np
    import rasterio
    import torch
    from rasterio.windows import Window

    import geoseg
    from geoseg.engine.predict import Predictor

    bundle = geoseg.load_bundle(model)
    pred = Predictor(bundle, device="cpu")
    sc = geoseg.open_scene(scene)
    tile = bundle.spec.tile_size
    h, w = sc.shape
    with tempfile.TemporaryDirectory(dir=HERE / "data") as out:
        profile = {
            "driver": "GTiff",
            "width": w,
            "height": h,
            "count": 1,
            "dtype": "uint8",
            "crs": sc.grid.crs,
            "transform": sc.grid.transform,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "deflate",
        }
        t0, c0 = time.perf_counter(), _cpu_s()
        with rasterio.open(Path(out) / "naive.tif", "w", **profile) as dst, torch.inference_mode():
            for r in range(0, h, tile):
                for c in range(0, w, tile):
                    win = Window(c, r, min(tile, w - c), min(tile, h - r))
                    refl, valid = sc.read(win, bundle.read_bands)
                    x = np.zeros((len(bundle.spec.channels), tile, tile), dtype=np.float32)
                    x[:, : valid.shape[0], : valid.shape[1]] = pred.features(refl, valid)
                    logits = pred.network(torch.from_numpy(x)[None])
                    cls = logits.argmax(1)[0, : valid.shape[0], : valid.shape[1]].numpy()
                    dst.write(np.where(valid, cls, 255).astype(np.uint8), 1, window=win)
        dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "cpu_s": _cpu_s() - c0,
        "scene_px_per_s": h * w / dt,
        "peak_rss_mb": _peak_rss_mb(),
    }


def cpu_budget(model: dict[str, float], e2e: dict[str, float], cores: int) -> dict[str, float]:
    """What the measured CPU time allows: a run cannot take less wall time than its CPU seconds
    spread over every core, so ``model_s / (cpu_s / cores)`` bounds end-to-end ÷ model-only for
    the work this code does, and ``other_core_s_for_0_9`` is the CPU time that everything but the
    model (reading, indices, blending, writing, polygons) may use for the 0.9 × target."""
    tile_px = e2e["tile_px_per_s"] * e2e["seconds"]
    model_s = tile_px / model["tile_px_per_s"]  # the ceiling's wall time for these tiles
    model_core_s = tile_px * model["cpu_s_per_mpx"] / 1e6
    return {
        "cores": cores,
        "model_wall_s": round(model_s, 1),
        "model_core_s": round(model_core_s, 1),
        "e2e_core_s": round(e2e["cpu_s"], 1),
        "other_core_s": round(e2e["cpu_s"] - model_core_s, 1),
        "bound_e2e_vs_model_only": round(model_s / max(model_s, e2e["cpu_s"] / cores), 3),
        "other_core_s_for_0_9": round(cores * model_s / 0.9 - model_core_s, 1),
    }


def _shape(scene: str) -> tuple[tuple[int, int], Affine]:
    """The scene's size and transform: the run anchors its tiles to the CRS."""
    import geoseg

    opened = geoseg.open_scene(scene)
    return opened.shape, opened.grid.transform


def _sub(case: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--case", case, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scene", nargs="?")
    ap.add_argument("--model", default=None)
    ap.add_argument("--chunk-size", type=int, default=2048)
    ap.add_argument("--naive", action="store_true", help="also run the naive tile loop")
    ap.add_argument("--scaling", action="store_true", help="also local clusters of 1 and 2 workers")
    ap.add_argument("--model-batches", type=int, default=6)
    ap.add_argument(
        "--precisions", default="bf16,int8", help="reduced precisions to time model-only"
    )
    ap.add_argument("--e2e-fp32", action="store_true", help="also end-to-end in fp32")
    ap.add_argument(
        "--batch-sizes", default="", help="also model-only fp32 at these batch sizes (RSS, speed)"
    )
    ap.add_argument("--batch-size", type=int, default=8, help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="inprocess", help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    model_args = ["--model", a.model] if a.model else []
    if a.case == "model":
        print(json.dumps(case_model_only(a.model, a.model_batches, a.batch_size, a.precision)))
        return
    if a.case == "e2e":
        args = (a.scene, a.model, a.chunk_size, a.engine, a.workers, a.precision)
        print(json.dumps(case_end_to_end(*args)))
        return
    if a.case == "naive":
        print(json.dumps(case_naive(a.scene, a.model)))
        return
    import torch

    from geoseg.engine.precision import cpu_flags

    result: dict[str, object] = {
        "scene": a.scene,
        "shape": _shape(a.scene)[0],
        "machine": f"{platform.machine()} {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}, GPU: "
        + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"),
        # reduced precision pays only with these instructions (and `auto` looks for them)
        "cpu_flags": sorted(
            f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx_vnni", "avx2"))
        ),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "command": " ".join(["python", *sys.argv]),
    }
    batches = ["--model-batches", str(a.model_batches)]
    result["model_only"] = model = _sub("model", *batches, *model_args)
    ceiling = model["tile_px_per_s"]
    for p in filter(None, a.precisions.split(",")):
        result[f"model_only_{p}"] = m = _sub("model", *batches, "--precision", p, *model_args)
        result[f"model_only_{p}_vs_fp32"] = round(m["tile_px_per_s"] / ceiling, 3)
    for b in filter(None, a.batch_sizes.split(",")):
        result[f"model_only_batch_{b}"] = _sub("model", *batches, "--batch-size", b, *model_args)
    chunk = ["--chunk-size", str(a.chunk_size)]
    result["end_to_end"] = e2e = _sub("e2e", a.scene, *chunk, "--precision", "auto", *model_args)
    used = result.get(f"model_only_{e2e['precision']}", model)
    result["e2e_vs_model_only_tile_px"] = round(e2e["tile_px_per_s"] / ceiling, 3)
    result["e2e_scene_px_vs_model_only_px"] = round(e2e["scene_px_per_s"] / ceiling, 3)
    result["cpu_budget"] = cpu_budget(used, e2e, os.cpu_count() or 1)  # type: ignore[arg-type]
    if a.e2e_fp32:
        result["end_to_end_fp32"] = _sub("e2e", a.scene, *chunk, "--precision", "fp32", *model_args)
    if a.scaling:
        for n in (1, 2):
            args = [a.scene, *chunk, "--engine", "local", "--workers", str(n), *model_args]
            result[f"local_{n}_workers"] = _sub("e2e", *args)
        one, two = result["local_1_workers"], result["local_2_workers"]
        result["scaling_2_vs_1"] = round(two["scene_px_per_s"] / one["scene_px_per_s"], 3)  # type: ignore[index]
    if a.naive:
        result["naive"] = naive = _sub("naive", a.scene, *model_args)
        result["e2e_vs_naive"] = round(e2e["scene_px_per_s"] / naive["scene_px_per_s"], 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
