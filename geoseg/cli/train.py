"""``geoseg train``: a model bundle from scenes with labels (:mod:`geoseg.train`).

Every option left unset keeps the config file's value (or the config's default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geoseg.cli.common import out, pick, print_metrics, user_errors
from geoseg.cli.options import DeviceOverride
from geoseg.errors import InputError

EXAMPLES = """
Examples:

  geoseg train --config configs/default_model.yaml --threads 1

  geoseg train --train data/train --val data/val -o my_bundle/ --epochs 20 --loss wce,dice

  geoseg train --config my.yaml --resume
"""

Config = Annotated[Path | None, typer.Option("--config", "-c", help="YAML/JSON training config.")]
TrainData = Annotated[
    list[Path] | None,
    typer.Option("--train", help="Crop folder(s) with labels, or folders of them."),
]
ValData = Annotated[list[Path] | None, typer.Option("--val", help="Validation crop folder(s).")]
Output = Annotated[Path | None, typer.Option("-o", "--output", help="Bundle folder.")]
LabelName = Annotated[
    str | None, typer.Option(help="Label file in each crop folder (raster or vector).")
]
LabelColumn = Annotated[str | None, typer.Option(help="Class column of vector labels.")]
Encoder = Annotated[str | None, typer.Option(help="smp encoder name.")]
Epochs = Annotated[int | None, typer.Option(help="Epochs.")]
ChipsPerEpoch = Annotated[int | None, typer.Option(help="Random chips per epoch.")]
BatchSize = Annotated[int | None, typer.Option(help="Chips per step.")]
ChipSize = Annotated[int | None, typer.Option(help="Chip size in pixels.")]
Lr = Annotated[float | None, typer.Option(help="Peak learning rate (AdamW).")]
Loss = Annotated[
    str | None,
    typer.Option(help="Loss terms: ce, wce, dice, focal with weights, e.g. wce,dice:0.5."),
]
Patience = Annotated[int | None, typer.Option(help="Early stopping: epochs without val mIoU gain.")]
Seed = Annotated[int | None, typer.Option(help="Random seed.")]
Threads = Annotated[int | None, typer.Option(help="CPU threads for torch.")]
MaxMinutes = Annotated[
    float | None,
    typer.Option(
        help="Wall-clock budget of the whole run in minutes (a resumed run counts its earlier"
        " minutes); the best epoch so far is kept."
    ),
]
ResumeRun = Annotated[bool, typer.Option("--resume", help="Continue from the run's checkpoint.")]


def train(
    config: Config = None,
    train_data: TrainData = None,
    val_data: ValData = None,
    output: Output = None,
    label_name: LabelName = None,
    label_column: LabelColumn = None,
    encoder: Encoder = None,
    epochs: Epochs = None,
    chips_per_epoch: ChipsPerEpoch = None,
    batch_size: BatchSize = None,
    chip_size: ChipSize = None,
    lr: Lr = None,
    loss: Loss = None,
    patience: Patience = None,
    seed: Seed = None,
    device: DeviceOverride = None,
    threads: Threads = None,
    max_minutes: MaxMinutes = None,
    resume: ResumeRun = False,
) -> None:
    """Train a model on scenes with label rasters (or polygons) and write a bundle."""
    values = dict(locals())
    from geoseg.train import load_config
    from geoseg.train import train as run
    from geoseg.train.config import TrainConfig

    with user_errors():
        if config is None and not train_data:
            raise InputError("nothing to train on", "--train", "give --config or --train")
        overrides = {
            **pick(values, TrainConfig),
            "train": train_data or None,
            "val": val_data or None,
            "loss": _losses(loss),
            "resume": resume or None,
        }
        cfg = load_config(config, **overrides)
        bundle = run(cfg, report=lambda s: out.print(s, highlight=False))
    val = bundle.spec.metrics.get("validation")
    if val:
        print_metrics(val, "Validation (agreement with the training labels)")
    out.print(f"Bundle: {bundle.path}")


def _losses(text: str | None) -> list[dict[str, Any]] | None:
    """``wce,dice:0.5`` → loss terms."""
    if not text:
        return None
    terms = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = item.partition(":")
        try:
            terms.append({"name": name.lower(), "weight": float(weight) if weight else 1.0})
        except ValueError:
            raise InputError(
                f"cannot parse loss term {item!r}", "--loss", "write e.g. wce,dice:0.5"
            ) from None
    return terms
