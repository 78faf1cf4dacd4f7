"""The trained network as a bundle: weights, input spec, classes, validation figures, provenance.

The provenance holds the whole config, so ``geoseg train --config`` can rebuild the bundle, plus
what the run saw and chose (scenes, class pixels and weights, history, selected weights).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from geoseg._version import __version__
from geoseg.models.bundle import Bundle, BundleSpec, ModelSpec, Normalization, save_bundle
from geoseg.train.calibration import CALIBRATION_NOTE, calibrate
from geoseg.train.config import TrainConfig
from geoseg.train.fold import local_config
from geoseg.train.selection import Progress
from geoseg.train.setup import TrainData
from geoseg.train.validation import SPLIT_NAMES, Scoring, Validation

#: Said wherever validation figures are stored: the labels are Dynamic World's, not ground truth.
VALIDATION_NOTE = (
    "agreement with Dynamic World labels (teacher model, not ground truth); "
    "whole-scene forward pass in training, not the tiled classify path"
)


def export(
    cfg: TrainConfig,
    network: nn.Module,
    data: TrainData,
    val: Validation | Scoring,
    progress: Progress,
    say: Callable[[str], None],
) -> Bundle:
    """Measure the selected weights as shipped and write the bundle to ``cfg.output``."""
    scoring = val if isinstance(val, Scoring) else Scoring(val)
    if cfg.fp16_weights:
        # Stored half precision (load_state_dict casts back into the fp32 network); measure the
        # validation figures with the weights exactly as users will get them.
        network.half().float()
    metrics_out: dict[str, Any] = {}
    for key, split in scoring.splits.items():
        m = split.metrics(network)
        metrics_out["validation" if key == "val" else key] = {
            "note": VALIDATION_NOTE,
            **{k: v for k, v in m.items() if k != "class_names"},
        }
        figures = f"OA {m['overall_accuracy']}, mIoU {m['miou']}"
        agreement = "" if key == "val" else " (agreement with Dynamic World labels)"
        say(f"best weights: {SPLIT_NAMES[key]} {figures}{agreement}")
    temperature = 1.0
    if cfg.calibrate and scoring.val.scenes:
        cal = calibrate(network, scoring.val.scenes, scoring.val.inputs, scoring.val.device)
        temperature = cal.temperature
        metrics_out["calibration"] = {"note": CALIBRATION_NOTE, **cal.as_metrics()}
        say(f"calibration: {cal.describe()}")
    network.cpu()
    if cfg.fp16_weights:
        network.half()
    inputs = data.inputs
    spec = BundleSpec(
        name=cfg.name,
        model=ModelSpec(
            architecture=cfg.architecture, encoder=cfg.encoder, params=_shipped_params(cfg)
        ),
        bands=cfg.bands,
        indices=cfg.indices,
        normalization=Normalization(mean=inputs.mean.tolist(), std=inputs.std.tolist()),
        classes=cfg.classes,
        tile_size=cfg.tile_size,
        overlap=cfg.overlap,
        temperature=temperature,
        processing_levels=cfg.processing_levels,
        known_limits=cfg.known_limits,
        metrics=metrics_out,
        provenance=_provenance(cfg, data, progress, scoring),
    )
    bundle = save_bundle(cfg.output, network, spec)
    say(f"wrote bundle {bundle.path}")
    return bundle


def _shipped_params(cfg: TrainConfig) -> dict[str, Any]:
    """The network as shipped; the provenance keeps the config as trained."""
    return local_config(cfg).model_params if cfg.fold_image_pooling else cfg.model_params


def _provenance(
    cfg: TrainConfig, data: TrainData, progress: Progress, scoring: Scoring
) -> dict[str, Any]:
    more: dict[str, Any] = {}
    if data.holdout or data.sources:
        more = {
            "holdout_scenes": [str(s.scene.source) for s in data.holdout],
            "extra_sources": [
                {
                    "scenes": [str(data.train[k].scene.source) for k in p.scenes],
                    "weight": p.weight,
                    "patch": p.patch,
                }
                for p in data.sources
            ],
            "selection_score": scoring.rule(),
            "history_note": "val_* and holdout_* figures: " + VALIDATION_NOTE,
        }
    return {
        "trainer": f"geoseg {__version__} train",
        "config": cfg.model_dump(mode="json"),
        "train_scenes": [str(s.scene.source) for s in data.train],
        "val_scenes": [str(s.scene.source) for s in data.val],
        "train_class_pixels": data.counts.tolist(),
        "class_weights": data.weights.tolist() if data.weights is not None else None,
        "best_epoch": progress.best_epoch,
        "selected": progress.selected,
        "stopped": progress.stopped,
        "history": progress.history,
        "train_minutes": round(progress.elapsed / 60, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(scoring.device),
        **more,
    }
