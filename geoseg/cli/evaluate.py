"""``geoseg evaluate``: agreement of a class raster, or of a model over scenes, with a reference
(:mod:`geoseg.analysis.evaluate`); with ``--area-estimate``, the sample-based area estimate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from geoseg.cli.area_estimate import report_area_estimate
from geoseg.cli.common import out, print_metrics, user_errors
from geoseg.cli.options import Device, Tta
from geoseg.errors import InputError

if TYPE_CHECKING:
    from geoseg.analysis.evaluate import EvaluateResult

EXAMPLES = """
Examples:

  geoseg evaluate out/scene_classes.tif reference.tif --json metrics.json --png cm.png

  geoseg evaluate --scenes ../shared/data/s2-dw/val --model my_bundle/ --json val.json

  geoseg evaluate pred.tif reference_lulc.tif --mapping configs/slovenia_lulc_mapping.json
"""

Prediction = Annotated[Path | None, typer.Argument(help="Class raster (e.g. <stem>_classes.tif).")]
Reference = Annotated[Path | None, typer.Argument(help="Reference class raster.")]
Scenes = Annotated[
    list[Path] | None,
    typer.Option(
        "--scenes",
        help="Crop folder(s), or folders of them, holding a reference: classify each "
        "with --model and pool the confusion matrices.",
    ),
]
ScenesModel = Annotated[
    Path | None, typer.Option("--model", help="Bundle for --scenes (default: shipped).")
]
ReferenceName = Annotated[str, typer.Option(help="Reference file inside each --scenes folder.")]
PredictionName = Annotated[
    str | None,
    typer.Option(help="With --scenes: compare this file of each folder, run no model."),
]
Mapping = Annotated[
    Path | None, typer.Option(help="JSON class mapping of prediction and reference.")
]
MinShare = Annotated[
    float, typer.Option(help="Classes under this share of reference pixels leave mIoU.")
]
JsonPath = Annotated[Path | None, typer.Option("--json", help="Write metrics JSON.")]
Png = Annotated[Path | None, typer.Option("--png", help="Write confusion-matrix PNG.")]
EvalPrecision = Annotated[
    str,
    typer.Option(
        "--precision", help="fp32 (the model's own figures), bf16, int8 or auto (as classify)."
    ),
]
AreaEstimate = Annotated[
    bool,
    typer.Option(
        "--area-estimate",
        help="REFERENCE is a labelled sample (geoseg sample): report error-adjusted "
        "areas with 95 % intervals beside the mapped areas (Olofsson et al. 2014).",
    ),
]


def evaluate(
    prediction: Prediction = None,
    reference: Reference = None,
    scenes: Scenes = None,
    model: ScenesModel = None,
    reference_name: ReferenceName = "label.tif",
    prediction_name: PredictionName = None,
    mapping: Mapping = None,
    min_share: MinShare = 0.005,
    json_path: JsonPath = None,
    png: Png = None,
    device: Device = "auto",
    tta: Tta = False,
    precision: EvalPrecision = "fp32",
    area_estimate: AreaEstimate = False,
) -> None:
    """Agreement of a class raster (or a model over scenes) with a reference."""
    if area_estimate:
        if prediction is None or reference is None or scenes:
            with user_errors():
                raise InputError(
                    "--area-estimate needs PREDICTION and a labelled sample as REFERENCE",
                    None,
                    "draw one with geoseg sample, label it, then pass both",
                )
        report_area_estimate(prediction, reference, json_path=json_path)
        return
    with user_errors():
        if scenes:
            if prediction is not None or reference is not None:
                raise InputError("give either PREDICTION REFERENCE or --scenes", None, "not both")
            result, title = _over_scenes(
                scenes,
                model,
                reference_name,
                prediction_name,
                mapping,
                min_share,
                json_path,
                png,
                device,
                tta,
                precision,
            )
        else:
            result, title = _pair(prediction, reference, mapping, min_share, json_path, png)
    _print(result, title)


def _pair(
    prediction: Path | None,
    reference: Path | None,
    mapping: Path | None,
    min_share: float,
    json_path: Path | None,
    png: Path | None,
) -> tuple[EvaluateResult, str]:
    """One class raster against one reference raster, and the table's title."""
    from geoseg.analysis.evaluate import evaluate

    if prediction is None or reference is None:
        raise InputError(
            "evaluate needs PREDICTION and REFERENCE rasters",
            None,
            "or --scenes FOLDER --model BUNDLE",
        )
    result = evaluate(
        prediction,
        reference,
        mapping=mapping,
        min_share=min_share,
        json_path=json_path,
        png_path=png,
    )
    return result, f"{prediction.name} vs {reference.name}"


def _over_scenes(
    scenes: list[Path],
    model: Path | None,
    reference_name: str,
    prediction_name: str | None,
    mapping: Path | None,
    min_share: float,
    json_path: Path | None,
    png: Path | None,
    device: str,
    tta: bool,
    precision: str,
) -> tuple[EvaluateResult, str]:
    """A model (or the ``prediction_name`` file) over scene folders, and the table's title."""
    from geoseg.analysis.evaluate import evaluate_scenes
    from geoseg.train.dataset import find_scenes

    pairs = find_scenes(scenes, reference_name)
    result = evaluate_scenes(
        pairs,
        model,
        mapping,
        min_share,
        json_path,
        png,
        device=device,
        prediction_name=prediction_name,
        tta=tta,
        precision=precision,
    )
    extra = (", TTA" if tta else "") + (f", {precision}" if precision != "fp32" else "")
    what = prediction_name or f"model {model or 'default'}{extra}"
    return result, f"{len(pairs)} scene(s), {what}"


def _print(result: EvaluateResult, title: str) -> None:
    print_metrics(result.metrics, title)
    for p in (result.json_path, result.png_path):
        if p is not None:
            out.print(f"  {p}", highlight=False)
