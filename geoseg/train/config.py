"""Training configuration: one pydantic model, read from YAML/JSON and overridable by CLI options.

Everything that changes the trained weights lives here, so the config (stored in the bundle's
provenance) is enough to reproduce a bundle with ``geoseg train --config``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from geoseg.classes import DW_CLASSES, ClassInfo
from geoseg.errors import InputError

DEFAULT_BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]

LossName = Literal["ce", "wce", "dice", "focal"]


class LossTerm(BaseModel):
    name: LossName
    weight: float = Field(default=1.0, gt=0)


class Chance(BaseModel):
    """An augmentation applied to a chip with probability ``p`` (0: off, and nothing is drawn)."""

    p: float = Field(default=0.0, ge=0, le=1)


class Illumination(Chance):
    """Low sun / illumination: every band scaled by one factor drawn uniformly from ``range``."""

    range: tuple[float, float] = (0.6, 1.1)

    @field_validator("range")
    @classmethod
    def _positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError("range must be 0 < low <= high")
        return v


class Haze(Chance):
    """Haze: an additive offset drawn uniformly from ``range`` for B02, falling with wavelength
    as ``(490 nm / wavelength) ** exponent`` for the other bands (aerosol scattering)."""

    range: tuple[float, float] = (0.0, 0.05)
    exponent: float = Field(default=1.5, ge=0)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] <= v[1]:
            raise ValueError("range must be 0 <= low <= high")
        return v


class L2AShift(Chance):
    """Level-1C → Level-2A: a per-band affine ``x·a_b + c_b`` (ranges in ``transforms.L2A``),
    ``strength`` scales how far from the identity it may go (1: the documented ranges)."""

    strength: float = Field(default=1.0, ge=0, le=2)


class AugmentConfig(BaseModel):
    d4: bool = True  # the 8 flips/rotations: land cover has no preferred orientation
    gain: float = Field(default=0.05, ge=0)  # per-band multiplicative jitter (std)
    brightness: float = Field(default=0.05, ge=0)  # scene-wide multiplicative jitter (std)
    offset: float = Field(default=0.005, ge=0)  # additive reflectance jitter (std): haze, L1C/L2A
    # Season, illumination and atmosphere (issue 13); all off by default. Applied to reflectance
    # before the jitter above and before the index channels, in this physical order.
    illumination: Illumination = Field(default_factory=Illumination)
    haze: Haze = Field(default_factory=Haze)
    l2a: L2AShift = Field(default_factory=L2AShift)


class ExtraSource(BaseModel):
    """More training scenes drawn as a fixed share of batches, apart from ``train``'s.

    ``patches`` marks a folder of small patches, each its own place (EuroSAT): its batches use
    chips of the patch size (at most ``chip_size``, a multiple of 32), each chip inside one patch,
    so patches are never mosaicked. Within a source, scenes are drawn by labelled pixels times
    their ``scene_weights`` entry (default 1; 0 leaves a scene out, like ``exclude``); a key may be
    a shell pattern (``rome_*_p0``): a scene takes the weight of its exact name, else of the first
    pattern it matches.
    """

    path: Path
    weight: float = Field(gt=0, lt=1)  # share of batches (so of chips) drawn from this source
    patches: bool = False
    exclude: list[str] = Field(default_factory=list)  # scene folder names (or patterns) left out
    scene_weights: dict[str, float] = Field(default_factory=dict)

    @field_validator("scene_weights")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("scene weights must be >= 0")
        return v


class Distill(BaseModel):
    """Distillation from the teacher's own class probabilities (``name`` beside each label).

    The loss adds ``weight`` × T² × KL(teacher ‖ student) at temperature ``temperature`` on every
    pixel the teacher covers, and keeps the hard-label terms only where the teacher's top
    probability reaches ``min_confidence``: soft targets say what an unsure teacher hesitates
    between (grass, crops, shrub), instead of its coin-flip argmax.
    """

    name: str = "prob.tif"  # uint8 round(p × 255) per class band, 255 = nodata (any grid)
    weight: float = Field(default=1.0, gt=0)
    temperature: float = Field(default=2.0, gt=0)
    min_confidence: float = Field(default=0.0, ge=0, lt=1)


class Holdout(BaseModel):
    """A fixed hold-out list (``crops:`` and ``patches:``, as in ``configs/rural_holdout.yaml``):
    never trained on, scored at each validation. Its items are relative to ``root`` (default:
    the folder holding the first ``train`` path, i.e. the data root)."""

    file: Path
    root: Path | None = None


SelectOn = Literal["val", "holdout"]


def _val_only() -> dict[SelectOn, float]:
    return {"val": 1.0}


class TrainConfig(BaseModel):
    """What to train on, which network, and how."""

    name: str = "geoseg-model"
    output: Path = Path("model")
    train: list[Path]
    val: list[Path] = Field(default_factory=list)
    label_name: str = "label.tif"  # label file inside each crop folder (raster or vector)
    label_column: str = "class"  # class column of vector labels

    classes: list[ClassInfo] = Field(default_factory=lambda: list(DW_CLASSES))
    bands: list[str] = Field(default_factory=lambda: list(DEFAULT_BANDS))
    indices: list[str] = Field(default_factory=lambda: ["NDVI", "NDWI"])

    architecture: str = "unet_aspp"
    encoder: str = "resnet18"
    model_params: dict[str, Any] = Field(default_factory=dict)
    init: Path | None = None  # start from this bundle's weights (fine-tuning) instead of random
    tile_size: int = 512
    overlap: int = 64
    fp16_weights: bool = True  # halve the shipped bundle; weights are cast back to fp32 on load

    chip_size: int = Field(default=256, ge=32)
    # Per batch, a chip size drawn from these (empty: chip_size only). Tiles of different sizes
    # give a pixel different context; training on several keeps tiled maps alike across sizes.
    chip_sizes: list[int] = Field(default_factory=list)
    batch_size: int = Field(default=8, ge=1)
    chips_per_epoch: int = Field(default=800, ge=1)
    epochs: int = Field(default=30, ge=0)  # 0: write the init weights as they start
    # the run's wall-clock budget (earlier runs of a resume included): stop, keeping the best
    max_minutes: float | None = None
    lr: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    schedule: Literal["onecycle", "cosine", "constant"] = "onecycle"
    loss: list[LossTerm] = Field(
        default_factory=lambda: [LossTerm(name="wce"), LossTerm(name="dice", weight=0.5)]
    )
    # share of chips drawn around a pixel of a uniformly picked class (0: by labelled pixels only)
    balanced_chips: float = Field(default=0.0, ge=0, le=1)
    class_weights: Literal["auto", "none"] | list[float] = "auto"
    min_class_share: float = 0.005  # classes below this share of val pixels leave the mIoU
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)  # of the (weighted) CE terms
    extra: list[ExtraSource] = Field(default_factory=list)
    # Each epoch's batches go to the sources in exact proportion to their weights (shuffled), not
    # by an independent draw per batch: every epoch then holds each source's share.
    stratify_sources: bool = False
    distill: Distill | None = None  # soft targets from the teacher's probabilities
    holdout: Holdout | None = None
    # What picks the best epoch: weights of each split's mIoU (a list: equal weights). Without
    # validation scenes and hold-out, minus the training loss.
    select_on: dict[SelectOn, float] = Field(default_factory=_val_only)
    patience: int = Field(default=8, ge=1)  # epochs without val mIoU gain before stopping
    # Precise BatchNorm: re-estimate BN statistics with the final weights over this many batches
    # (0: off). Running averages of batch-8 statistics lag the weights and make results noisy.
    precise_bn_batches: int = Field(default=0, ge=0)
    # After selection, fold the ASPP's image pooling into a constant (geoseg.train.fold): the
    # shipped network is local, so its map does not change with the tile size.
    fold_image_pooling: bool = False
    # fit the temperature of the logits on the validation scenes after selection (calibration)
    calibrate: bool = False
    # written into the bundle: the processing levels the model was checked on (others warn at
    # classify time) and what it is known to get wrong (geoseg info shows it)
    processing_levels: list[str] = Field(default_factory=lambda: ["L1C"])
    known_limits: list[str] = Field(default_factory=list)
    # Validate, select and ship an exponential moving average of the weights and BN statistics
    # (per step; 0: off). Averaging over ~1/(1-decay) steps smooths the noise of small batches.
    ema_decay: float = Field(default=0.0, ge=0, lt=1)
    seed: int = 0
    device: str = "auto"
    amp: bool | None = None  # default: on for CUDA
    threads: int | None = None
    checkpoint: Path | None = None  # default: <output>.ckpt
    resume: bool = False

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        """Drop ``ignore_index``: older configs, checkpoints and bundle provenance (the shipped
        default bundle's too) hold it, but it was never read; ignored pixels are always
        :data:`geoseg.classes.NODATA`. Accepted and ignored so those files still load."""
        if isinstance(data, dict) and "ignore_index" in data:
            data = {k: v for k, v in data.items() if k != "ignore_index"}
        return data

    @field_validator("holdout", mode="before")
    @classmethod
    def _holdout_file(cls, v: Any) -> Any:
        return {"file": v} if isinstance(v, (str, Path)) else v

    @field_validator("select_on", mode="before")
    @classmethod
    def _equal_weights(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        return dict.fromkeys(v, 1.0) if isinstance(v, list) else v

    @field_validator("select_on")
    @classmethod
    def _some_weight(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("give val and/or holdout with weights >= 0, not all 0")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if sum(e.weight for e in self.extra) >= 1:
            raise ValueError(
                "extra source weights must add up to less than 1 (train keeps the rest)"
            )
        if self.select_on.get("holdout") and self.holdout is None:
            raise ValueError("select_on names holdout but no holdout file is configured")
        if self.fold_image_pooling and (
            self.architecture != "unet_aspp" or self.model_params.get("aspp_pooling") is False
        ):
            raise ValueError("fold_image_pooling needs a unet_aspp network with image pooling")
        return self

    @field_validator("chip_sizes")
    @classmethod
    def _sizes(cls, v: list[int]) -> list[int]:
        if any(s < 32 for s in v):
            raise ValueError("chip sizes must be at least 32")
        return v

    @field_validator("classes")
    @classmethod
    def _ordered(cls, v: list[ClassInfo]) -> list[ClassInfo]:
        if [c.id for c in v] != list(range(len(v))):
            raise ValueError("class ids must be 0, 1, 2, … in order")
        return v

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint or self.output.with_name(self.output.name + ".ckpt")


def load_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Read a YAML/JSON config (paths relative to the file) and apply non-None overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        data = _read(Path(path))
    data.update(_resolve({k: v for k, v in overrides.items() if v is not None}, Path.cwd()))
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"{p}: " for p in [".".join(str(p) for p in first["loc"])] if p)
        raise InputError(
            f"invalid training config: {where}{first['msg']}",
            path or "options",
            "fix the option (see configs/default_model.yaml)",
        ) from exc


def _read(file: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file's options with its paths resolved; ``base: FILE`` starts from that file's
    options (paths relative to it), which this file's own options then override (mappings key
    by key), so a candidate states only what differs from its recipe."""
    if not file.is_file():
        raise InputError("config file not found", file, "give a YAML or JSON training config")
    if file.resolve() in seen:
        raise InputError("config bases form a loop", file, "remove one base:")
    try:
        text = file.read_text()
        loaded = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        problem = f"cannot parse config: {_one_line(exc)}"
        raise InputError(problem, file, "fix the YAML/JSON") from exc
    if not isinstance(loaded, dict):
        raise InputError("config must be a mapping of options", file, "see configs/")
    base = loaded.pop("base", None)
    own = _resolve(loaded, file.resolve().parent)
    if base is None:
        return own
    return _merge(_read(_rel(file.resolve().parent, base), (*seen, file.resolve())), own)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        merge = isinstance(old, dict) and isinstance(value, dict)
        out[key] = _merge(old, value) if isinstance(old, dict) and merge else value
    return out


def _one_line(exc: Exception) -> str:
    """YAML errors span several lines (with a source excerpt); keep the problem and its place."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _resolve(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Paths in a config file are relative to the file; on the command line, to the cwd."""
    out = dict(data)
    for key in ("train", "val"):
        if isinstance(out.get(key), (str, Path)):
            out[key] = [out[key]]
        if key in out:
            out[key] = [_rel(base, p) for p in out[key]]
    for key in ("output", "checkpoint", "init"):
        if out.get(key) is not None:
            out[key] = _rel(base, out[key])
    if isinstance(out.get("extra"), list):
        out["extra"] = [
            {**e, "path": _rel(base, e["path"])} if isinstance(e, dict) and "path" in e else e
            for e in out["extra"]
        ]
    holdout = out.get("holdout")
    if isinstance(holdout, (str, Path)):
        holdout = {"file": holdout}
    if isinstance(holdout, dict):
        out["holdout"] = {
            **holdout,
            **{k: _rel(base, holdout[k]) for k in ("file", "root") if holdout.get(k) is not None},
        }
    return out


def _rel(base: Path, p: str | Path) -> Path:
    q = Path(p).expanduser()
    return q if q.is_absolute() else base / q
