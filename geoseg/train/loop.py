"""The training loop: AdamW + LR schedule, AMP on CUDA, early stopping on validation mIoU,
resumable checkpoints, seeded; ends by writing a bundle with provenance and validation metrics.

Validation runs the network over whole validation scenes (zero-padded to a multiple of 32, zero
being what nodata reads as at inference), so the early-stopping metric is the one reported.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rasterio.windows import Window
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from geoseg._version import __version__
from geoseg.analysis.evaluate import confusion, metrics
from geoseg.engine.predict import resolve_device
from geoseg.errors import InputError
from geoseg.models.bundle import Bundle, BundleSpec, ModelSpec, Normalization, save_bundle
from geoseg.models.inputs import features, read_bands
from geoseg.models.registry import build_model
from geoseg.train.config import TrainConfig
from geoseg.train.dataset import (
    IGNORE,
    ChipDataset,
    LabelledScene,
    class_counts,
    find_scenes,
    normalisation,
)
from geoseg.train.losses import CombinedLoss, class_weights
from geoseg.train.warm_start import warm_start

log = logging.getLogger("geoseg.train")
Report = Callable[[str], None]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _open(cfg: TrainConfig, paths: Sequence[Path]) -> list[LabelledScene]:
    names = read_bands(cfg.bands, cfg.indices)
    return [
        LabelledScene.open(img, lab, names, cfg.classes, cfg.label_column)
        for img, lab in find_scenes(paths, cfg.label_name)
    ]


@torch.no_grad()
def validate(
    network: nn.Module,
    scenes: Sequence[LabelledScene],
    cfg: TrainConfig,
    mean: np.ndarray,
    std: np.ndarray,
    device: torch.device,
) -> np.ndarray:
    """Confusion matrix of the network over whole validation scenes."""
    n = len(cfg.classes)
    cm = np.zeros((n, n), dtype=np.int64)
    network.eval()
    for s in scenes:
        h, w = s.shape
        refl, valid, label = s.read(Window(0, 0, w, h))
        x = torch.from_numpy(features(refl, valid, cfg.bands, cfg.indices, mean, std))
        ph, pw = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32
        x = F.pad(x, (0, pw - w, 0, ph - h))[None].to(device)
        pred = network(x)[0, :, :h, :w].argmax(0).cpu().numpy().astype(np.uint8)
        pred[~valid] = IGNORE
        cm += confusion(pred, label, n)
    return cm


@torch.no_grad()
def precise_bn(
    network: nn.Module, data: ChipDataset, batches: int, batch_size: int, device: torch.device
) -> None:
    """Re-estimate BatchNorm statistics as plain averages over ``batches`` fresh training batches.

    During training they are exponential averages over the last few batches, computed while the
    weights moved; with small batches that makes the eval-mode network noisy from epoch to epoch
    (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm").
    """
    bns = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or batches <= 0:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    network.train()
    length, data.length = data.length, batches * batch_size
    for x, _ in DataLoader(data, batch_size=batch_size, shuffle=False):
        network(x.to(device))
    data.length = length
    for m, momentum in zip(bns, momenta, strict=True):
        m.momentum = momentum
    network.eval()


def _state_fp32(network: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Atomic: a crash while saving leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


# Settings that may differ on resume: they do not change the weights of the epochs already run.
_RUNTIME_KEYS = {
    "resume",
    "max_minutes",
    "threads",
    "device",
    "checkpoint",
    "patience",
    "precise_bn_batches",
}


def _check_resumable(saved: dict[str, Any], cfg: TrainConfig, ckpt: Path) -> None:
    """A checkpoint continues only the run that wrote it (same data, model and schedule)."""
    now = cfg.model_dump(mode="json")
    # A setting added after the checkpoint was written counts as its default.
    defaults = {
        k: f.get_default(call_default_factory=True) for k, f in TrainConfig.model_fields.items()
    }
    changed = sorted(
        k for k in now if k not in _RUNTIME_KEYS and saved.get(k, defaults[k]) != now[k]
    )
    if changed:
        raise InputError(
            f"checkpoint was written with other settings ({', '.join(changed)})",
            ckpt,
            "resume with the same config, or delete the checkpoint to start afresh",
        )


def train(cfg: TrainConfig, report: Report | None = None) -> Bundle:
    """Train a network as configured and write its bundle to ``cfg.output``."""
    say = report or log.info
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    amp = (device.type == "cuda") if cfg.amp is None else cfg.amp
    start = time.time()

    train_scenes = _open(cfg, cfg.train)
    val_scenes = _open(cfg, cfg.val) if cfg.val else []
    n_classes = len(cfg.classes)
    counts = class_counts(train_scenes, n_classes)
    mean, std = normalisation(train_scenes, cfg.bands, cfg.indices)
    if cfg.class_weights == "auto":
        weights: np.ndarray | None = class_weights(counts)
    elif cfg.class_weights == "none":
        weights = None
    else:
        weights = np.asarray(cfg.class_weights, dtype=np.float32)
        if len(weights) != n_classes:
            raise InputError(
                f"class_weights has {len(weights)} values for {n_classes} classes",
                "class_weights",
                "give one weight per class, or auto",
            )
    say(f"{len(train_scenes)} train / {len(val_scenes)} val scenes; class pixels {counts.tolist()}")
    if weights is not None:
        say(f"class weights {np.round(weights, 3).tolist()}")

    data = ChipDataset(
        train_scenes,
        cfg.bands,
        cfg.indices,
        mean,
        std,
        chip_size=cfg.chip_size,
        length=cfg.chips_per_epoch,
        seed=cfg.seed,
        d4=cfg.augment.d4,
        gain=cfg.augment.gain,
        brightness=cfg.augment.brightness,
        offset=cfg.augment.offset,
        balance=cfg.balanced_chips,
        n_classes=len(cfg.classes),
        sizes=cfg.chip_sizes,
        batch_size=cfg.batch_size,
    )
    generator = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=False, generator=generator)

    in_ch = len(cfg.bands) + len(cfg.indices)
    network = build_model(cfg.architecture, cfg.encoder, in_ch, n_classes, **cfg.model_params)
    network.to(device)
    if cfg.init is not None and not (cfg.resume and cfg.checkpoint_path.is_file()):
        say(f"starting from {warm_start(network, cfg, data, device)}")
    criterion = CombinedLoss(cfg.loss, n_classes, weights).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * len(loader)
    scheduler: torch.optim.lr_scheduler.LRScheduler
    if cfg.schedule == "onecycle" and steps > 0:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=steps, pct_start=0.1
        )
    elif cfg.schedule == "cosine" and steps > 0:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
    ema = (
        AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
        if cfg.ema_decay
        else None
    )
    evaluated = ema.module if ema is not None else network  # what is validated and shipped

    first_epoch, best_miou, best_epoch, stale = 0, -1.0, -1, 0
    best_state: dict[str, torch.Tensor] | None = None
    history: list[dict[str, Any]] = []
    elapsed_before = 0.0
    ckpt = cfg.checkpoint_path
    if cfg.resume and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        _check_resumable(state["config"], cfg, ckpt)
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        if ema is not None:
            ema.load_state_dict(state["ema"])  # same ema_decay, so the checkpoint has one
        first_epoch, best_miou, best_epoch = (
            state["epoch"] + 1,
            state["best_miou"],
            state["best_epoch"],
        )
        stale, best_state, history = state["stale"], state["best_state"], state["history"]
        elapsed_before = state.get("elapsed_s", 0.0)
        torch.set_rng_state(state["torch_rng"])
        say(f"resumed from {ckpt} after epoch {state['epoch']} (best mIoU {best_miou:.4f})")

    min_share = cfg.min_class_share
    val_names = [c.name for c in cfg.classes]
    stopped = "epochs done"
    for epoch in range(first_epoch, cfg.epochs):
        network.train()
        data.set_epoch(epoch)
        t0, total, batches = time.time(), 0.0, 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, enabled=amp):
                loss = criterion(network(x), y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(network)
            total += loss.item()
            batches += 1
        entry: dict[str, Any] = {
            "epoch": epoch,
            "loss": round(total / max(batches, 1), 5),
            "lr": scheduler.get_last_lr()[0],
            "train_s": round(time.time() - t0, 1),
        }
        if val_scenes:
            m = metrics(
                validate(evaluated, val_scenes, cfg, mean, std, device), val_names, min_share
            )
            entry.update(val_oa=m["overall_accuracy"], val_miou=m["miou"])
            score = m["miou"] or 0.0
        else:
            score = -entry["loss"]
        improved = score > best_miou
        if improved:
            best_miou, best_epoch, stale = score, epoch, 0
            best_state = _state_fp32(evaluated)
        else:
            stale += 1
        history.append(entry)
        elapsed = elapsed_before + time.time() - start
        say(f"epoch {epoch}: {entry}{' *' if improved else ''} ({elapsed / 60:.1f} min)")
        _save_checkpoint(
            ckpt,
            {
                "model": network.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "ema": ema.state_dict() if ema is not None else None,
                "epoch": epoch,
                "best_miou": best_miou,
                "best_epoch": best_epoch,
                "stale": stale,
                "best_state": best_state,
                "history": history,
                "elapsed_s": elapsed,
                "torch_rng": torch.get_rng_state(),
                "config": cfg.model_dump(mode="json"),
            },
        )
        if stale >= cfg.patience:
            stopped = f"early stop: no val mIoU gain for {cfg.patience} epochs"
            break
        if cfg.max_minutes is not None and elapsed > cfg.max_minutes * 60:
            stopped = f"time budget of {cfg.max_minutes} min spent"
            break
    if history:
        say(f"{stopped}; best epoch {best_epoch} (val mIoU {best_miou:.4f})")
    else:
        say("no epoch run: the starting weights are validated and written")

    if cfg.precise_bn_batches and val_scenes:
        # Recalibrate the last and the best epoch's weights; keep whichever validates better.
        data.set_epoch(cfg.epochs)  # fresh chips, none seen in training
        candidates = {"last": _state_fp32(evaluated)}
        last_epoch = history[-1]["epoch"] if history else -1
        if best_state is not None and best_epoch != last_epoch:
            candidates["best"] = best_state
        scored = {} if best_state is None else {"best as trained": (best_miou, best_state)}
        for key, state in candidates.items():
            network.load_state_dict(state)
            precise_bn(network, data, cfg.precise_bn_batches, cfg.batch_size, device)
            cm = validate(network, val_scenes, cfg, mean, std, device)
            score = metrics(cm, val_names, min_share)["miou"] or 0.0
            scored[key] = (score, _state_fp32(network))
            say(f"precise BN on the {key} weights: val mIoU {score:.4f}")
        chosen = max(scored, key=lambda k: scored[k][0])
        best_state = scored[chosen][1]
        selected = f"{chosen} epoch weights with precise BN ({cfg.precise_bn_batches} batches)"
    else:
        selected = f"epoch {best_epoch} (best validation mIoU)"
        if best_state is None:
            selected = "the starting weights (no epoch run)"
        elif ema is not None:
            selected += f", weight EMA (decay {cfg.ema_decay})"
    network.load_state_dict(best_state if best_state is not None else _state_fp32(evaluated))
    if cfg.fp16_weights:
        # Stored half precision (load_state_dict casts back into the fp32 network); measure the
        # validation figures with the weights exactly as users will get them.
        network.half().float()
    metrics_out: dict[str, Any] = {}
    if val_scenes:
        m = metrics(validate(network, val_scenes, cfg, mean, std, device), val_names, min_share)
        metrics_out["validation"] = {
            "note": "agreement with Dynamic World labels (teacher model, not ground truth); "
            "whole-scene forward pass in training, not the tiled classify path",
            **{k: v for k, v in m.items() if k != "class_names"},
        }
        say(f"best weights: val OA {m['overall_accuracy']}, mIoU {m['miou']}")
    network.cpu()
    if cfg.fp16_weights:
        network.half()
    spec = BundleSpec(
        name=cfg.name,
        model=ModelSpec(
            architecture=cfg.architecture, encoder=cfg.encoder, params=cfg.model_params
        ),
        bands=cfg.bands,
        indices=cfg.indices,
        normalization=Normalization(mean=mean.tolist(), std=std.tolist()),
        classes=cfg.classes,
        tile_size=cfg.tile_size,
        overlap=cfg.overlap,
        metrics=metrics_out,
        provenance={
            "trainer": f"geoseg {__version__} train",
            "config": cfg.model_dump(mode="json"),
            "train_scenes": [str(s.scene.source) for s in train_scenes],
            "val_scenes": [str(s.scene.source) for s in val_scenes],
            "train_class_pixels": counts.tolist(),
            "class_weights": weights.tolist() if weights is not None else None,
            "best_epoch": best_epoch,
            "selected": selected,
            "stopped": stopped,
            "history": history,
            "train_minutes": round((elapsed_before + time.time() - start) / 60, 1),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": str(device),
        },
    )
    bundle = save_bundle(cfg.output, network, spec)
    say(f"wrote bundle {bundle.path}")
    return bundle
