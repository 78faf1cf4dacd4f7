"""Agreement between a class raster and a reference: confusion matrix and the usual metrics.

The reference is aligned onto the prediction grid (nearest resampling when the grids differ) and
both are read window by window, so memory does not grow with the raster size. The metric maths
(pure numpy) is :mod:`geoseg.core.metrics`; this module is its raster and scene side.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.core.metrics import confusion, metrics
from geoseg.errors import InputError, OutputError
from geoseg.io.class_raster import class_names
from geoseg.io.grid import Grid, on_grid

BLOCK = 1024


# --- class mapping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassMapping:
    """Maps raw prediction and reference values onto common class ids ``0..len(names)-1``.

    Values a side does not list go to an extra ``other`` class (an error, not a skip); the
    reference's nodata is always ignored. Without a mapping both sides are used as they are.
    """

    names: list[str]
    reference: dict[int, int] = field(default_factory=dict)
    prediction: dict[int, int] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.names) + 1  # + other

    def lut(self, side: Mapping[int, int]) -> np.ndarray:
        table = np.full(256, len(self.names), dtype=np.uint8)
        table[NODATA] = NODATA
        for raw, target in side.items():
            table[raw] = target
        return table


def load_mapping(path: str | Path) -> ClassMapping:
    """Read a JSON mapping ``{"classes": [...], "reference": {raw: id}, "prediction": {...}}``."""
    file = Path(path)
    try:
        data = json.loads(file.read_text())
        names = [str(n) for n in data["classes"]]
        ref = {int(k): int(v) for k, v in data.get("reference", {}).items()}
        pred = {int(k): int(v) for k, v in data.get("prediction", {}).items()}
    except FileNotFoundError:
        raise InputError("class mapping file not found", file, "give a JSON mapping file") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"invalid class mapping ({exc})",
            file,
            'write {"classes": [names], "reference": {"raw": id}, "prediction": {"raw": id}}',
        ) from exc
    for side in (ref, pred):
        for raw, target in side.items():
            if not 0 <= raw < NODATA or not 0 <= target < len(names):
                raise InputError(
                    f"class mapping {raw} -> {target} out of range",
                    file,
                    f"raw values 0..{NODATA - 1}, targets 0..{len(names) - 1}",
                )
    return ClassMapping(names, ref, pred)


# --- rasters ---------------------------------------------------------------------------------


def _windows(height: int, width: int, block: int = BLOCK) -> Iterator[Window]:
    for r in range(0, height, block):
        for c in range(0, width, block):
            yield Window(c, r, min(block, width - c), min(block, height - r))


def confusion_rasters(
    prediction: str | Path,
    reference: str | Path,
    n_classes: int,
    mapping: ClassMapping | None = None,
    block: int = BLOCK,
) -> np.ndarray:
    """Confusion matrix of two rasters, the reference read onto the prediction grid by windows."""
    pred_path, ref_path = Path(prediction), Path(reference)
    for p in (pred_path, ref_path):
        if not p.is_file():
            raise InputError("raster not found", p, "check the path")
    n = mapping.n_classes if mapping else n_classes
    cm = np.zeros((n, n), dtype=np.int64)
    try:
        with rasterio.open(pred_path) as pds, rasterio.open(ref_path) as rds:
            if pds.crs is None or rds.crs is None:
                raise InputError(
                    "raster has no CRS",
                    pred_path if pds.crs is None else ref_path,
                    "georeference it",
                )
            grid = Grid(pds.crs, pds.transform, pds.width, pds.height)
            nodata = rds.nodata if rds.nodata is not None else NODATA
            src = on_grid(rds, grid, Resampling.nearest, nodata)
            pnd, rnd = pds.nodata, src.nodata
            for win in _windows(pds.height, pds.width, block):
                p = pds.read(1, window=win).astype(np.int64)
                r = src.read(1, window=win).astype(np.int64)
                bad = np.zeros(p.shape, dtype=bool)
                if pnd is not None:
                    bad |= p == pnd
                if rnd is not None:
                    bad |= r == rnd
                p[(p < 0) | (p >= NODATA)] = NODATA
                r[(r < 0) | (r >= NODATA)] = NODATA
                p[bad], r[bad] = NODATA, NODATA
                if mapping is not None:
                    p = mapping.lut(mapping.prediction)[p]
                    r = mapping.lut(mapping.reference)[r]
                cm += confusion(p, r, n)
            if src is not rds:
                src.close()
    except RasterioError as exc:
        raise InputError("cannot read raster", f"{pred_path}, {ref_path}", str(exc)) from exc
    return cm


def plot_confusion(cm: np.ndarray, names: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (recall per reference class) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    keep = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    cm, names = cm[keep][:, keep], [n for n, k in zip(names, keep, strict=True) if k]
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size = 1.2 + 0.7 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("prediction")
    ax.set_ylabel("reference")
    for i in range(len(names)):
        for j in range(len(names)):
            if cm[i, j]:
                colour = "white" if norm[i, j] > 0.5 else "black"
                ax.text(
                    j, i, f"{norm[i, j]:.2f}", ha="center", va="center", color=colour, fontsize=7
                )
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of reference class")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    out = Path(path)
    try:
        fig.savefig(out, dpi=120)
    except OSError as exc:
        raise OutputError("cannot write confusion-matrix PNG", out, str(exc)) from exc
    finally:
        plt.close(fig)
    return out


@dataclass
class EvaluateResult:
    metrics: dict[str, Any]
    json_path: Path | None = None
    png_path: Path | None = None


def write_outputs(
    result: dict[str, Any], json_path: Path | None, png_path: Path | None, title: str = ""
) -> EvaluateResult:
    out = EvaluateResult(result)
    if json_path is not None:
        try:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(result, indent=2) + "\n")
        except OSError as exc:
            raise OutputError("cannot write metrics JSON", json_path, str(exc)) from exc
        out.json_path = json_path
    if png_path is not None:
        cm = np.asarray(result["confusion_matrix"])
        out.png_path = plot_confusion(cm, result["class_names"], png_path, title)
    return out


def evaluate(
    prediction: str | Path,
    reference: str | Path,
    names: Sequence[str] | None = None,
    mapping: ClassMapping | str | Path | None = None,
    min_share: float = 0.005,
    json_path: str | Path | None = None,
    png_path: str | Path | None = None,
) -> EvaluateResult:
    """Compare a class raster with a reference raster; optionally write JSON and a PNG."""
    for p in (Path(prediction), Path(reference)):
        if not p.is_file():
            raise InputError("raster not found", p, "check the path")
    if mapping is not None and not isinstance(mapping, ClassMapping):
        mapping = load_mapping(mapping)
    names = _names(prediction, names, mapping)
    cm = confusion_rasters(prediction, reference, len(names), mapping)
    return _finish(cm, names, mapping, min_share, json_path, png_path, str(prediction))


def _names(
    prediction: str | Path, names: Sequence[str] | None, mapping: ClassMapping | None
) -> list[str]:
    if mapping is not None:
        return [*mapping.names, "other"]
    if names is not None:
        return list(names)
    return class_names(prediction) or _default_names()


def _default_names() -> list[str]:
    """The default bundle's classes: what a raster without a legend was most likely made with."""
    from geoseg.models.bundle import load_bundle

    return [c.name for c in load_bundle().classes]


def _finish(
    cm: np.ndarray,
    names: list[str],
    mapping: ClassMapping | None,
    min_share: float,
    json_path: str | Path | None,
    png_path: str | Path | None,
    title: str,
) -> EvaluateResult:
    if mapping is not None and cm[-1].sum() + cm[:, -1].sum() == 0:
        cm, names = cm[:-1, :-1], names[:-1]  # no "other" anywhere: leave it out
    result = metrics(cm, names, min_share)
    return write_outputs(
        result,
        Path(json_path) if json_path else None,
        Path(png_path) if png_path else None,
        title=Path(title).name,
    )


def evaluate_scenes(
    scenes: Sequence[tuple[Path, Path]],
    model: str | Path | None = None,
    mapping: ClassMapping | str | Path | None = None,
    min_share: float = 0.005,
    json_path: str | Path | None = None,
    png_path: str | Path | None = None,
    work_dir: str | Path | None = None,
    device: str = "auto",
    prediction_name: str | None = None,
    tta: bool = False,
    precision: str = "fp32",
) -> EvaluateResult:
    """Classify each ``(scene, reference)`` with a bundle and sum the confusion matrices
    (in fp32 unless ``precision`` says otherwise: the model's own figures).

    This is how the figures of MODEL.md are measured: the full ``geoseg classify`` path (tiling,
    blending, the shipped bundle), not the training loop's shortcut. With ``prediction_name``
    the raster of that name inside each scene folder is compared instead (e.g. the Dynamic World
    ``label.tif`` against an independent reference), and no model runs.
    """
    from geoseg.models.bundle import load_bundle
    from geoseg.run.classify import Options, classify

    if mapping is not None and not isinstance(mapping, ClassMapping):
        mapping = load_mapping(mapping)
    bundle = load_bundle(model) if prediction_name is None else None
    if bundle is not None:
        names = [c.name for c in bundle.classes]
    else:
        first = Path(scenes[0][0]) / str(prediction_name) if scenes else Path("-")
        names = class_names(first) or ([] if mapping else _default_names())
    all_names = [*mapping.names, "other"] if mapping else names
    cm = np.zeros((len(all_names), len(all_names)), dtype=np.int64)
    per_scene: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        for k, (scene, reference) in enumerate(scenes):
            if bundle is None:
                predicted = Path(scene) / str(prediction_name)
            else:
                predicted = classify(
                    scene,
                    Path(tmp) / f"{k:03d}",
                    model=bundle,
                    options=Options(
                        vectorize=False,
                        confidence=False,
                        device=device,
                        tta=tta,
                        precision=precision,
                    ),
                ).classes
            part = confusion_rasters(predicted, reference, len(names), mapping)
            cm += part
            m = metrics(part, all_names, min_share)
            per_scene[str(scene)] = {k: m[k] for k in ("overall_accuracy", "miou", "pixels")}
    result = _finish(cm, all_names, mapping, min_share, None, None, "")
    result.metrics["scenes"] = per_scene
    if bundle is not None:
        result.metrics["model"] = {
            "path": str(bundle.path),
            "sha256": bundle.sha256,
            "tta": tta,
            "precision": precision,
        }
    else:
        result.metrics["prediction"] = prediction_name
    return write_outputs(
        result.metrics,
        Path(json_path) if json_path else None,
        Path(png_path) if png_path else None,
        title=str(prediction_name) if bundle is None else Path(str(model or "default")).name,
    )
