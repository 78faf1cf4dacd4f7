"""Model-only speed of the shipped bundle and of candidate networks, in one run on one machine.

    python bench/model_speed.py [--threads 2] [--batches 3] [BUNDLE_OR_CONFIG ...]

Each network runs as ``geoseg classify`` runs it on a CPU (BatchNorm folded, channels-last,
fp32) on batches of 4 random 512² tiles of 12 channels; the figure is megapixels a second over
``--batches`` timed batches after one warm-up, and the ratio to the shipped bundle measured in
the same run. A training config (YAML) stands for its network with fresh weights: speed does not
depend on the weights. Compare figures only within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch
from torch import nn

from geoseg.models.bundle import load_bundle
from geoseg.models.fuse import fuse_batchnorm
from geoseg.models.registry import build_model
from geoseg.train.config import load_config


def network(path: str | None) -> tuple[str, nn.Module]:
    """The network of a bundle folder, or of a training config with fresh weights."""
    if path is not None and Path(path).suffix in (".yaml", ".yml", ".json"):
        cfg = load_config(path)
        channels = len(cfg.bands) + len(cfg.indices)
        net = build_model(
            cfg.architecture, cfg.encoder, channels, len(cfg.classes), **cfg.model_params
        )
        return cfg.name, net.eval()
    bundle = load_bundle(path)
    return bundle.spec.name, bundle.network


def mpx_per_s(net: nn.Module, batches: int) -> float:
    fused = fuse_batchnorm(net).to(memory_format=torch.channels_last)
    x = torch.randn(4, 12, 512, 512).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        fused(x)
        t0 = time.perf_counter()
        for _ in range(batches):
            fused(x)
        dt = time.perf_counter() - t0
    return batches * x.shape[0] * 512 * 512 / dt / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="bundle folders or training configs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    flags = [f for f in ("avx512_bf16", "avx512_vnni", "avx2") if f in _cpuinfo()]
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.threads} threads, flags {flags}, torch {torch.__version__}"
    )
    base_name, base = network(None)
    base_rate = mpx_per_s(base, args.batches)
    params = sum(p.numel() for p in base.parameters()) / 1e6
    print(f"{base_name}: {params:.1f} M parameters, {base_rate:.2f} Mpx/s (1.00 x)")
    for path in args.models:
        name, net = network(path)
        rate = mpx_per_s(net, args.batches)
        params = sum(p.numel() for p in net.parameters()) / 1e6
        print(f"{name}: {params:.1f} M parameters, {rate:.2f} Mpx/s ({rate / base_rate:.2f} x)")


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
