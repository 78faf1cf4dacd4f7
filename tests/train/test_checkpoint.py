"""Checkpoints: everything a step touches comes back, and only the same run may resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from geoseg.errors import InputError
from geoseg.models.bundle import load_bundle
from geoseg.train import load_config, train
from geoseg.train.checkpoint import check_resumable, load_checkpoint, save_checkpoint
from geoseg.train.selection import Progress
from geoseg.train.setup import build_parts
from tests.train.conftest import TINY


def test_a_checkpoint_restores_parts_progress_and_generator(tmp_path: Path) -> None:
    cfg = load_config(None, **TINY, output=tmp_path / "model", ema_decay=0.5)
    cpu = torch.device("cpu")
    weights = np.ones(9, np.float32)
    parts = build_parts(cfg, torch.nn.Conv2d(2, 9, 1), weights, 20, cpu)
    parts.network(torch.ones(1, 2, 1, 1)).sum().backward()
    parts.optimizer.step()
    parts.scheduler.step()
    assert parts.ema is not None
    parts.ema.update_parameters(parts.network)
    progress = Progress(best_score=0.4, best_epoch=0, stale=1)
    progress.history.append({"epoch": 1, "loss": 0.5})
    save_checkpoint(cfg.checkpoint_path, cfg, parts, progress, elapsed=12.5)
    assert cfg.checkpoint_path.is_file() and not list(tmp_path.glob("*.tmp"))
    expected = torch.rand(3)

    fresh = build_parts(cfg, torch.nn.Conv2d(2, 9, 1), weights, 20, cpu)
    back = load_checkpoint(cfg.checkpoint_path, cfg, fresh)
    torch.testing.assert_close(fresh.network.state_dict(), parts.network.state_dict())
    assert fresh.ema is not None
    torch.testing.assert_close(fresh.ema.state_dict(), parts.ema.state_dict())
    assert fresh.scheduler.last_epoch == 1
    assert fresh.optimizer.state_dict()["state"][0]["step"] == 1
    assert (back.first_epoch, back.best_score, back.best_epoch, back.stale) == (2, 0.4, 0, 1)
    assert back.history == progress.history and back.elapsed_before == 12.5
    torch.testing.assert_close(torch.rand(3), expected)  # torch's generator as it was saved


def test_settings_of_shipping_may_change_on_resume(tmp_path: Path) -> None:
    """Folding, calibration, limits and the output only act on the selected weights."""
    cfg = load_config(None, **TINY, output=tmp_path / "model")
    shipped = {
        "output": tmp_path / "other",
        "name": "renamed",
        "fold_image_pooling": True,
        "calibrate": True,
        "known_limits": ["a limit"],
        "processing_levels": ["L1C", "L2A"],
    }
    check_resumable(cfg.model_dump(mode="json"), cfg.model_copy(update=shipped), tmp_path / "c")
    with pytest.raises(InputError, match=r"other settings \(balanced_chips\)"):
        check_resumable(
            cfg.model_dump(mode="json"),
            cfg.model_copy(update={"balanced_chips": 0.5}),
            tmp_path / "c",
        )


def test_a_checkpoint_from_before_a_new_setting_still_resumes(tmp_path: Path) -> None:
    """Settings added later (absent from an older checkpoint) count as their defaults; settings
    retired since (``ignore_index``) are ignored."""
    cfg = load_config(None, **TINY, output=tmp_path / "model")
    saved = cfg.model_dump(mode="json")
    for newer in ("chip_sizes", "ema_decay", "init", "balanced_chips"):
        del saved[newer]
    saved["ignore_index"] = 255
    check_resumable(saved, cfg, tmp_path / "model.ckpt")
    with pytest.raises(InputError, match=r"other settings \(chip_sizes\)"):
        check_resumable(saved, cfg.model_copy(update={"chip_sizes": [64]}), tmp_path / "x")


@pytest.mark.slow
def test_resume_continues_only_the_same_run(tmp_path: Path) -> None:
    from geoseg.cli.app import app

    cfg = {**TINY, "output": "model", "epochs": 2, "ema_decay": 0.9}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    first = train(tmp_path / "cfg.yaml")
    assert (tmp_path / "model.ckpt").is_file()
    res = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "cfg.yaml"), "--resume"])
    assert res.exit_code == 0, res.output
    again = load_bundle(tmp_path / "model")
    assert len(again.spec.provenance["history"]) == 2  # nothing left to train: same history
    assert again.spec.provenance["best_epoch"] == first.spec.provenance["best_epoch"]
    assert "precise BN" not in again.spec.provenance["selected"]
    with pytest.raises(InputError, match="other settings"):
        train(tmp_path / "cfg.yaml", resume=True, lr=0.1)
