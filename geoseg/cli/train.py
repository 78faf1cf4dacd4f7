"""``geoseg train`` and ``geoseg evaluate``: thin commands over :mod:`geoseg.train` and
:mod:`geoseg.analysis.evaluate`, registered on the main Typer app by :func:`register`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from geoseg.errors import InputError

out = Console()

TRAIN_EXAMPLES = """
Examples:

  geoseg train --config configs/default_model.yaml --threads 1

  geoseg train --train data/train --val data/val -o my_bundle/ --epochs 20 --loss wce,dice

  geoseg train --config my.yaml --resume
"""

EVALUATE_EXAMPLES = """
Examples:

  geoseg evaluate out/scene_classes.tif reference.tif --json metrics.json --png cm.png

  geoseg evaluate --scenes ../shared/data/s2-dw/val --model my_bundle/ --json val.json

  geoseg evaluate pred.tif reference_lulc.tif --mapping configs/slovenia_lulc_mapping.json
"""


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Expected failures as one line + exit 2, through the main CLI's handler when present."""
    try:
        from geoseg.cli.main import _user_errors
    except ImportError:  # pragma: no cover - the main CLI always has it
        yield
        return
    with _user_errors():
        yield


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


def _print_metrics(m: dict[str, Any], title: str) -> None:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    out.print(
        f"[bold]{title}[/bold]: {m['pixels']:,} px · OA {pct(m['overall_accuracy'])} % · "
        f"mIoU {num(m['miou'])} (classes ≥ {100 * m['miou_min_share']:g} % of reference) · "
        f"FW-IoU {pct(m['fw_iou'])} % · kappa {num(m['kappa'])}"
    )
    table = Table()
    for col in ("class", "ref %", "IoU", "F1", "precision", "recall"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for name, c in m["per_class"].items():
        table.add_row(
            name,
            pct(c["share"]),
            pct(c["iou"]),
            pct(c["f1"]),
            pct(c["precision"]),
            pct(c["recall"]),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``train`` and ``evaluate`` commands to ``app``."""

    @app.command(epilog=TRAIN_EXAMPLES)
    def train(
        config: Annotated[
            Path | None, typer.Option("--config", "-c", help="YAML/JSON training config.")
        ] = None,
        train_data: Annotated[
            list[Path] | None,
            typer.Option("--train", help="Crop folder(s) with labels, or folders of them."),
        ] = None,
        val_data: Annotated[
            list[Path] | None, typer.Option("--val", help="Validation crop folder(s).")
        ] = None,
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="Bundle folder.")
        ] = None,
        label_name: Annotated[
            str | None, typer.Option(help="Label file in each crop folder (raster or vector).")
        ] = None,
        label_column: Annotated[
            str | None, typer.Option(help="Class column of vector labels.")
        ] = None,
        encoder: Annotated[str | None, typer.Option(help="smp encoder name.")] = None,
        epochs: Annotated[int | None, typer.Option(help="Epochs.")] = None,
        chips_per_epoch: Annotated[int | None, typer.Option(help="Random chips per epoch.")] = None,
        batch_size: Annotated[int | None, typer.Option(help="Chips per step.")] = None,
        chip_size: Annotated[int | None, typer.Option(help="Chip size in pixels.")] = None,
        lr: Annotated[float | None, typer.Option(help="Peak learning rate (AdamW).")] = None,
        loss: Annotated[
            str | None,
            typer.Option(help="Loss terms: ce, wce, dice, focal with weights, e.g. wce,dice:0.5."),
        ] = None,
        patience: Annotated[
            int | None, typer.Option(help="Early stopping: epochs without val mIoU gain.")
        ] = None,
        seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
        device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
        threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
        max_minutes: Annotated[
            float | None, typer.Option(help="Wall-clock budget; the best epoch so far is kept.")
        ] = None,
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue from the run's checkpoint.")
        ] = False,
    ) -> None:
        """Train a model on scenes with label rasters (or polygons) and write a bundle."""
        from geoseg.train import load_config
        from geoseg.train import train as run_train

        with _errors():
            if config is None and not train_data:
                raise InputError("nothing to train on", "--train", "give --config or --train")
            cfg = load_config(
                config,
                train=train_data or None,
                val=val_data or None,
                output=output,
                label_name=label_name,
                label_column=label_column,
                encoder=encoder,
                epochs=epochs,
                chips_per_epoch=chips_per_epoch,
                batch_size=batch_size,
                chip_size=chip_size,
                lr=lr,
                loss=_losses(loss),
                patience=patience,
                seed=seed,
                device=device,
                threads=threads,
                max_minutes=max_minutes,
                resume=resume or None,
            )
            bundle = run_train(cfg, report=lambda s: out.print(s, highlight=False))
        val = bundle.spec.metrics.get("validation")
        if val:
            _print_metrics(val, "Validation (agreement with the training labels)")
        out.print(f"Bundle: {bundle.path}")

    @app.command(epilog=EVALUATE_EXAMPLES)
    def evaluate(
        prediction: Annotated[
            Path | None, typer.Argument(help="Class raster (e.g. <stem>_classes.tif).")
        ] = None,
        reference: Annotated[Path | None, typer.Argument(help="Reference class raster.")] = None,
        scenes: Annotated[
            list[Path] | None,
            typer.Option(
                "--scenes",
                help="Crop folder(s), or folders of them, holding a reference: classify each "
                "with --model and pool the confusion matrices.",
            ),
        ] = None,
        model: Annotated[
            Path | None, typer.Option("--model", help="Bundle for --scenes (default: shipped).")
        ] = None,
        reference_name: Annotated[
            str, typer.Option(help="Reference file inside each --scenes folder.")
        ] = "label.tif",
        prediction_name: Annotated[
            str | None,
            typer.Option(help="With --scenes: compare this file of each folder, run no model."),
        ] = None,
        mapping: Annotated[
            Path | None, typer.Option(help="JSON class mapping of prediction and reference.")
        ] = None,
        min_share: Annotated[
            float, typer.Option(help="Classes under this share of reference pixels leave mIoU.")
        ] = 0.005,
        json_path: Annotated[
            Path | None, typer.Option("--json", help="Write metrics JSON.")
        ] = None,
        png: Annotated[
            Path | None, typer.Option("--png", help="Write confusion-matrix PNG.")
        ] = None,
        device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
        area_estimate: Annotated[
            bool,
            typer.Option(
                "--area-estimate",
                help="REFERENCE is a labelled sample (geoseg sample): report error-adjusted "
                "areas with 95 % intervals beside the mapped areas (Olofsson et al. 2014).",
            ),
        ] = False,
    ) -> None:
        """Agreement of a class raster (or a model over scenes) with a reference."""
        if area_estimate:
            from geoseg.cli.analyst import report_area_estimate

            if prediction is None or reference is None or scenes:
                with _errors():
                    raise InputError(
                        "--area-estimate needs PREDICTION and a labelled sample as REFERENCE",
                        None,
                        "draw one with geoseg sample, label it, then pass both",
                    )
            report_area_estimate(prediction, reference, json_path=json_path)
            return
        from geoseg.analysis import evaluate as ev
        from geoseg.train.dataset import find_scenes

        with _errors():
            if scenes:
                if prediction is not None or reference is not None:
                    raise InputError(
                        "give either PREDICTION REFERENCE or --scenes", None, "not both"
                    )
                pairs = find_scenes(scenes, reference_name)
                result = ev.evaluate_scenes(
                    pairs,
                    model,
                    mapping,
                    min_share,
                    json_path,
                    png,
                    device=device,
                    prediction_name=prediction_name,
                )
                what = prediction_name or f"model {model or 'default'}"
                title = f"{len(pairs)} scene(s), {what}"
            else:
                if prediction is None or reference is None:
                    raise InputError(
                        "evaluate needs PREDICTION and REFERENCE rasters",
                        None,
                        "or --scenes FOLDER --model BUNDLE",
                    )
                result = ev.evaluate(
                    prediction,
                    reference,
                    mapping=mapping,
                    min_share=min_share,
                    json_path=json_path,
                    png_path=png,
                )
                title = f"{prediction.name} vs {reference.name}"
        _print_metrics(result.metrics, title)
        for p in (result.json_path, result.png_path):
            if p is not None:
                out.print(f"  {p}", highlight=False)


__all__ = ["register"]
