"""Train a segmentation network on scenes with label rasters (or polygons) and write a bundle.

The modules, in the order a run uses them: ``config`` (what to train), ``labels``, ``dataset``
and ``sources`` (scenes and chips; extra sources by weight, the hold-out), ``sampler`` (where
chips are cut), ``transforms`` (augmentations), ``losses``, ``setup`` (data statistics, network,
optimiser), ``warm_start``, ``loop`` (the epochs), ``validation`` (the splits and the selection
score), ``checkpoint``, ``selection`` (which weights ship) and ``export`` (the bundle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geoseg.models.bundle import Bundle
from geoseg.train.config import TrainConfig, load_config
from geoseg.train.loop import Report
from geoseg.train.loop import train as _train

__all__ = ["TrainConfig", "load_config", "train"]


def train(
    config: TrainConfig | str | Path | None = None, report: Report | None = None, **overrides: Any
) -> Bundle:
    """Train from a :class:`TrainConfig`, or a YAML/JSON config file plus overrides."""
    if not isinstance(config, TrainConfig):
        config = load_config(config, **overrides)
    elif overrides:
        config = config.model_copy(update=overrides)
    return _train(config, report)
