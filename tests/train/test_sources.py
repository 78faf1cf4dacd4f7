"""Extra training sources and the hold-out: drawn by their weights, patches never mosaicked nor
cut larger than a patch, hold-out items never trained on, class pixels as drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geoseg.classes import NODATA
from geoseg.errors import InputError
from geoseg.train import load_config
from geoseg.train.sampler import ChipPlan, ChipSampler, SourcePlan
from geoseg.train.sources import (
    holdout_items,
    patch_size,
    sampled_counts,
    scene_weight,
    training_pairs,
)
from tests.conftest import DATA, REPO

EXTRA = DATA / "extra"
needs_data = pytest.mark.skipif(not (EXTRA / "eurosat_ms").is_dir(), reason="no shared data")


def _scenes() -> list[np.ndarray]:
    """Two big scenes (main), one crop (extra 1), three 64-px patches (extra 2)."""
    big = [np.zeros((300, 300), np.uint8), np.ones((200, 400), np.uint8)]
    crop = [np.full((260, 259), 4, np.uint8)]
    patches = [np.full((64, 64), k, np.uint8) for k in (2, 5, 7)]
    patches[1][:10] = NODATA
    return big + crop + patches


SOURCES = (
    SourcePlan(scenes=(2,), weight=0.3),
    SourcePlan(scenes=(3, 4, 5), weight=0.15, patch=64, scene_weights=(1.0, 1.0, 0.5)),
)


def test_sources_are_drawn_by_their_weights_and_patches_stay_whole() -> None:
    labels = _scenes()
    plan = ChipPlan(size=256, sizes=(128, 256), batch_size=4, seed=5, sources=SOURCES)
    sampler = ChipSampler(labels, plan)
    n_batches = 3000
    drawn = np.array([sampler.source(e, b * 4) for e in range(3) for b in range(n_batches // 3)])
    share = np.bincount(drawn, minlength=3) / len(drawn)
    # binomial standard errors are below 0.01 here; 0.03 is over three of them
    np.testing.assert_allclose(share, [0.55, 0.3, 0.15], atol=0.03)
    for i in range(0, 400):
        src = sampler.source(0, i)
        assert src == sampler.source(0, i // 4 * 4)  # one source per batch
        size = sampler.size(0, i, src)
        k, win = sampler.window(sampler.rng(0, i), size, src)
        assert k in (SOURCES[src - 1].scenes if src else (0, 1))
        h, w = labels[k].shape
        assert win.row_off >= 0 and win.row_off + win.height <= h  # inside one scene: no mosaic
        assert win.col_off >= 0 and win.col_off + win.width <= w
        if src == 2:
            assert size == 64 and (win.height, win.width) == (64, 64)  # never larger than a patch


def test_scene_weights_share_a_source_and_the_main_source_is_unchanged() -> None:
    labels = _scenes()
    sampler = ChipSampler(labels, ChipPlan(size=64, sources=SOURCES))
    patch = sampler.sources[2]
    np.testing.assert_allclose(patch.p, np.array([4096, 3456, 2048]) / (4096 + 3456 + 2048))
    np.testing.assert_allclose(sampler.p, [90_000 / 170_000, 80_000 / 170_000])
    plain = ChipSampler(labels[:2], ChipPlan(size=64))
    assert plain.source(0, 0) == 0 and len(plain.sources) == 1
    np.testing.assert_array_equal(plain.p, sampler.p)


def test_class_pixels_as_drawn_follow_the_source_weights() -> None:
    class Scene:
        def __init__(self, label: np.ndarray) -> None:
            self.label = label

    scenes = [Scene(a) for a in _scenes()]
    counts = sampled_counts(scenes, SOURCES, 9)  # type: ignore[arg-type]
    total = sum(int((a != NODATA).sum()) for a in _scenes())
    assert abs(counts.sum() - total) <= 9
    assert counts[4] == pytest.approx(0.3 * total, abs=1)  # the crop is all class 4
    # patch of class 7 at scene weight 0.5 within its source
    assert counts[7] == pytest.approx(0.15 * total * 2048 / (4096 + 3456 + 2048), abs=1)
    plain = sampled_counts(scenes[:2], (), 9)  # type: ignore[arg-type]
    assert plain.tolist() == [90_000, 80_000] + [0] * 7


@needs_data
def test_holdout_items_are_never_training_scenes(tmp_path: Path) -> None:
    text = (
        f"train: {DATA / 'train'}\n"
        "holdout: {file: " + str(REPO / "configs/rural_holdout.yaml") + "}\n"
        "extra:\n"
        f"  - {{path: {EXTRA / 'crops'}, weight: 0.3, exclude: [dsen2_skane_20170527]}}\n"
        f"  - {{path: {EXTRA / 'eurosat_ms'}, weight: 0.15, patches: true}}\n"
    )
    (tmp_path / "c.yaml").write_text(text)
    cfg = load_config(tmp_path / "c.yaml")
    held = holdout_items(cfg)
    assert len(held) == 16 and held[0].name == "ssl4eo_sig_southbahia_20180302"
    main, extras, removed = training_pairs(cfg, held)
    trained = {img.name for img, _ in main} | {img.name for _, p in extras for img, _ in p}
    assert removed == 16 and not trained & {p.name for p in held}
    assert "sen1floods11_spain_20190918" not in trained  # held out from inside train/
    assert "dsen2_skane_20170527" not in trained  # excluded as unreliable
    assert [img.name for img, _ in extras[0][1]] == ["ssl4eo_sig_espiritosanto_20180710"]
    assert len(extras[1][1]) == 73 - 14


@needs_data
def test_unknown_scene_names_and_tiny_patches_are_refused(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        f"train: {DATA / 'train'}\nextra: [{{path: {EXTRA / 'crops'}, weight: 0.2, "
        "scene_weights: {skane: 0.1}}]\n"
    )
    with pytest.raises(InputError, match="no scene 'skane' in this source"):
        training_pairs(load_config(tmp_path / "c.yaml"), [])

    class Tiny:
        shape = (40, 70)

    with pytest.raises(InputError, match="patches smaller than 32"):
        patch_size([Tiny(), type("T", (), {"shape": (31, 64)})()], tmp_path)  # type: ignore[list-item]
    assert patch_size([Tiny()], tmp_path) == 32  # type: ignore[list-item]


def test_stratified_epochs_hold_each_source_share_exactly() -> None:
    labels = _scenes()
    plan = ChipPlan(size=64, length=200, batch_size=8, seed=1, sources=SOURCES, stratified=True)
    sampler = ChipSampler(labels, plan)
    for epoch in range(3):
        per_batch = [sampler.source(epoch, b * 8) for b in range(25)]
        # 25 batches at 0.55 / 0.3 / 0.15: 13.75, 7.5, 3.75 -> largest remainders 14, 7, 4
        assert np.bincount(per_batch, minlength=3).tolist() == [14, 7, 4]
        assert all(sampler.source(epoch, b * 8 + 7) == s for b, s in enumerate(per_batch))
    orders = {tuple(sampler.epoch_sources(e)) for e in range(3)}
    assert len(orders) == 3  # shuffled anew each epoch
    assert tuple(ChipSampler(labels, plan).epoch_sources(2)) in orders  # seeded


def test_scene_weight_patterns() -> None:
    weights = {"rome_*_p0": 0.0625, "rome_*": 0.5, "rome_2018_p0": 2.0}
    assert scene_weight("rome_2018_p0", weights) == 2.0  # the exact name wins
    assert scene_weight("rome_2019_p0", weights) == 0.0625  # then the first pattern that matches
    assert scene_weight("rome_2019_p7", weights) == 0.5
    assert scene_weight("congo_p1", weights) == 1.0


@needs_data
def test_the_round3_recipe_mixes_sources_by_place_and_landscape() -> None:
    """The shipped recipe's data mix (issue 31): rural, forest, winter and snow sources are more
    than half of every epoch; open sea counts a tenth a patch; the 16 dates of one Rome footprint
    together count as one patch; no hold-out item is trained on."""
    cfg = load_config(REPO / "configs/recipe_r3.yaml")
    assert cfg.stratify_sources and cfg.distill is not None
    assert sum(e.weight for e in cfg.extra) >= 0.5
    held = holdout_items(cfg)
    main, extras, _ = training_pairs(cfg, held)
    sen12 = dict(extras[0][1])
    assert len(sen12) == 70
    w = {img.name: scene_weight(img.name, cfg.extra[0].scene_weights) for img in sen12}
    series = [n for n in w if n.startswith("sen12mscrts_rome_") and n.endswith("_p0")]
    assert len(series) == 16 and sum(w[n] for n in series) == pytest.approx(1.0)
    sea = [n for n in w if n.split("_p")[0] in SEA_SCENES]
    assert len(sea) == 29 and {w[n] for n in sea} == {0.1}
    snow = [n for n in w if n.startswith("ROIs1158_spring_26_")]
    assert len(snow) == 3 and {w[n] for n in snow} == {1.0}
    trained = {img.name for img, _ in main} | {i.name for _, p in extras for i, _ in p}
    assert not trained & {p.name for p in held}


#: The SEN12MS-CR scenes of extra2 that are 100 % open water (extra2/README.md)
SEA_SCENES = {
    "ROIs1158_spring_101",
    "ROIs1868_summer_135",
    "ROIs1970_fall_148",
    "ROIs2017_winter_84",
}
