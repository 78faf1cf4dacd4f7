"""How a scene is read: the options of :func:`geoseg.io.reader.open_scene`, declared once.

The API, the CLI, the catalogue and zonal statistics all take a :class:`ReadOptions`; unset
fields come from the file or product.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geoseg.errors import GeosegError, OptionError

if TYPE_CHECKING:
    from geoseg.io.scene import Scene


class ReadOptions(BaseModel):
    """How to read a scene; ``None`` means: as the file or product says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bands: str | dict[str, tuple[str | None, int]] | None = Field(
        None, description="band mapping, e.g. 'B02=1,B03=2,...'"
    )
    nodata: float | None = None
    offset: float | None = Field(None, description="radiometric offset in DN, e.g. -1000")
    scale: float | None = Field(None, description="reflectance per DN (default 1e-4)")
    mask: str | None = Field(None, description="mask raster: nonzero pixels are masked out")
    keep: str | None = Field(
        None, description="keep raster: only nonzero pixels are kept, the rest is masked"
    )
    aoi: str | None = Field(
        None, description="area of interest (any OGR vector, any CRS): only inside is classified"
    )
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="bounding box minx,miny,maxx,maxy: only inside is classified"
    )
    bbox_crs: str = Field("EPSG:4326", description="CRS of bbox (anything pyproj reads)")
    scl_classes: tuple[int, ...] | None = Field(
        None, description="SCL classes masked (default 3,8,9,10)"
    )
    cloud_mask: str = Field(
        "auto",
        description="clouds and shadows masked by: auto (SCL where the product has it, else "
        "csmask), scl, csmask, scl,csmask or none",
    )

    @field_validator("cloud_mask", mode="before")
    @classmethod
    def _cloud_mask(cls, value: Any) -> Any:
        from geoseg.io.masks import parse_cloud_mask

        try:
            return parse_cloud_mask(value)
        except GeosegError as exc:
            raise ValueError(f"{exc.what}; {exc.remedy}") from None

    @field_validator("scl_classes", mode="before")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        if isinstance(value, str):
            from geoseg.io.masks import parse_classes

            try:
                return parse_classes(value)
            except GeosegError as exc:  # reported as a bad read option, like the others
                raise ValueError(exc.what) from None
        return value

    @field_validator("bbox", mode="before")
    @classmethod
    def _bbox(cls, value: Any) -> Any:
        from geoseg.io.aoi import check_bbox

        return check_bbox(value)

    @field_validator("bbox_crs")
    @classmethod
    def _crs(cls, value: str) -> str:
        from geoseg.io.aoi import check_crs

        return check_crs(value)

    @field_validator("mask", "keep", "aoi", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        return str(value) if isinstance(value, PurePath) else value

    @field_validator("offset", "nodata")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and math.isnan(value):
            raise ValueError("must be a number")
        return value

    @field_validator("scale")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError("must be a number > 0")
        return value

    @classmethod
    def build(cls, values: ReadOptions | dict[str, Any] | None = None, **more: Any) -> ReadOptions:
        """Validated options from a model, a mapping and/or keywords; one-line error if bad."""
        data = values.model_dump() if isinstance(values, ReadOptions) else dict(values or {})
        data.update({k: v for k, v in more.items() if v is not None or k not in data})
        try:
            return cls.model_validate({k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else "read options"
            raise OptionError(
                f"--{name.replace('_', '-')} {err.get('input')!r} is not valid ({err['msg']})",
                None,
                "see geoseg classify --help",
            ) from exc

    def kwargs(self) -> dict[str, Any]:
        """The set options as keywords of ``open_scene`` (``bbox_crs`` only with a ``bbox``)."""
        out = self.model_dump(exclude_none=True)
        if self.bbox is None:
            out.pop("bbox_crs")
        return out

    def open(self, path: str | Path) -> Scene:
        """The scene at ``path`` read with these options, its masks set."""
        from geoseg.io.reader import open_scene

        return open_scene(path, **self.kwargs())
