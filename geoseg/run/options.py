"""How a run is done, in three groups, each checked when it is built.

A bad value raises :class:`~geoseg.errors.OptionError` (one line naming the option, the value and
what is allowed) before anything is read or written. ``Options(tile_size=512, min_area_ha=1)``
takes the fields flat, as before the groups existed, and reads them flat too (``opts.tile_size``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from geoseg import indices
from geoseg.errors import OptionError

ENGINES = ("auto", "inprocess", "local", "dask")
#: tile sizes are multiples of the network's total stride
TILE_MULTIPLE = 32
MIN_TILE = 64
#: a tile of this many pixels a side holds ~1.6 GB of float32 probabilities per batch item
MAX_TILE = 4096
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-").removesuffix("-ha").removesuffix("-m")


def _fail(name: str, value: object, allowed: str) -> OptionError:
    return OptionError(f"{_flag(name)} {value!r} is out of range", None, f"use {allowed}")


@dataclass(frozen=True)
class TilingOptions:
    """How the scene is cut: tiles the model sees, chunks a worker reads, tiles per batch."""

    tile_size: int | None = None  # default: the bundle's
    overlap: int | None = None  # default: the bundle's
    chunk_size: int = 2048
    batch_size: int = 8

    def __post_init__(self) -> None:
        t = self.tile_size
        if t is not None and not (MIN_TILE <= t <= MAX_TILE and t % TILE_MULTIPLE == 0):
            raise _fail(
                "tile_size", t, f"a multiple of {TILE_MULTIPLE} from {MIN_TILE} to {MAX_TILE}"
            )
        if self.overlap is not None:
            limit = t // 2 if t is not None else MAX_TILE // 2
            if not 0 <= self.overlap < limit:
                raise _fail("overlap", self.overlap, f"0 to {limit - 1} pixels (under half a tile)")
        if self.chunk_size < (t or MIN_TILE):
            raise _fail("chunk_size", self.chunk_size, f"at least the tile size ({t or MIN_TILE})")
        if self.batch_size < 1:
            raise _fail("batch_size", self.batch_size, "1 or more tiles")

    def check_against(self, tile: int, overlap: int) -> None:
        """Checks that need the bundle's defaults (tile size and overlap actually used)."""
        if not 0 <= overlap < tile // 2:
            raise _fail("overlap", overlap, f"0 to {tile // 2 - 1} pixels (under half the tile)")
        if self.chunk_size < tile:
            raise _fail("chunk_size", self.chunk_size, f"at least the tile size ({tile})")


@dataclass(frozen=True)
class ComputeOptions:
    """Where the model runs: engine, device, workers; and whether finished chunks are kept."""

    engine: str = "auto"  # auto | inprocess | local | dask (needs dask_address)
    device: str = "auto"
    dask_address: str | None = None  # e.g. tcp://scheduler:8786: an existing cluster
    workers: int | None = None  # local cluster size (default: one per core)
    gpu_resources: bool = False  # pin chunk tasks to workers started with --resources GPU=1
    resume: bool = True  # keep finished chunks beside the outputs until the run completes

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise OptionError(
                f"unknown engine {self.engine!r}", "--engine", f"use {', '.join(ENGINES)}"
            )
        if self.engine == "dask" and not self.dask_address:
            raise OptionError(
                "engine dask needs a scheduler address", "--dask-address", "pass tcp://HOST:PORT"
            )
        if not _DEVICE.match(self.device):
            raise _fail("device", self.device, "auto, cpu, cuda or cuda:N")
        if self.workers is not None and self.workers < 1:
            raise _fail("workers", self.workers, "1 or more (default: one per core)")


@dataclass(frozen=True)
class OutputOptions:
    """What is written besides the class raster, and how polygons are drawn."""

    min_area_ha: float = 0.05
    simplify_m: float = 0.0
    vectorize: bool = True
    confidence: bool = True
    indices: tuple[str, ...] = ()
    stac: bool = True  # write <stem>_item.json, a STAC item describing the outputs

    def __post_init__(self) -> None:
        for name in ("min_area_ha", "simplify_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise _fail(name, value, "a number ≥ 0")
        object.__setattr__(self, "indices", tuple(self.indices))
        for name in self.indices:
            indices.get(name)


GROUPS = {"tiling": TilingOptions, "compute": ComputeOptions, "output": OutputOptions}
#: flat field name -> the group holding it
FIELD_GROUP = {f.name: group for group, cls in GROUPS.items() for f in fields(cls)}


@dataclass(frozen=True, init=False)
class Options:
    """Every setting of a run; ``Options(**flat)`` or ``Options(tiling=…, compute=…, output=…)``."""

    tiling: TilingOptions
    compute: ComputeOptions
    output: OutputOptions

    def __init__(
        self,
        tiling: TilingOptions | None = None,
        compute: ComputeOptions | None = None,
        output: OutputOptions | None = None,
        **flat: Any,
    ) -> None:
        unknown = sorted(set(flat) - set(FIELD_GROUP))
        if unknown:
            raise OptionError(
                f"unknown option(s) {', '.join(unknown)}",
                "options",
                f"use {', '.join(sorted(FIELD_GROUP))}",
            )
        given = {"tiling": tiling, "compute": compute, "output": output}
        for name, cls in GROUPS.items():
            own = {k: v for k, v in flat.items() if FIELD_GROUP[k] == name}
            group = given[name] or cls()
            object.__setattr__(self, name, replace(group, **own) if own else group)

    def __getattr__(self, name: str) -> Any:
        """Flat read access (``opts.tile_size``), as before the groups existed."""
        group = FIELD_GROUP.get(name)
        if group is None:
            raise AttributeError(f"Options has no field {name!r}")
        return getattr(object.__getattribute__(self, group), name)

    def flat(self) -> dict[str, Any]:
        """Every field by its flat name (what a catalogue or flow parameter holds)."""
        return {name: getattr(getattr(self, g), name) for name, g in FIELD_GROUP.items()}

    @classmethod
    def from_mapping(cls, values: Any) -> Options:
        """An Options from itself, a flat mapping (catalogue YAML, flow parameters) or None."""
        if isinstance(values, Options):
            return values
        if values is None:
            return cls()
        if not isinstance(values, dict):
            raise OptionError(f"options must be a mapping, not {type(values).__name__}", "options")
        return cls(**values)
