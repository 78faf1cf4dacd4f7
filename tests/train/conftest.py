"""A tiny training recipe on one real labelled crop: ~2 iterations per epoch, seconds per run."""

from __future__ import annotations

from typing import Any

from tests.conftest import NORCIA_LABELLED

TINY: dict[str, Any] = {
    "train": [str(NORCIA_LABELLED)],
    "val": [str(NORCIA_LABELLED)],
    "model_params": {"decoder_channels": [32, 16, 16, 8, 8], "aspp_channels": 32},
    "chip_size": 64,
    "batch_size": 2,
    "chips_per_epoch": 4,  # 2 iterations per epoch
    "epochs": 1,
    "threads": 1,
}
