"""Predictor: one chunk of reflectance in, classes and confidence for the chunk's core out.

Tiles of the chunk run in batches; their softmax probabilities are blended with the partition-of-
unity window from :mod:`geoseg.tiling`, scaled by each tile's share of valid pixels (a tile that is
mostly nodata has little context and little say). Tiles are added in global row-major order, so a
pixel sums the same terms in the same order whatever chunk it falls in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from geoseg import indices
from geoseg.models.bundle import Bundle
from geoseg.tiling import Chunk, TileGrid, blend_window

NODATA = 255


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass(frozen=True)
class ChunkResult:
    chunk: Chunk
    classes: np.ndarray  # uint8 (h, w) of the core; 255 = nodata
    confidence: np.ndarray  # uint8 (h, w): max probability in percent; 255 = nodata
    extra: np.ndarray | None = None  # requested index channels over the core (float32)

    def with_extra(self, extra: np.ndarray | None) -> ChunkResult:
        return self if extra is None else replace(self, extra=extra)


class Predictor:
    def __init__(
        self,
        bundle: Bundle,
        device: str = "auto",
        batch_size: int = 8,
        amp: bool | None = None,
    ) -> None:
        self.bundle = bundle
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.amp = (self.device.type == "cuda") if amp is None else amp
        cuda_bf16 = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        self._amp_dtype = torch.bfloat16 if cuda_bf16 else torch.float16
        self.network = bundle.network.to(self.device)
        if self.device.type == "cpu":
            self.network = self.network.to(memory_format=torch.channels_last)
        norm = bundle.spec.normalization
        self._mean = np.asarray(norm.mean, dtype=np.float32)[:, None, None]
        self._std = np.asarray(norm.std, dtype=np.float32)[:, None, None]

    @property
    def n_classes(self) -> int:
        return len(self.bundle.classes)

    def features(self, reflectance: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Model input ``(channels, h, w)``: bands, then indices, normalised; 0 where invalid.

        ``reflectance`` holds ``bundle.read_bands`` in that order.
        """
        spec = self.bundle.spec
        named = dict(zip(self.bundle.read_bands, reflectance, strict=True))
        x = np.empty((len(spec.channels), *valid.shape), dtype=np.float32)
        x[: len(spec.bands)] = reflectance[: len(spec.bands)]
        x[len(spec.bands) :] = indices.compute(spec.indices, named, valid)
        x -= self._mean
        x /= self._std
        x[:, ~valid] = 0.0
        return x

    @torch.inference_mode()
    def predict_chunk(
        self, x: np.ndarray, valid: np.ndarray, grid: TileGrid, chunk: Chunk
    ) -> ChunkResult:
        """Blend the chunk's tiles and classify its core. ``x``/``valid`` cover ``chunk.read``."""
        ext, core = chunk.extent, chunk.core
        tile, stride = grid.tile, grid.stride
        eh, ew = int(ext.height), int(ext.width)
        rh, rw = valid.shape
        xin = torch.zeros((x.shape[0], eh, ew), dtype=torch.float32)
        xin[:, :rh, :rw] = torch.from_numpy(x)
        vin = torch.zeros((eh, ew), dtype=torch.bool)
        vin[:rh, :rw] = torch.from_numpy(valid)

        ch, cw = int(core.height), int(core.width)
        acc = torch.zeros((self.n_classes, ch, cw), dtype=torch.float32, device=self.device)
        wsum = torch.zeros((ch, cw), dtype=torch.float32, device=self.device)
        window = torch.tensor(blend_window(tile, grid.overlap), device=self.device)

        jobs: list[tuple[int, int, float]] = []  # tile origin in extent coords, valid share
        for i in chunk.tile_rows:
            for j in chunk.tile_cols:
                r, c = i * stride - ext.row_off, j * stride - ext.col_off
                share = float(vin[r : r + tile, c : c + tile].float().mean())
                if share > 0:
                    jobs.append((r, c, share))

        for start in range(0, len(jobs), self.batch_size):
            batch = jobs[start : start + self.batch_size]
            tiles = torch.stack([xin[:, r : r + tile, c : c + tile] for r, c, _ in batch])
            probs = self._forward(tiles)
            for (r, c, share), p in zip(batch, probs, strict=True):
                # intersect the tile with the core, in extent coordinates
                r0, c0 = max(r, core.row_off - ext.row_off), max(c, core.col_off - ext.col_off)
                r1 = min(r + tile, core.row_off - ext.row_off + ch)
                c1 = min(c + tile, core.col_off - ext.col_off + cw)
                if r0 >= r1 or c0 >= c1:
                    continue
                w = window[r0 - r : r1 - r, c0 - c : c1 - c] * share
                ar, ac = r0 - (core.row_off - ext.row_off), c0 - (core.col_off - ext.col_off)
                acc[:, ar : ar + r1 - r0, ac : ac + c1 - c0] += p[:, r0 - r : r1 - r, c0 - c : c1 - c] * w
                wsum[ar : ar + r1 - r0, ac : ac + c1 - c0] += w

        best, classes = (acc / wsum.clamp_min(1e-12)).max(dim=0)
        classes_np = classes.to(torch.uint8).cpu().numpy()
        conf_np = torch.round(best * 100).to(torch.uint8).cpu().numpy()
        cr, cc = core.row_off - ext.row_off, core.col_off - ext.col_off
        invalid = ~vin[cr : cr + ch, cc : cc + cw].numpy() | (wsum.cpu().numpy() == 0)
        classes_np[invalid] = NODATA
        conf_np[invalid] = NODATA
        return ChunkResult(chunk, classes_np, conf_np)

    def _forward(self, tiles: torch.Tensor) -> torch.Tensor:
        tiles = tiles.to(self.device, non_blocking=True)
        if self.device.type == "cpu":
            tiles = tiles.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self._amp_dtype, enabled=self.amp):
            logits = self.network(tiles)
        return torch.softmax(logits.float(), dim=1)
