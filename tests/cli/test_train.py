"""``geoseg train``: what it refuses before any training starts.

A real (tiny) training run through the command is in ``tests/train/test_loop.py``.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import assert_clean_failure, invoke


def test_nothing_to_train_on() -> None:
    assert_clean_failure(invoke("train"), r"nothing to train on \(--train\)")


def test_bad_loss_term(tmp_path: Path) -> None:
    res = invoke("train", "--train", str(tmp_path), "--loss", "wce,dice:heavy")
    assert_clean_failure(res, "cannot parse loss term 'dice:heavy'")


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text("train: x\nchip_sizes: [8]\n")
    res = invoke("train", "--config", str(tmp_path / "cfg.yaml"))
    assert_clean_failure(res, "chip sizes must be at least 32")
    assert not (tmp_path / "model").exists()
