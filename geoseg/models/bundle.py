"""Self-describing model bundles: ``bundle.json`` (what the model expects and predicts) beside
``weights.safetensors`` (tensors only, so loading never unpickles anything).

The JSON is the single place a class list lives: ids, names and colours travel with the weights into
every output (colour table, QGIS styles, statistics).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from safetensors import SafetensorError
from safetensors.torch import load, load_file, save_file
from torch import nn

from geoseg import bands as band_catalogue
from geoseg import indices as index_registry
from geoseg.classes import ClassInfo
from geoseg.errors import BundleError
from geoseg.models.inputs import read_bands
from geoseg.models.registry import build_model

FORMAT_VERSION = 1
SPEC_FILE = "bundle.json"
WEIGHTS_FILE = "weights.safetensors"
#: the network quantized to int8 (ONNX, QDQ), built by ``geoseg quantize``; optional
INT8_FILE = "int8.onnx"
DEFAULT_BUNDLE = Path(__file__).parent / "default"


class ModelSpec(BaseModel):
    architecture: str
    encoder: str
    params: dict[str, Any] = Field(default_factory=dict)


class Normalization(BaseModel):
    mean: list[float]
    std: list[float]

    @field_validator("std")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(s <= 0 for s in v):
            raise ValueError("std must be > 0")
        return v


class PrecisionCheck(BaseModel):
    """How a reduced precision agreed with fp32 on validation scenes, measured on one kind of
    processor (``geoseg quantize`` writes it; ``--precision auto`` reads it)."""

    agreement: float  # share of valid pixels given fp32's class
    oa_delta: float  # OA minus fp32's OA, points (agreement with the scenes' labels)
    max_iou_delta: float  # largest |IoU - fp32's IoU| over the classes, points
    scenes: list[str]
    cpu_flags: list[str]  # instruction sets the runtime used (e.g. avx512_vnni)
    sha256: str = ""  # of the precision's own model file (int8.onnx), if it has one
    built_from: str = ""  # weights_sha256 the file was made from


class BundleSpec(BaseModel):
    format_version: int = FORMAT_VERSION
    name: str
    model: ModelSpec
    bands: list[str]
    indices: list[str] = Field(default_factory=list)
    normalization: Normalization
    classes: list[ClassInfo]
    tile_size: int = 512
    overlap: int = 64
    weights_sha256: str = ""
    # logits are divided by it before the softmax: fitted on validation scenes so confidence
    # means what it says (1: as trained; geoseg calibrate fits it)
    temperature: float = Field(default=1.0, gt=0)
    # Sentinel-2 processing levels the model was trained on or checked against (others warn)
    processing_levels: list[str] = Field(default_factory=lambda: ["L1C"])
    # what the model is known to get wrong, one plain sentence each (geoseg info shows them)
    known_limits: list[str] = Field(default_factory=list)
    # reduced precisions checked against fp32 (bf16, int8), by name
    precisions: dict[str, PrecisionCheck] = Field(default_factory=dict)
    provenance: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)

    @field_validator("bands")
    @classmethod
    def _known_bands(cls, v: list[str]) -> list[str]:
        for name in v:
            if band_catalogue.canonical(name) != name:
                raise ValueError(f"unknown band {name!r}")
        return v

    @field_validator("indices")
    @classmethod
    def _known_indices(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in index_registry.REGISTRY:
                raise ValueError(f"unknown index {name!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> BundleSpec:
        n = len(self.channels)
        if len(self.normalization.mean) != n or len(self.normalization.std) != n:
            raise ValueError(f"normalization needs {n} values (bands + indices)")
        ids = [c.id for c in self.classes]
        if ids != list(range(len(ids))) or not ids:
            raise ValueError("class ids must be 0, 1, 2, … in order")
        if self.format_version != FORMAT_VERSION:
            raise ValueError(f"format_version {self.format_version} (this geoseg reads 1)")
        return self

    @property
    def channels(self) -> list[str]:
        return [*self.bands, *self.indices]


@dataclass(repr=False)  # the generated repr printed every weight tensor (~500,000 characters)
class Bundle:
    path: Path
    spec: BundleSpec
    state: dict[str, torch.Tensor]

    def __repr__(self) -> str:
        """One line a notebook can show: name, network, inputs, classes, tiling, size, where."""
        s = self.spec
        inputs = ", ".join([f"{len(s.bands)} bands", *s.indices])
        names = [c.name for c in s.classes]
        classes = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        params = sum(int(t.numel()) for t in self.state.values())
        return (
            f"Bundle({s.name!r}: {s.model.architecture}/{s.model.encoder}, {inputs}, "
            f"{len(names)} classes ({classes}), tile {s.tile_size}/{s.overlap}, "
            f"{params / 1e6:.1f} M parameters, sha256 {self.model_hash}…, {str(self.path)!r})"
        )

    @property
    def sha256(self) -> str:
        return self.spec.weights_sha256

    @property
    def identity(self) -> str:
        """What makes this bundle's outputs: the weights, and the temperature when calibrated."""
        t = self.spec.temperature
        return self.sha256 if t == 1.0 else f"{self.sha256}/T={t:.6g}"

    @property
    def model_hash(self) -> str:
        """Short hash naming the weights in provenance tags and caches."""
        return self.sha256[:16]

    @property
    def classes(self) -> list[ClassInfo]:
        return self.spec.classes

    @property
    def read_bands(self) -> list[str]:
        """Bands to read from a scene: the model's own plus those its indices need."""
        return read_bands(self.spec.bands, self.spec.indices)

    def to_bytes(self) -> tuple[str, bytes]:
        """The bundle as (bundle.json text, safetensors bytes), for workers without its files."""
        return self.spec.model_dump_json(), (self.path / WEIGHTS_FILE).read_bytes()

    @property
    def has_int8(self) -> bool:
        return "int8_model" in self.__dict__ or (self.path / INT8_FILE).is_file()

    @cached_property
    def int8_model(self) -> bytes:
        """The int8 ONNX model, checked against the hash recorded for it (never unpickled)."""
        check = self.spec.precisions.get("int8")
        path = self.path / INT8_FILE
        if check is None or not path.is_file():
            raise BundleError(
                "this bundle has no int8 model",
                self.path,
                "build one with geoseg quantize BUNDLE, or use --precision fp32 or bf16",
            )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != check.sha256 or check.built_from != self.sha256:
            raise BundleError(
                f"{INT8_FILE} does not match the weights or the hash recorded for it",
                path,
                "rebuild it with geoseg quantize BUNDLE",
            )
        return data

    @cached_property
    def network(self) -> nn.Module:
        """The network in eval mode with the bundle's weights (built once per process)."""
        net = _build(self.spec)
        try:
            net.load_state_dict(self.state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise BundleError(
                f"weights do not fit the architecture in {SPEC_FILE}: {first}",
                self.path,
                "the bundle is mismatched; rebuild it with geoseg train or use another --model",
            ) from exc
        return net.eval()


def _build(spec: BundleSpec) -> nn.Module:
    return build_model(
        spec.model.architecture,
        spec.model.encoder,
        in_channels=len(spec.channels),
        classes=len(spec.classes),
        **spec.model.params,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_bundle(path: str | Path | None = None) -> Bundle:
    """Load and check a bundle folder (default: the model shipped with geoseg)."""
    root = Path(path) if path is not None else DEFAULT_BUNDLE
    if root.is_file() and root.name in (SPEC_FILE, WEIGHTS_FILE):
        root = root.parent
    spec_path, weights_path = root / SPEC_FILE, root / WEIGHTS_FILE
    if not spec_path.is_file() or not weights_path.is_file():
        raise BundleError(
            f"not a model bundle (needs {SPEC_FILE} and {WEIGHTS_FILE})",
            root,
            "pass --model a bundle folder written by geoseg train",
        )
    try:
        spec = BundleSpec.model_validate_json(spec_path.read_text())
    except (ValidationError, ValueError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError(
            f"invalid {SPEC_FILE}: {first}", spec_path, "fix or rebuild the bundle"
        ) from exc
    actual = _sha256(weights_path)
    if spec.weights_sha256 and spec.weights_sha256 != actual:
        raise BundleError(
            "weights file does not match the hash recorded in bundle.json",
            weights_path,
            "the bundle is corrupt or mixed; copy it again or rebuild it",
        )
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(
            f"weights are not a readable safetensors file ({exc})",
            weights_path,
            "copy the bundle again or rebuild it",
        ) from exc
    spec.weights_sha256 = actual
    bundle = Bundle(root, spec, state)
    _ = bundle.network  # fail now, not in the middle of a run, if weights and spec disagree
    return bundle


def bundle_from_bytes(spec_json: str, weights: bytes, int8: bytes | None = None) -> Bundle:
    """A bundle sent over the wire (Dask workers): same checks as :func:`load_bundle`."""
    spec = BundleSpec.model_validate_json(spec_json)
    actual = hashlib.sha256(weights).hexdigest()
    if spec.weights_sha256 and spec.weights_sha256 != actual:
        raise BundleError("received weights do not match their hash", "bundle bytes", "retry")
    spec.weights_sha256 = actual
    bundle = Bundle(Path("<memory>"), spec, load(weights))
    if int8 is not None:
        check = spec.precisions.get("int8")
        if check is None or hashlib.sha256(int8).hexdigest() != check.sha256:
            raise BundleError(
                "received int8 model does not match its hash", "bundle bytes", "retry"
            )
        bundle.__dict__["int8_model"] = int8  # the cached_property's slot
    return bundle


def save_spec(path: str | Path, spec: BundleSpec) -> Bundle:
    """Rewrite a bundle's ``bundle.json`` (same weights) atomically and return it loaded."""
    root = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{SPEC_FILE}.", dir=root)
    with os.fdopen(fd, "w") as fh:
        fh.write(spec.model_dump_json(indent=2) + "\n")
    Path(tmp).chmod(0o644)
    os.replace(tmp, root / SPEC_FILE)
    return load_bundle(root)


def save_bundle(path: str | Path, network: nn.Module, spec: BundleSpec) -> Bundle:
    """Write a bundle folder atomically (temp folder, then rename) and return it loaded."""
    root = Path(path)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
    spec = spec.model_copy(update={"weights_sha256": _sha256(tmp / WEIGHTS_FILE)})
    (tmp / SPEC_FILE).write_text(spec.model_dump_json(indent=2) + "\n")
    for item in (tmp, tmp / SPEC_FILE, tmp / WEIGHTS_FILE):
        item.chmod(0o755 if item.is_dir() else 0o644)  # mkdtemp makes private folders
    if root.exists():
        for child in root.iterdir():
            child.unlink()
        root.rmdir()
    os.replace(tmp, root)
    return load_bundle(root)
