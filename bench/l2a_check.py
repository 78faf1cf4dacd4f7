"""How a bundle maps real Level-2A data: the BigEarthNet examples beside their CORINE labels, and
a crop season of WorldCereal monthly L2A composites.

    python bench/l2a_check.py [--model BUNDLE]

BigEarthNet patches carry patch-level CORINE 2018 labels only (no pixel reference), so this is a
plausibility check, not an accuracy figure: it prints each patch's class shares (%) next to the
CORINE classes named for it, and the processing-level warning geoseg gives.

The WorldCereal cube (Hesbaye, Belgium: intensive cropland, 100 x 100 px) holds ten cloud-free
monthly L2A composites, 2020-11 to 2021-10, without B8A (B08 stands in for it, as in the
yield-monitoring notebook): the class shares month by month show how the map follows the season.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoseg.classes import NODATA  # noqa: E402
from geoseg.io.reader import open_scene  # noqa: E402
from geoseg.models.bundle import Bundle, load_bundle  # noqa: E402
from geoseg.run.domain import assess  # noqa: E402
from tests.conftest import SHARED, classify_array  # noqa: E402

ARCHIVE = SHARED / "l2a-samples" / "bigearthnet" / "BigEarthNet-S2-Example.tar.bz2"
CUBE = SHARED / "timeseries" / "worldcereal_belgium" / "worldcereal_preprocessed_inputs.nc"
#: the cube's bands in the model's order; B8A is absent and read from B08
CUBE_BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B08", "B11", "B12"]


def shares(classes: np.ndarray, n: int) -> np.ndarray:
    valid = classes[classes != NODATA]
    return np.bincount(valid, minlength=n) / max(valid.size, 1) * 100


def worldcereal(bundle: Bundle, tmp: Path) -> None:
    """Class shares (%) of each monthly composite of the Hesbaye cube."""
    import rasterio
    import xarray as xr

    names = [c.name for c in bundle.classes]
    cube = xr.open_dataset(CUBE)
    wkt = cube["crs"].attrs["crs_wkt"]
    x, y = cube["x"].values, cube["y"].values
    transform = rasterio.transform.from_origin(x[0] - 5, y[0] + 5, 10, 10)  # pixel centres
    print("\nWorldCereal Hesbaye (cropland), monthly L2A composites, class shares %:")
    print("  month    " + " ".join(f"{n[:7]:>7}" for n in names))
    for t in cube["t"].values:
        dn = np.stack([cube[f"S2-L2A-{b}"].sel(t=t).values for b in CUBE_BANDS])
        if (dn == 65535).all():
            continue  # no cloud-free observation that month
        path = tmp / f"hesbaye_{str(t)[:7]}.tif"
        profile = {"driver": "GTiff", "width": dn.shape[2], "height": dn.shape[1]}
        profile |= {"count": len(dn), "dtype": "uint16", "nodata": 65535}
        with rasterio.open(path, "w", crs=wkt, transform=transform, **profile) as dst:
            dst.write(dn)
            dst.descriptions = tuple(bundle.spec.bands)
        classes = classify_array(path, bundle, bundle.spec.tile_size, bundle.spec.overlap, 1)
        print(f"  {str(t)[:7]}  " + " ".join(f"{v:7.1f}" for v in shares(classes, len(names))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="bundle folder (default: the shipped model)")
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    names = [c.name for c in bundle.classes]
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(tmp, filter="data")
        for patch in sorted((Path(tmp) / "BigEarthNet-S2-Example").iterdir()):
            corine = json.loads(next(patch.glob("*_labels_metadata.json")).read_text())["labels"]
            classes = classify_array(patch, bundle, bundle.spec.tile_size, bundle.spec.overlap, 1)
            pct = shares(classes, len(names))
            top = ", ".join(f"{names[i]} {pct[i]:.0f}" for i in np.argsort(-pct) if pct[i] >= 1)
            warn = "; ".join(assess(open_scene(patch), bundle)) or "no warning"
            print(f"{patch.name}\n  CORINE: {'; '.join(corine)}\n  map %:  {top}\n  {warn}")
        worldcereal(bundle, Path(tmp))


if __name__ == "__main__":
    main()
