"""How much a reduced precision changes the map: each scene classified in fp32 and in the
precision, compared pixel by pixel and against the scenes' labels (agreement with the labels'
source, e.g. Dynamic World, never accuracy).

The figures are what ``--precision auto`` trusts (:mod:`geoseg.engine.precision`), so they come
from whole scenes through :func:`geoseg.run.classify.classify`, exactly as users run them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from geoseg.analysis.evaluate import confusion_rasters
from geoseg.core.metrics import metrics
from geoseg.engine.precision import FAST_ON, cpu_flags
from geoseg.models.bundle import Bundle, PrecisionCheck, save_spec
from geoseg.models.quantize import CALIBRATION_TILES, calibration_tiles, quantize_int8, save_int8
from geoseg.run.classify import classify
from geoseg.run.options import Options


def check_precisions(
    bundle: Bundle,
    scenes: Sequence[tuple[Path, Path]],
    precisions: Sequence[str] = ("bf16", "int8"),
    work_dir: str | Path | None = None,
) -> dict[str, PrecisionCheck]:
    """One :class:`PrecisionCheck` per precision over ``(scene, label raster)`` pairs."""
    n = len(bundle.classes)
    runs = ["fp32", *precisions]
    to_label = {p: np.zeros((n, n), dtype=np.int64) for p in runs}
    to_fp32 = {p: np.zeros((n, n), dtype=np.int64) for p in precisions}
    with tempfile.TemporaryDirectory(prefix="geoseg-precision-", dir=work_dir) as tmp:
        for k, (scene, label) in enumerate(scenes):
            classes = {}
            for p in runs:
                opts = Options(vectorize=False, confidence=False, device="cpu", precision=p)
                classes[p] = classify(scene, Path(tmp) / f"{k:03d}-{p}", bundle, opts).classes
                to_label[p] += confusion_rasters(classes[p], label, n)
            for p in precisions:
                to_fp32[p] += confusion_rasters(classes[p], classes["fp32"], n)
    names = [c.name for c in bundle.classes]
    reference = metrics(to_label["fp32"], names)
    return {
        p: _check(p, reference, metrics(to_label[p], names), to_fp32[p], scenes) for p in precisions
    }


def _check(
    precision: str,
    reference: dict[str, object],
    measured: dict[str, object],
    agreement: np.ndarray,
    scenes: Sequence[tuple[Path, Path]],
) -> PrecisionCheck:
    def points(m: dict[str, object], key: str) -> float:
        return 100 * float(m[key])  # type: ignore[arg-type]

    ref_cls, cls = reference["per_class"], measured["per_class"]
    assert isinstance(ref_cls, dict) and isinstance(cls, dict)
    deltas = [
        abs(cls[name]["iou"] - ref_cls[name]["iou"]) * 100
        for name in ref_cls
        if ref_cls[name]["iou"] is not None and cls[name]["iou"] is not None
    ]
    return PrecisionCheck(
        agreement=float(np.trace(agreement) / max(agreement.sum(), 1)),
        oa_delta=points(measured, "overall_accuracy") - points(reference, "overall_accuracy"),
        max_iou_delta=max(deltas, default=0.0),
        scenes=[Path(s).name for s, _ in scenes],
        cpu_flags=sorted(set(FAST_ON.get(precision, ())) & cpu_flags()),
    )


def quantize_and_check(
    bundle: Bundle,
    calibration: Sequence[Path],
    scenes: Sequence[tuple[Path, Path]],
    n_tiles: int = CALIBRATION_TILES,
) -> Bundle:
    """Build the bundle's int8 model from ``calibration`` scenes, check bf16 and int8 against
    fp32 on ``scenes`` and record both in its bundle.json; returns the bundle reloaded.

    The int8 file is first saved with an empty check (which ``auto`` never trusts), because the
    checks run it from the bundle; a run killed in between leaves a bundle that is still valid."""
    model = quantize_int8(bundle, calibration_tiles(bundle, calibration, n_tiles))
    unchecked = PrecisionCheck(agreement=0, oa_delta=0, max_iou_delta=0, scenes=[], cpu_flags=[])
    bundle = save_int8(bundle, model, unchecked)
    checks = check_precisions(bundle, scenes)
    int8 = checks["int8"].model_copy(
        update={k: getattr(bundle.spec.precisions["int8"], k) for k in ("sha256", "built_from")}
    )
    precisions = {**bundle.spec.precisions, **checks, "int8": int8}
    return save_spec(bundle.path, bundle.spec.model_copy(update={"precisions": precisions}))
