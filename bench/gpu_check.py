"""The GPU check: one command for a lent CUDA machine, about 2-4 minutes, results as JSON.

    python bench/gpu_check.py [--device cuda] [--out gpu_check.json] [--scene SCENE]

1. Agreement: the shipped model classifies the demo sample through ``geoseg.classify`` on the CPU
   in fp32 and on the device with its default (AMP: bf16 where supported, else fp16); the class
   rasters must agree on >= 99.5 % of valid pixels.
2. AMP training: 6 optimiser steps of the shipped network (batch 8 chips of 256 px, random
   input and labels) through the training loop's own step (autocast + GradScaler); the losses
   must be finite.
3. Full-tile timing: batches of 8 tiles of 512 px through the Predictor on the device, fp32 and
   AMP, against one CPU fp32 batch in the same run (ratios, not lone seconds; on the CPU only the
   latter).

Exit code 0 when every check passes, 1 when one fails, 2 when the device is missing. Nothing here
needs ../shared (it does not travel to the device machine): the demo sample is in the repo.
``--device cpu`` runs the same script on the CPU (the comparisons are then CPU against CPU, AMP
training uses bf16 autocast), which is how it is kept working on machines without a GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geoseg  # noqa: E402
from geoseg.classes import NODATA  # noqa: E402
from geoseg.engine.predict import Predictor  # noqa: E402
from geoseg.models.bundle import load_bundle  # noqa: E402
from geoseg.train.config import load_config  # noqa: E402
from geoseg.train.loop import train_epoch  # noqa: E402
from geoseg.train.setup import build_parts  # noqa: E402

MIN_AGREEMENT = 0.995


def agreement(scene: Path, device: str, work: Path) -> dict[str, Any]:
    """Class rasters of the same scene on the CPU (fp32) and on ``device`` (its default AMP)."""
    maps, seconds = {}, {}
    for name, dev in (("cpu_fp32", "cpu"), ("device", device)):
        t0 = time.perf_counter()
        opts = geoseg.Options(device=dev, engine="inprocess", vectorize=False, resume=False)
        res = geoseg.classify(scene, work / name, options=opts)
        seconds[name] = round(time.perf_counter() - t0, 2)
        with rasterio.open(res.classes) as src:
            maps[name] = src.read(1)
    valid = maps["cpu_fp32"] != NODATA
    share = float((maps["cpu_fp32"] == maps["device"])[valid].mean())
    return {
        "pixels": int(valid.sum()),
        "agreement": round(share, 5),
        "passed": share >= MIN_AGREEMENT,
        "seconds": seconds,
    }


def amp_training(device: torch.device, steps: int = 6) -> dict[str, Any]:
    """The training loop's step under autocast and GradScaler on ``device``."""
    bundle = load_bundle()
    network = bundle.network.float().to(device)
    cfg = load_config(None, train=["unused"], output="unused", amp=True)
    parts = build_parts(cfg, network, np.ones(len(cfg.classes), np.float32), steps, device)
    g = torch.Generator().manual_seed(0)
    channels = len(bundle.spec.channels)
    batches = [
        (torch.randn(8, channels, 256, 256, generator=g), torch.randint(0, 9, (8, 256, 256)))
        for _ in range(steps)
    ]
    t0 = time.perf_counter()
    loss = train_epoch(parts, batches, device)  # type: ignore[arg-type]
    sync(device)
    return {
        "steps": steps,
        "amp_dtype": str(torch.get_autocast_dtype(device.type)),
        "grad_scaler": parts.scaler.is_enabled(),
        "mean_loss": round(loss, 4),
        "seconds_per_step": round((time.perf_counter() - t0) / steps, 3),
        "passed": bool(np.isfinite(loss)),
    }


def tile_timing(device: str, batches: int = 5) -> dict[str, Any]:
    """Seconds per batch of 8 full 512-px tiles: device fp32, device AMP, CPU fp32 (1 batch)."""
    bundle = load_bundle()
    x = torch.randn(8, len(bundle.spec.channels), 512, 512)
    out: dict[str, Any] = {}
    runs = [("cpu_fp32", "cpu", False, 1)]
    if torch.device(device).type != "cpu":
        runs += [("device_fp32", device, False, batches), ("device_amp", device, True, batches)]
    for name, dev, amp, n in runs:
        predictor = Predictor(bundle, device=dev, amp=amp)
        predictor._probabilities(x)  # warm-up (cuDNN autotune, allocations)
        sync(predictor.device)
        t0 = time.perf_counter()
        for _ in range(n):
            predictor._probabilities(x)
        sync(predictor.device)
        out[name] = round((time.perf_counter() - t0) / n, 4)
    if "device_amp" in out:
        out["amp_speedup_vs_device_fp32"] = round(out["device_fp32"] / out["device_amp"], 2)
        out["device_amp_speedup_vs_cpu_fp32"] = round(out["cpu_fp32"] / out["device_amp"], 1)
        out["tiles_per_second_device_amp"] = round(8 / out["device_amp"], 1)
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    ap.add_argument("--scene", type=Path, default=ROOT / "samples" / "norcia_20171018")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device ({args.device}): run on a GPU", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        report: dict[str, Any] = {
            "machine": {
                "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                "torch": torch.__version__,
                "python": platform.python_version(),
                "cpu_threads": torch.get_num_threads(),
            },
            "agreement": agreement(args.scene, args.device, Path(tmp)),
            "amp_training": amp_training(device),
            "tile_timing": tile_timing(args.device),
        }
    passed = report["agreement"]["passed"] and report["amp_training"]["passed"]
    report["passed"] = passed
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
