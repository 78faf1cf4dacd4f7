"""Property: the GeoTIFF reader takes any small raster a user may hand it (any common dtype and
nodata, NaN/inf, UTM or lon/lat, 1×1 up to 40×40, missing, extra or unnamed bands, constant
bands) and either reads it as the file says or refuses it with a GeosegError, never another
exception. The generated rasters are shared with the pipeline property (tests/run)."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from rasterio.windows import Window

import geoseg
from geoseg.bands import canonical
from geoseg.errors import GeosegError
from geoseg.models.inputs import read_bands
from tests.conftest import make_spec

_SPEC = make_spec()
#: the bands the test bundle reads (its own plus those of its indices)
NEEDED: list[str] = read_bands(_SPEC.bands, _SPEC.indices)
#: bands a scene may hold besides the model's; None is a band without a name
EXTRA: list[str | None] = ["B01", "B09", "B10", None]
#: nodata values each dtype can hold (None: the file declares none)
NODATA: dict[str, list[float | None]] = {
    "uint8": [None, 0, 255],
    "uint16": [None, 0, 65535],
    "int16": [None, 0, -9999],
    "float32": [None, 0, -9999, float("nan")],
    "float64": [None, 0, -9999, float("nan")],
}
#: DN range of integer data: plausible reflectance at the default scale (DN / 10000)
DN_RANGE = {"uint8": (0, 255), "uint16": (0, 10000), "int16": (-300, 10000)}
#: grids: a UTM zone at 10 m, and lon/lat at about 10 m
GRIDS = {
    "EPSG:32633": from_origin(500000.0, 4750000.0, 10.0, 10.0),
    "EPSG:4326": from_origin(13.0, 42.8, 1e-4, 1e-4),
}
#: settings of every property here: reproducible in CI, no example database in the checkout
PROPERTY = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class RasterCase:
    """One generated single-file scene; its pixels follow from ``seed``."""

    dtype: str
    nodata: float | None
    width: int
    height: int
    crs: str
    bands: tuple[str | None, ...]  # band descriptions in file order; None = no description
    described: bool  # write the descriptions (else the bands are unnamed)
    constant: tuple[bool, ...]  # per band: one value everywhere
    holes: float  # share of nodata pixels (1.0: no data at all)
    specials: float  # share of NaN / ±inf pixels per band (float dtypes only)
    dn_floats: bool  # float data in DN rather than reflectance: implausible at scale 1
    seed: int

    @property
    def is_float(self) -> bool:
        return np.issubdtype(np.dtype(self.dtype), np.floating)

    def pixels(self) -> np.ndarray:
        """``(bands, height, width)`` in the case's dtype."""
        rng = np.random.default_rng(self.seed)
        shape = (len(self.bands), self.height, self.width)
        if self.is_float and not self.dn_floats:
            data = rng.uniform(0.0, 0.6, shape)
        else:
            low, high = DN_RANGE.get(self.dtype, (0, 10000))
            data = rng.integers(low, high, shape, endpoint=True).astype(np.float64)
        for i, constant in enumerate(self.constant):
            if constant:
                data[i] = data[i, 0, 0]
        hole = self.nodata if self.nodata is not None else (np.nan if self.is_float else 0)
        data[:, rng.random(shape[1:]) < self.holes] = hole  # a pixel without data in any band
        if self.is_float:
            special = rng.random(shape) < self.specials
            data[special] = rng.choice([np.nan, np.inf, -np.inf], size=int(special.sum()))
        return data.astype(self.dtype)

    def write(self, path: Path) -> np.ndarray:
        """The case as a GeoTIFF at ``path``; returns the pixels written."""
        data = self.pixels()
        meta = {
            "driver": "GTiff",
            "width": self.width,
            "height": self.height,
            "count": len(self.bands),
            "dtype": self.dtype,
            "crs": self.crs,
            "transform": GRIDS[self.crs],
            "nodata": self.nodata,
        }
        with rasterio.open(path, "w", **meta) as dst:
            dst.write(data)
            for i, name in enumerate(self.bands, start=1):
                if self.described and name is not None:
                    dst.set_band_description(i, name)
        return data

    def valid(self, data: np.ndarray, indexes: list[int]) -> np.ndarray:
        """Pixels holding data in every band of ``indexes`` (1-based), as geoseg documents it:
        not the declared nodata (integer data without one: DN 0), and finite."""
        nodata = self.nodata if self.nodata is not None or self.is_float else 0
        valid = np.ones((self.height, self.width), dtype=bool)
        for i in indexes:
            band = data[i - 1]
            if nodata is not None:
                valid &= band != nodata
            if self.is_float:
                valid &= np.isfinite(band)
        return valid


def _short(name: str) -> str:
    """``B2`` for ``B02``: another spelling users' files carry."""
    return name if name == "B8A" else f"B{int(name[1:])}"


@st.composite
def raster_cases(draw: st.DrawFn, described: bool | None = None) -> RasterCase:
    """Small scenes, mostly plausible ones (so that runs succeed), with every kind of oddity."""
    dtype = draw(st.sampled_from(sorted(NODATA)))
    layout = draw(st.sampled_from(["same"] * 3 + ["more", "fewer"]))
    names: list[str | None] = list(NEEDED)
    if layout == "fewer":
        drop = draw(st.sets(st.sampled_from(NEEDED), min_size=1, max_size=len(NEEDED) - 1))
        names = [n for n in names if n not in drop]
    elif layout == "more":
        names += draw(st.lists(st.sampled_from(EXTRA), min_size=1, max_size=3, unique=True))
    names = list(draw(st.permutations(names)))
    if draw(st.booleans()):
        names = [n if n is None else _short(n) for n in names]
    is_float = dtype.startswith("float")
    return RasterCase(
        dtype=dtype,
        nodata=draw(st.sampled_from(NODATA[dtype])),
        width=draw(st.integers(1, 40)),
        height=draw(st.integers(1, 40)),
        crs=draw(st.sampled_from(sorted(GRIDS))),
        bands=tuple(names),
        described=draw(st.sampled_from([True] * 4 + [False])) if described is None else described,
        constant=tuple(draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names)))),
        holes=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])),
        specials=draw(st.sampled_from([0.0, 0.01, 0.1])) if is_float else 0.0,
        dn_floats=is_float and draw(st.sampled_from([False] * 4 + [True])),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def test_open_scene_reads_the_file_as_it_is_or_refuses_it_with_a_geoseg_error() -> None:
    outcomes: Counter[str] = Counter()

    @settings(PROPERTY, max_examples=150)
    @given(case=raster_cases())
    def check(case: RasterCase) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "scene.tif"
            data = case.write(path)
            try:
                scene = geoseg.open_scene(path)
            except GeosegError as exc:
                outcomes["refused"] += 1
                event(f"refused: {type(exc).__name__}")
                return
            outcomes["read"] += 1
            event("read")
            with scene:
                assert (scene.grid.width, scene.grid.height) == (case.width, case.height)
                assert scene.grid.transform == GRIDS[case.crs]
                assert scene.grid.crs == rasterio.crs.CRS.from_string(case.crs)
                if case.described:
                    named = {canonical(n) for n in case.bands if n is not None}
                    assert set(scene.band_names) == named
                names = scene.band_names
                indexes = [scene.bands[n].index for n in names]
                refl, valid = scene.read(Window(0, 0, case.width, case.height), names)
            assert refl.dtype == np.float32 and np.isfinite(refl).all()
            assert np.array_equal(valid, case.valid(data, indexes))
            scale = 1.0 if case.is_float else 1e-4
            raw = data[[i - 1 for i in indexes]].astype(np.float64) * scale
            np.testing.assert_allclose(refl[:, valid], raw[:, valid], rtol=1e-6, atol=1e-7)
            assert not refl[:, ~valid].any()  # no data reads as 0

    check()
    assert outcomes["read"] and outcomes["refused"], outcomes
