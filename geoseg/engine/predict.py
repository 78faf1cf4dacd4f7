"""Predictor: one chunk of reflectance in, weighted class-probability sums out.

Tiles of the chunk run in batches; their softmax probabilities are weighted with the partition-of-
unity window from :mod:`geoseg.tiling`, scaled by each tile's share of valid pixels (a tile that
is mostly nodata has little context and little say). :mod:`geoseg.core.blend` adds the neighbours'
sums and turns them into classes and confidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from geoseg.core.blend import PartialSums
from geoseg.engine.precision import resolve_precision
from geoseg.models.bundle import Bundle
from geoseg.models.fuse import fuse_batchnorm
from geoseg.models.inputs import complete_features, features
from geoseg.tiling import Chunk, TileGrid, blend_window


def int8_session(model: bytes) -> Any:
    """An ONNX Runtime session of an int8 model, with as many threads as PyTorch uses.

    Without a memory pattern: the pattern plans one block per input shape and keeps it, +320 MB
    at 4 tiles of 512² for no speed measurable here. The arena stays: without it every
    activation is a fresh mmap, and a 4096² scene took 60 s instead of 44. Its threads do not
    spin between runs: they would burn the cores the reader and the blending need (4096² scene,
    alternating runs: 69.5 and 71.0 CPU s against 74.6 and 76.8 spinning, wall 1–2 s less)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


#: tiles per forward pass by default. On a CPU a batch of 8 tiles of 512² runs no faster than one
#: of 4 and holds twice the activations (model-only peak RSS 1.7 against 1.3 GB, bench/RESULTS.md);
#: a GPU wants larger batches to keep busy.
CPU_BATCH_SIZE = 4
GPU_BATCH_SIZE = 8
#: ONNX Runtime's arena keeps the largest batch's activations for the session's life: a 4096²
#: scene peaked at 2653 MB with 4 tiles, 2362 MB with 2, in the same time within noise
#: (bench/RESULTS.md 2026-11-30, int8 on AVX2).
INT8_BATCH_SIZE = 2


def default_batch_size(device: torch.device, precision: str = "fp32") -> int:
    if device.type != "cpu":
        return GPU_BATCH_SIZE
    return INT8_BATCH_SIZE if precision == "int8" else CPU_BATCH_SIZE


class Predictor:
    """``precision``: ``auto`` (see :mod:`geoseg.engine.precision`), ``fp32``, ``bf16`` (autocast)
    or ``int8`` (the bundle's quantized ONNX model in ONNX Runtime, CPU only)."""

    def __init__(
        self,
        bundle: Bundle,
        device: str = "auto",
        batch_size: int | None = None,
        tta: bool = False,
        precision: str = "auto",
    ) -> None:
        self.bundle = bundle
        self.tta = tta
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device.type, bundle)
        default = default_batch_size(self.device, self.precision)
        self.batch_size = default if batch_size is None else batch_size
        self.amp = self.precision in ("amp", "bf16")
        cuda_bf16 = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        bf16 = self.precision == "bf16" or cuda_bf16
        self._amp_dtype = torch.bfloat16 if bf16 else torch.float16
        self._session = int8_session(bundle.int8_model) if self.precision == "int8" else None
        self.network = fuse_batchnorm(bundle.network).to(self.device)
        if self.device.type == "cpu":
            self.network = self.network.to(memory_format=torch.channels_last)
        norm = bundle.spec.normalization
        self._mean = np.asarray(norm.mean, dtype=np.float32)
        self._std = np.asarray(norm.std, dtype=np.float32)

    @property
    def n_classes(self) -> int:
        return len(self.bundle.classes)

    def features(self, reflectance: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Model input ``(channels, h, w)`` from reflectance of ``bundle.read_bands``."""
        spec = self.bundle.spec
        return features(reflectance, valid, spec.bands, spec.indices, self._mean, self._std)

    def complete_features(
        self, x: np.ndarray, named: Mapping[str, np.ndarray], valid: np.ndarray
    ) -> np.ndarray:
        """:meth:`features` in place: ``x[:len(bands)]`` already holds the bands' reflectance."""
        spec = self.bundle.spec
        return complete_features(x, named, valid, spec.bands, spec.indices, self._mean, self._std)

    @torch.inference_mode()
    def predict_chunk(
        self, x: np.ndarray, valid: np.ndarray, grid: TileGrid, chunk: Chunk
    ) -> PartialSums:
        """Run the chunk's tiles once each and sum their weighted probabilities.

        ``x`` covers ``chunk.extent`` (or only ``chunk.read``: the rest is then zeros, the
        normalised mean) and ``valid`` covers ``chunk.read``; pixels outside the scene are
        invalid and add only context.
        """
        ext = chunk.extent
        tile = grid.tile
        rh, rw = valid.shape
        eh, ew = int(ext.height), int(ext.width)
        if x.shape[1:] == (eh, ew):  # the whole extent (the engines' case): no copy
            xin = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        else:
            xin = torch.zeros((x.shape[0], eh, ew), dtype=torch.float32)
            xin[:, : x.shape[1], : x.shape[2]] = torch.from_numpy(x)
        vin = torch.zeros((eh, ew), dtype=torch.float32)
        vin[:rh, :rw] = torch.from_numpy(valid)
        acc = torch.zeros((self.n_classes, eh, ew), dtype=torch.float32, device=self.device)
        wsum = torch.zeros((eh, ew), dtype=torch.float32, device=self.device)
        window = torch.tensor(blend_window(tile, grid.overlap), device=self.device)

        jobs: list[tuple[int, int, float]] = []  # tile origin in extent coords, valid share
        for i in chunk.tile_rows:
            for j in chunk.tile_cols:
                r, c = grid.origin(i, 0) - int(ext.row_off), grid.origin(j, 1) - int(ext.col_off)
                share = float(vin[r : r + tile, c : c + tile].mean())
                if share > 0:  # an all-nodata tile has nothing to say
                    jobs.append((r, c, share))
        for start in range(0, len(jobs), self.batch_size):
            batch = jobs[start : start + self.batch_size]
            probs = self._forward(
                torch.stack([xin[:, r : r + tile, c : c + tile] for r, c, _ in batch])
            )
            for (r, c, share), p in zip(batch, probs, strict=True):
                w = window * share
                acc[:, r : r + tile, c : c + tile].addcmul_(p, w)
                wsum[r : r + tile, c : c + tile] += w
        return PartialSums(
            chunk,
            acc[:, :rh, :rw].cpu().numpy(),
            wsum[:rh, :rw].cpu().numpy(),
            valid,
        )

    def _forward(self, tiles: torch.Tensor) -> torch.Tensor:
        """Class probabilities of a batch of tiles; with test-time augmentation, the mean over
        the 8 flips and rotations of each tile (land cover has no preferred orientation, so the
        views disagree only where the network is unsure), at 8 × the cost."""
        if not self.tta:
            return self._probabilities(tiles)
        total = None
        for k in range(4):
            for flip in (False, True):
                view = torch.rot90(tiles, k, dims=(2, 3))
                probs = self._probabilities(view.flip(3) if flip else view)
                probs = torch.rot90(probs.flip(3) if flip else probs, -k, dims=(2, 3))
                total = probs if total is None else total + probs
        assert total is not None
        return total / 8

    def _probabilities(self, tiles: torch.Tensor) -> torch.Tensor:
        if self._session is not None:
            (logits,) = self._session.run(None, {"features": tiles.contiguous().numpy()})
            return torch.softmax(torch.from_numpy(logits) / self.bundle.spec.temperature, dim=1)
        tiles = tiles.to(self.device, non_blocking=True)
        if self.device.type == "cpu":
            tiles = tiles.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self._amp_dtype, enabled=self.amp):
            logits = self.network(tiles)
        return torch.softmax(logits.float() / self.bundle.spec.temperature, dim=1)
