"""A tiny real training run: 2 iterations on a real crop, a bundle out, resume from checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import typer
import yaml
from safetensors.torch import load_file
from typer.testing import CliRunner

from geoseg.cli.train import register
from geoseg.errors import InputError
from geoseg.models.bundle import WEIGHTS_FILE, load_bundle
from geoseg.train import load_config, train
from tests.conftest import NORCIA

TINY = {
    "train": [str(NORCIA)],
    "val": [str(NORCIA)],
    "model_params": {"decoder_channels": [32, 16, 16, 8, 8], "aspp_channels": 32},
    "chip_size": 64,
    "batch_size": 2,
    "chips_per_epoch": 4,  # 2 iterations per epoch
    "epochs": 1,
    "threads": 1,
}


def test_two_iterations_write_a_usable_bundle(tmp_path: Path) -> None:
    cfg = load_config(None, **TINY, output=tmp_path / "model", precise_bn_batches=2)
    lines: list[str] = []
    bundle = train(cfg, report=lines.append)
    loaded = load_bundle(tmp_path / "model")
    assert loaded.sha256 == bundle.sha256
    spec = loaded.spec
    assert [c.name for c in spec.classes][:2] == ["water", "trees"]
    assert spec.channels[-2:] == ["NDVI", "NDWI"] and len(spec.normalization.mean) == 12
    assert spec.provenance["config"]["chips_per_epoch"] == 4
    assert len(spec.provenance["history"]) == 1
    assert "precise BN" in spec.provenance["selected"]
    val = spec.metrics["validation"]
    assert 0 <= val["overall_accuracy"] <= 1 and "per_class" in val
    weights = load_file(str(tmp_path / "model" / WEIGHTS_FILE))
    assert weights["head.0.weight"].dtype == torch.float16  # stored half precision
    assert any("epoch 0" in s for s in lines)
    with torch.inference_mode():
        out = loaded.network(torch.zeros(1, 12, 64, 64))
    assert out.shape == (1, 9, 64, 64)


def test_weight_ema_is_what_gets_validated_and_shipped(tmp_path: Path) -> None:
    """With a decay near 1 the average never leaves the weights after the first step."""
    run = {**TINY, "schedule": "constant", "precise_bn_batches": 0}
    one_step = train(load_config(None, **{**run, "chips_per_epoch": 2}, output=tmp_path / "one"))
    two_steps = train(load_config(None, **run, output=tmp_path / "two"))
    ema = train(load_config(None, **run, output=tmp_path / "ema", ema_decay=0.999999))
    w1, w2, we = (load_file(str(b.path / WEIGHTS_FILE)) for b in (one_step, two_steps, ema))
    assert not all(torch.equal(w1[k], w2[k]) for k in w1)
    for k in w1:
        assert torch.allclose(we[k].float(), w1[k].float(), atol=1e-3), k
    assert "weight EMA (decay 0.999999)" in ema.spec.provenance["selected"]


def test_resume_continues_only_the_same_run(tmp_path: Path) -> None:
    cfg = {**TINY, "output": "model", "epochs": 2, "ema_decay": 0.9}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    first = train(tmp_path / "cfg.yaml")
    assert (tmp_path / "model.ckpt").is_file()
    app = typer.Typer()
    register(app)

    @app.command()
    def _other() -> None:  # a second command keeps Typer's sub-command layout
        pass

    res = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "cfg.yaml"), "--resume"])
    assert res.exit_code == 0, res.output
    again = load_bundle(tmp_path / "model")
    assert len(again.spec.provenance["history"]) == 2  # nothing left to train: same history
    assert again.spec.provenance["best_epoch"] == first.spec.provenance["best_epoch"]
    assert "precise BN" not in again.spec.provenance["selected"]
    with pytest.raises(InputError, match="other settings"):
        train(tmp_path / "cfg.yaml", resume=True, lr=0.1)


def test_precise_bn_averages_batch_statistics() -> None:
    from geoseg.train.loop import precise_bn

    class Chips:
        length = 3

        def __len__(self) -> int:
            return self.length

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            return torch.full((1, 2, 2), float(i)), torch.zeros(2, 2, dtype=torch.long)

    net = torch.nn.Sequential(torch.nn.BatchNorm2d(1))
    precise_bn(net, Chips(), batches=3, batch_size=1, device=torch.device("cpu"))  # type: ignore[arg-type]
    bn = net[0]
    assert isinstance(bn, torch.nn.BatchNorm2d) and bn.running_mean is not None
    assert float(bn.running_mean) == pytest.approx(1.0)  # mean of 0, 1, 2: an average, not EMA
    assert bn.momentum == 0.1 and not net.training


def test_a_checkpoint_from_before_a_new_setting_still_resumes(tmp_path: Path) -> None:
    """Settings added later (absent from an older checkpoint) count as their defaults."""
    from geoseg.train.loop import _check_resumable

    cfg = load_config(None, **TINY, output=tmp_path / "model")
    saved = cfg.model_dump(mode="json")
    for newer in ("chip_sizes", "ema_decay", "init", "balanced_chips"):
        del saved[newer]
    _check_resumable(saved, cfg, tmp_path / "model.ckpt")
    with pytest.raises(InputError, match=r"other settings \(chip_sizes\)"):
        _check_resumable(saved, cfg.model_copy(update={"chip_sizes": [64]}), tmp_path / "x")
