"""Training configuration: one pydantic model, read from YAML/JSON and overridable by CLI options.

Everything that changes the trained weights lives here, so the config (stored in the bundle's
provenance) is enough to reproduce a bundle with ``geoseg train --config``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from geoseg.classes import ClassInfo
from geoseg.errors import InputError

DW_CLASSES: list[ClassInfo] = [
    ClassInfo(id=i, name=n, color=c)
    for i, (n, c) in enumerate(
        [
            ("water", "#419bdf"),
            ("trees", "#397d49"),
            ("grass", "#88b053"),
            ("flooded_vegetation", "#7a87c6"),
            ("crops", "#e49635"),
            ("shrub_and_scrub", "#dfc35a"),
            ("built", "#c4281b"),
            ("bare", "#a59b8f"),
            ("snow_and_ice", "#b39fe1"),
        ]
    )
]
DEFAULT_BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]

LossName = Literal["ce", "wce", "dice", "focal"]


class LossTerm(BaseModel):
    name: LossName
    weight: float = Field(default=1.0, gt=0)


class AugmentConfig(BaseModel):
    d4: bool = True  # the 8 flips/rotations: land cover has no preferred orientation
    gain: float = Field(default=0.05, ge=0)  # per-band multiplicative jitter (std)
    brightness: float = Field(default=0.05, ge=0)  # scene-wide multiplicative jitter (std)
    offset: float = Field(default=0.005, ge=0)  # additive reflectance jitter (std): haze, L1C/L2A


class TrainConfig(BaseModel):
    """What to train on, which network, and how."""

    name: str = "geoseg-model"
    output: Path = Path("model")
    train: list[Path]
    val: list[Path] = Field(default_factory=list)
    label_name: str = "label.tif"  # label file inside each crop folder (raster or vector)
    label_column: str = "class"  # class column of vector labels
    ignore_index: int = 255

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
    max_minutes: float | None = None  # wall-clock budget: stop (keeping the best) when spent
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
    patience: int = Field(default=8, ge=1)  # epochs without val mIoU gain before stopping
    # Precise BatchNorm: re-estimate BN statistics with the final weights over this many batches
    # (0: off). Running averages of batch-8 statistics lag the weights and make results noisy.
    precise_bn_batches: int = Field(default=0, ge=0)
    # Validate, select and ship an exponential moving average of the weights and BN statistics
    # (per step; 0: off). Averaging over ~1/(1-decay) steps smooths the noise of small batches.
    ema_decay: float = Field(default=0.0, ge=0, lt=1)
    seed: int = 0
    device: str = "auto"
    amp: bool | None = None  # default: on for CUDA
    threads: int | None = None
    checkpoint: Path | None = None  # default: <output>.ckpt
    resume: bool = False

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
        file = Path(path)
        if not file.is_file():
            raise InputError("config file not found", file, "give a YAML or JSON training config")
        try:
            text = file.read_text()
            loaded = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise InputError(
                f"cannot parse config: {_one_line(exc)}", file, "fix the YAML/JSON"
            ) from exc
        if not isinstance(loaded, dict):
            raise InputError("config must be a mapping of options", file, "see configs/")
        data = _resolve(loaded, file.resolve().parent)
    data.update(_resolve({k: v for k, v in overrides.items() if v is not None}, Path.cwd()))
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            f"invalid training config: {where}: {first['msg']}",
            path or "options",
            "fix the option (see configs/default_model.yaml)",
        ) from exc


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
    return out


def _rel(base: Path, p: str | Path) -> Path:
    q = Path(p).expanduser()
    return q if q.is_absolute() else base / q
