"""Shared fixtures: real Sentinel-2 crops from ../shared/data and small random model bundles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.windows import Window

from geoseg.io.geotiff import open_scene
from geoseg.models.bundle import (
    Bundle,
    BundleSpec,
    ClassInfo,
    ModelSpec,
    Normalization,
    _build,
    save_bundle,
)
from geoseg.train.config import DEFAULT_BANDS
from geoseg.train.config import DW_CLASSES as DW

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DATA = SHARED / "s2-dw"
BANDS = DEFAULT_BANDS
DW_CLASSES = [(c.name, c.color) for c in DW]
#: the demo sample shipped in the repo: 348 x 299, nodata wedges at the edges (no labels)
NORCIA = REPO / "samples" / "norcia_20171018"
#: the same crop with its Dynamic World labels, in the shared data
NORCIA_LABELLED = DATA / "val" / "oscd_norcia_20171018"
BEIRUT = DATA / "train" / "oscd_beirut_20150820"  # 1013 x 1319


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop once, saying why, rather than failing every real-data test on its own."""
    if not DATA.is_dir():
        pytest.exit(
            f"the shared data folder is missing ({DATA}): the tests read real Sentinel-2 crops "
            "from ../shared/data beside this checkout; put it there (a folder or a symlink)",
            returncode=4,
        )


def make_spec(tile: int = 256, overlap: int = 32, encoder: str = "resnet18") -> BundleSpec:
    return BundleSpec(
        name="random-test",
        model=ModelSpec(
            architecture="unet_aspp",
            encoder=encoder,
            params={"decoder_channels": [64, 32, 16, 16, 8], "aspp_channels": 64},
        ),
        bands=BANDS,
        indices=["NDVI", "NDWI"],
        normalization=Normalization(
            mean=[0.12] * len(BANDS) + [0.2, -0.2], std=[0.06] * len(BANDS) + [0.3, 0.3]
        ),
        classes=[ClassInfo(id=i, name=n, color=c) for i, (n, c) in enumerate(DW_CLASSES)],
        tile_size=tile,
        overlap=overlap,
        provenance={"note": "randomly initialised, for tests"},
    )


def make_bundle(path: Path, seed: int = 0, **kw: object) -> Bundle:
    torch.manual_seed(seed)
    spec = make_spec(**kw)  # type: ignore[arg-type]
    return save_bundle(path, _build(spec), spec)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundles") / "random"
    make_bundle(path)
    return path


@pytest.fixture(scope="session")
def norcia_tif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Norcia crop as one 10-band uint16 GeoTIFF with band descriptions."""
    path = tmp_path_factory.mktemp("scenes") / "norcia.tif"
    write_stack(NORCIA, path)
    return path


def write_stack(
    crop: Path,
    path: Path,
    names: list[str] = BANDS,
    descriptions: bool = True,
    crs: bool = True,
    window: Window | None = None,
    **profile: object,
) -> Path:
    """Stack a crop's bands onto its 10 m grid as uint16 DN in one GeoTIFF."""
    scene = open_scene(crop)
    win = window or Window(0, 0, scene.grid.width, scene.grid.height)
    refl, valid = scene.read(win, names)
    dn = np.where(valid, np.round(refl * 10000), 0).astype(np.uint16)
    meta = {
        "driver": "GTiff",
        "width": int(win.width),
        "height": int(win.height),
        "count": len(names),
        "dtype": "uint16",
        "nodata": 0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    if crs:
        meta["crs"] = scene.grid.crs
        meta["transform"] = rasterio.windows.transform(win, scene.grid.transform)
    meta.update(profile)
    with rasterio.open(path, "w", **meta) as dst:
        dst.write(dn)
        if descriptions:
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
    return path


def classify_array(
    scene_path: Path,
    bundle: Bundle,
    tile: int,
    overlap: int,
    chunk_tiles: int,
    batch_size: int = 4,
    tta: bool = False,
) -> np.ndarray:
    """Run the in-process engine and assemble the class raster in memory (small crops only)."""
    from geoseg.engine.local import InProcessEngine, Job, collect, run_chunks
    from geoseg.engine.predict import Predictor
    from geoseg.tiling import TileGrid, crs_phase, edge_margin

    scene = open_scene(scene_path)
    phase = crs_phase(scene.grid.transform, tile - overlap)  # as runs anchor their tiles
    grid = TileGrid(*scene.shape, tile, overlap, chunk_tiles, edge_margin(tile, overlap), phase)
    engine = InProcessEngine(Predictor(bundle, batch_size=batch_size, tta=tta))
    return collect(run_chunks(Job(scene, grid), engine), grid)
