"""Loss terms against torch/smp references and class weights against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from geoseg.errors import InputError
from geoseg.train.config import Distill, LossTerm
from geoseg.train.labels import SOFT_NODATA
from geoseg.train.losses import (
    CombinedLoss,
    class_weights,
    configured_weights,
    distillation_loss,
)


def test_class_weights_by_hand() -> None:
    # freq 0.5, 0.25, 0.25, absent: median 0.25 -> (0.25/0.5)^0.5, 1, 1, 0
    w = class_weights(np.array([200, 100, 100, 0]))
    np.testing.assert_allclose(w, [np.sqrt(0.5), 1, 1, 0], rtol=1e-6)
    w = class_weights(np.array([1_000_000, 1, 1]), clip=10)  # clipped to [0.1, 10]
    np.testing.assert_allclose(w, [0.1, 1, 1], rtol=1e-6)


def test_configured_weights() -> None:
    counts = np.array([200, 100, 100, 0])
    np.testing.assert_array_equal(configured_weights("auto", counts), class_weights(counts))
    assert configured_weights("none", counts) is None
    np.testing.assert_array_equal(configured_weights([1, 2, 3, 4], counts), [1, 2, 3, 4])
    with pytest.raises(InputError, match="class_weights has 2 values for 4 classes"):
        configured_weights([1.0, 2.0], counts)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 8, 8, generator=g)
    target = torch.randint(0, 3, (2, 8, 8), generator=g)
    target[0, :2] = 255  # ignored pixels
    return logits, target


def test_ce_and_weighted_ce_match_torch_and_ignore_255() -> None:
    logits, target = _batch()
    w = np.array([0.5, 1.0, 2.0], dtype=np.float32)
    ce = CombinedLoss([LossTerm(name="ce")], 3)(logits, target)
    wce = CombinedLoss([LossTerm(name="wce")], 3, w)(logits, target)
    torch.testing.assert_close(ce, F.cross_entropy(logits, target, ignore_index=255))
    ref = F.cross_entropy(logits, target, weight=torch.tensor(w), ignore_index=255)
    torch.testing.assert_close(wce, ref)
    # changing logits at ignored pixels changes nothing
    logits2 = logits.clone()
    logits2[0, :, :2] = 100.0
    torch.testing.assert_close(CombinedLoss([LossTerm(name="ce")], 3)(logits2, target), ce)


def test_weighted_sum_of_terms() -> None:
    logits, target = _batch()
    parts = {
        name: CombinedLoss([LossTerm(name=name)], 3, np.ones(3, np.float32))(logits, target)
        for name in ("wce", "dice", "focal")
    }
    terms = [
        LossTerm(name="wce"),
        LossTerm(name="dice", weight=0.5),
        LossTerm(name="focal", weight=2),
    ]
    total = CombinedLoss(terms, 3, np.ones(3, np.float32))(logits, target)
    torch.testing.assert_close(total, parts["wce"] + 0.5 * parts["dice"] + 2 * parts["focal"])


def test_dice_and_focal_vanish_on_a_perfect_prediction() -> None:
    _, target = _batch()
    # smp's multiclass focal loss is one-vs-rest sigmoid: wrong classes need negative logits
    onehot = F.one_hot(target.clamp_max(2), 3).permute(0, 3, 1, 2).float() * 100 - 50
    for name in ("dice", "focal"):
        value = CombinedLoss([LossTerm(name=name)], 3)(onehot, target)
        assert float(value) == pytest.approx(0.0, abs=1e-3)


def test_weighted_ce_needs_weights() -> None:
    with pytest.raises(ValueError):
        CombinedLoss([LossTerm(name="wce")], 3)


def test_label_smoothing_reaches_the_ce_terms_only() -> None:
    terms = [LossTerm(name="wce"), LossTerm(name="ce"), LossTerm(name="dice")]
    loss = CombinedLoss(terms, 9, np.ones(9, np.float32), label_smoothing=0.1)
    assert [getattr(t, "label_smoothing", None) for t in loss.terms] == [0.1, 0.1, None]
    assert CombinedLoss(terms[:1], 9, np.ones(9, np.float32)).terms[0].label_smoothing == 0.0


def _soft(logits: torch.Tensor) -> torch.Tensor:
    """A teacher's probabilities as stored: round(p × 255), uint8."""
    return torch.round(torch.softmax(logits, dim=1) * 255).to(torch.uint8)


def test_distillation_is_kl_to_the_teacher_and_skips_uncovered_pixels() -> None:
    logits, _ = _batch()
    g = torch.Generator().manual_seed(1)
    soft = _soft(torch.randn(2, 3, 8, 8, generator=g) * 2)
    soft[1, :, :3] = SOFT_NODATA  # the teacher says nothing there
    covered = torch.ones(2, 8, 8, dtype=torch.bool)
    covered[1, :3] = False
    p = soft.float().clamp_min(0.5) / 255
    p = p / p.sum(1, keepdim=True)
    expected = F.kl_div(F.log_softmax(logits, 1), p, reduction="none").sum(1)[covered].mean()
    torch.testing.assert_close(distillation_loss(logits, soft, 1.0), expected)
    # T² KL between the softened distributions; the teacher softened as its logits would be
    t = 2.0
    pt = p ** (1 / t) / (p ** (1 / t)).sum(1, keepdim=True)
    kl_t = F.kl_div(F.log_softmax(logits / t, 1), pt, reduction="none").sum(1)[covered].mean()
    torch.testing.assert_close(distillation_loss(logits, soft, t), t * t * kl_t)


def test_distillation_vanishes_when_the_student_is_the_teacher() -> None:
    logits = torch.randn(1, 4, 6, 6, generator=torch.Generator().manual_seed(2))
    soft = _soft(logits)
    student = torch.log(soft.float().clamp_min(0.5) / 255)
    assert distillation_loss(student, soft, 1.0).item() < 1e-5
    assert distillation_loss(logits.flip(1), soft, 1.0).item() > 0.1
    none = torch.full_like(soft, SOFT_NODATA)
    assert distillation_loss(logits, none, 1.0).item() == 0.0


def test_combined_loss_adds_distillation_only_with_soft_labels() -> None:
    logits, target = _batch()
    soft = _soft(torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3)))
    hard = CombinedLoss([LossTerm(name="ce")], 3)
    kd = CombinedLoss([LossTerm(name="ce")], 3, distill=Distill(weight=0.5, temperature=2.0))
    torch.testing.assert_close(kd(logits, target), hard(logits, target))
    torch.testing.assert_close(
        kd(logits, target, soft), hard(logits, target) + 0.5 * distillation_loss(logits, soft, 2)
    )
