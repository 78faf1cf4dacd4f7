"""The bundle a run writes: loadable, half-precision weights, provenance without retired keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from geoseg.models.bundle import WEIGHTS_FILE, load_bundle
from geoseg.train import load_config
from geoseg.train.dataset import ModelInput
from geoseg.train.export import export
from geoseg.train.selection import Progress
from geoseg.train.setup import TrainData, build_network
from geoseg.train.validation import Validation
from tests.train.conftest import TINY


def test_export_writes_the_selected_weights_and_their_provenance(tmp_path: Path) -> None:
    cfg = load_config(None, **TINY, output=tmp_path / "model")
    cpu = torch.device("cpu")
    network = build_network(cfg, cpu)
    inputs = ModelInput(
        cfg.bands, cfg.indices, np.full(12, 0.1, np.float32), np.ones(12, np.float32)
    )
    data = TrainData([], [], np.arange(9), inputs, None)
    progress = Progress(best_epoch=3, stopped="epochs done", selected="epoch 3 (best)")
    lines: list[str] = []
    bundle = export(
        cfg, network, data, Validation([], inputs, [], 0.0, cpu), progress, lines.append
    )
    loaded = load_bundle(tmp_path / "model")
    assert loaded.sha256 == bundle.sha256 and lines == [f"wrote bundle {bundle.path}"]
    prov = loaded.spec.provenance
    assert prov["config"] == cfg.model_dump(mode="json") and "ignore_index" not in prov["config"]
    assert prov["train_class_pixels"] == list(range(9)) and prov["class_weights"] is None
    assert (prov["best_epoch"], prov["selected"], prov["device"]) == (3, "epoch 3 (best)", "cpu")
    assert loaded.spec.metrics == {}  # no validation scenes
    assert loaded.spec.normalization.mean == [np.float32(0.1).item()] * 12
    weights = load_file(str(tmp_path / "model" / WEIGHTS_FILE))
    assert all(w.dtype == torch.float16 for w in weights.values() if w.is_floating_point())
