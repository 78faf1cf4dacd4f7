"""How a run is done, in three groups, each checked when it is built.

A bad value raises :class:`~geoseg.errors.OptionError` (one line naming the option, the value and
what is allowed) before anything is read or written. ``Options(tile_size=512, min_area_ha=1)``
takes the fields flat, as before the groups existed, and reads them flat too (``opts.tile_size``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from geoseg import indices
from geoseg.engine.select import ENGINES, ComputeOptions
from geoseg.errors import GeosegError, OptionError
from geoseg.errors import out_of_range as _fail

__all__ = ["ENGINES", "ComputeOptions", "Options", "OptionsField", "OutputOptions", "TilingOptions"]

#: tile sizes are multiples of the network's total stride (what TileGrid accepts)
TILE_MULTIPLE = 32
MIN_TILE = TILE_MULTIPLE
#: a tile of this many pixels a side holds ~1.6 GB of float32 probabilities per batch item
MAX_TILE = 4096


@dataclass(frozen=True)
class TilingOptions:
    """How the scene is cut: tiles the model sees, chunks a worker reads, tiles per batch.

    A chunk is rounded to whole tile strides, at least one: any chunk size from 1 pixel works
    (the tests run chunks of a single stride)."""

    tile_size: int | None = None  # default: the bundle's
    overlap: int | None = None  # default: the bundle's
    chunk_size: int = 2048
    batch_size: int | None = None  # default: the device's (engine/predict.py)
    tta: bool = False  # average each tile over its 8 flips/rotations (8 × the model's work)

    def __post_init__(self) -> None:
        t = self.tile_size
        if t is not None and not (MIN_TILE <= t <= MAX_TILE and t % TILE_MULTIPLE == 0):
            raise _fail(
                "tile_size", t, f"a multiple of {TILE_MULTIPLE} from {MIN_TILE} to {MAX_TILE}"
            )
        if self.overlap is not None:
            self._check_overlap(self.overlap, t if t is not None else MAX_TILE)
        if self.chunk_size < 1:
            raise _fail("chunk_size", self.chunk_size, "1 or more pixels")
        if self.batch_size is not None and self.batch_size < 1:
            raise _fail("batch_size", self.batch_size, "1 or more tiles")

    @staticmethod
    def _check_overlap(overlap: int, tile: int) -> None:
        if not 0 <= overlap <= tile // 2:
            raise _fail("overlap", overlap, f"0 to {tile // 2} pixels (at most half the tile)")

    def effective(self, default_tile: int, default_overlap: int) -> tuple[int, int]:
        """Tile size and overlap a run uses: these options', else the bundle's defaults."""
        tile = self.tile_size or default_tile
        return tile, default_overlap if self.overlap is None else self.overlap

    def check_against(self, tile: int, overlap: int) -> None:
        """Checks that need the bundle's defaults (tile size and overlap actually used)."""
        self._check_overlap(overlap, tile)


@dataclass(frozen=True)
class OutputOptions:
    """What is written besides the class raster, and how polygons are drawn."""

    min_area_ha: float = 0.05
    simplify_m: float = 0.0
    vectorize: bool = True
    confidence: bool = True
    indices: tuple[str, ...] = ()
    stac: bool = True  # write <stem>_item.json, a STAC item describing the outputs
    #: write <stem>_probabilities.tif: every class's calibrated probability, percent
    probabilities: bool = False
    quicklook: bool = False  # write <stem>_quicklook.png: true colour beside the class map
    #: replace outputs of another scene that have the same names (else the run is refused)
    overwrite: bool = False

    def __post_init__(self) -> None:
        for name in ("min_area_ha", "simplify_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise _fail(name, value, "a number ≥ 0")
        object.__setattr__(self, "indices", tuple(self.indices))
        for name in self.indices:
            try:
                indices.get(name)
            except GeosegError as exc:  # an OptionError like every other bad option
                raise OptionError(exc.what, exc.where, exc.remedy) from None


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
        _check_names(flat)
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
        """An Options from itself, a flat mapping (catalogue YAML, flow parameters) or None;
        values of the wrong type are an :class:`OptionError` too, not a ``TypeError`` deep down."""
        if isinstance(values, Options):
            return values
        if values is None:
            return cls()
        if not isinstance(values, Mapping):
            raise OptionError(f"options must be a mapping, not {type(values).__name__}", "options")
        _check_names(values)
        groups: dict[str, Any] = {}
        for name, group in GROUPS.items():
            own = {k: v for k, v in values.items() if FIELD_GROUP[k] == name}
            try:
                groups[name] = TypeAdapter(group).validate_python(own)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = str(err["loc"][0]) if err["loc"] else name
                raise OptionError(
                    f"option {field} {err.get('input')!r} is not valid ({err['msg']})", "options"
                ) from None
        return cls(**groups)


def _check_names(flat: Mapping[str, Any]) -> None:
    unknown = sorted(set(flat) - set(FIELD_GROUP))
    if unknown:
        raise OptionError(
            f"unknown option(s) {', '.join(unknown)}",
            "options",
            f"use {', '.join(sorted(FIELD_GROUP))}",
        )


def _flat_schema() -> dict[str, Any]:
    """JSON schema of the flat form (what a deployment's parameters show)."""
    properties: dict[str, Any] = {}
    for group in GROUPS.values():
        properties.update(TypeAdapter(group).json_schema()["properties"])
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _field(values: Any) -> Options:
    """Options.from_mapping for pydantic: a bad value becomes a ValidationError (as Prefect's
    parameter checks and every pydantic caller expect), its message the OptionError's line."""
    try:
        return Options.from_mapping(values)
    except OptionError as exc:
        raise ValueError(str(exc)) from None


#: ``Options`` as a pydantic field: takes an Options or a flat mapping, serialises flat
OptionsField = Annotated[
    Options,
    BeforeValidator(_field),
    PlainSerializer(Options.flat, return_type=dict[str, Any]),
    WithJsonSchema(_flat_schema()),
]
