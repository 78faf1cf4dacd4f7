"""Training configs: paths relative to the file, defaults for settings added later, bad configs
refused with one clear line (through the command: tests/cli/test_train.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geoseg.errors import InputError
from geoseg.train import load_config
from geoseg.train.config import TrainConfig
from tests.conftest import REPO


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text(
        "train: data/train\nval: [data/val]\noutput: out/model\ninit: bundles/start\n"
    )
    cfg = load_config(tmp_path / "cfg.yaml")
    assert cfg.train == [tmp_path / "data/train"] and cfg.val == [tmp_path / "data/val"]
    assert cfg.output == tmp_path / "out/model" and cfg.init == tmp_path / "bundles/start"
    assert cfg.checkpoint_path == tmp_path / "out/model.ckpt"
    assert cfg.chip_sizes == [] and cfg.ema_decay == 0.0  # off unless asked for


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cfg.yaml", None, "config file not found"),
        ("cfg.yaml", "train: [a\n", "cannot parse config: .* at line 2, column 1"),
        ("cfg.json", '{"train": ', "cannot parse config: Expecting value"),
        ("cfg.yaml", "- a list\n", "config must be a mapping"),
        ("cfg.yaml", "train: x\nchip_sizes: [256, 16]\n", "chip_sizes: Value error, chip sizes"),
        ("cfg.yaml", "train: x\nema_decay: 1.0\n", "invalid training config: ema_decay"),
        ("cfg.yaml", "train: x\nloss: [{name: hinge}]\n", "invalid training config: loss.0.name"),
        (
            "cfg.yaml",
            "train: x\nextra: [{path: a, weight: 0.6}, {path: b, weight: 0.4}]\n",
            "invalid training config: Value error, extra source weights must add up to less than 1",
        ),
        ("cfg.yaml", "train: x\nselect_on: [val, holdout]\n", "no holdout file is configured"),
        ("cfg.yaml", "train: x\nselect_on: [test]\n", "select_on"),
        ("cfg.yaml", "train: x\nextra: [{path: a, weight: 0.2, scene_weights: {s: -1}}]\n", ">= 0"),
        ("cfg.yaml", "train: x\naugment: {illumination: {p: 1, range: [1.1, 0.6]}}\n", "low <="),
        ("cfg.yaml", "train: x\naugment: {haze: {p: 2}}\n", "augment.haze.p"),
    ],
)
def test_bad_configs_are_refused(tmp_path: Path, name: str, text: str | None, message: str) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        load_config(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_the_retired_ignore_index_is_accepted_and_ignored(tmp_path: Path) -> None:
    """Older configs and bundle provenance hold ``ignore_index``; it was never read."""
    (tmp_path / "cfg.yaml").write_text("train: x\nignore_index: 255\n")
    cfg = load_config(tmp_path / "cfg.yaml")
    assert "ignore_index" not in cfg.model_dump()
    shipped = json.loads((REPO / "geoseg/models/default/bundle.json").read_text())
    saved = {**shipped["provenance"]["config"], "ignore_index": 255}  # as bundles before 2026-11
    again = TrainConfig.model_validate(saved)
    assert again.chips_per_epoch == saved["chips_per_epoch"]
    assert "ignore_index" not in again.model_dump()


def test_extra_sources_and_holdout_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text(
        "train: data/train\nholdout: h.yaml\nselect_on: [val, holdout]\n"
        "extra: [{path: data/extra/eurosat, weight: 0.15, patches: true}]\n"
    )
    cfg = load_config(tmp_path / "cfg.yaml")
    assert cfg.extra[0].path == tmp_path / "data/extra/eurosat" and cfg.extra[0].patches
    assert cfg.holdout is not None and cfg.holdout.file == tmp_path / "h.yaml"
    assert cfg.holdout.root is None and cfg.select_on == {"val": 1.0, "holdout": 1.0}
    plain = load_config(None, train=["x"])
    assert plain.extra == [] and plain.holdout is None and plain.select_on == {"val": 1.0}
    assert plain.augment.illumination.p == plain.augment.haze.p == plain.augment.l2a.p == 0
    assert plain.label_smoothing == 0.0


def test_a_candidate_states_only_what_differs_from_its_base(tmp_path: Path) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes/base.yaml").write_text(
        "train: data/train\nepochs: 40\naugment: {gain: 0.1, haze: {p: 0.3}}\n"
        "model_params: {aspp_channels: 96, decoder_channels: [64, 32, 32, 16, 16]}\n"
    )
    (tmp_path / "cand.yaml").write_text(
        "base: recipes/base.yaml\noutput: out\naugment: {haze: {p: 0.5}}\n"
        "model_params: {decoder_channels: [64, 32, 32, 16], output_stride: 2}\n"
    )
    cfg = load_config(tmp_path / "cand.yaml", epochs=3)
    assert cfg.train == [tmp_path / "recipes/data/train"]  # relative to the file that says it
    assert cfg.output == tmp_path / "out" and cfg.epochs == 3
    assert cfg.augment.gain == 0.1 and cfg.augment.haze.p == 0.5  # mappings merge key by key
    assert cfg.model_params == {
        "aspp_channels": 96,
        "decoder_channels": [64, 32, 32, 16],  # lists are replaced
        "output_stride": 2,
    }
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\ntrain: x\n")
    with pytest.raises(InputError, match="config bases form a loop"):
        load_config(tmp_path / "loop.yaml")
    (tmp_path / "lost.yaml").write_text("base: nowhere.yaml\n")
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "lost.yaml")
