"""Chunk-store identity of inputs that are not plain files: zip members, URLs, masks."""

import zipfile
from pathlib import Path

from geoseg.engine.chunkstore import file_identity, fingerprint
from geoseg.tiling import TileGrid


def test_zip_member_is_identified_by_its_archive(tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("P.SAFE/B02.jp2", b"x")
    member = f"/vsizip/{archive}/P.SAFE/B02.jp2"
    st = archive.stat()
    assert file_identity(member) == [member, st.st_size, st.st_mtime_ns]
    url = "/vsicurl/https://example.org/B02.tif"
    assert file_identity(url) == [url]


def test_masks_change_the_fingerprint(tmp_path: Path) -> None:
    band = tmp_path / "b.tif"
    band.write_bytes(b"x")
    grid = TileGrid(100, 100, 64, 16, 2)
    plain = fingerprint([str(band)], "sha", grid, ())
    assert plain == fingerprint([str(band)], "sha", grid, (), ())
    scl = fingerprint([str(band)], "sha", grid, (), ("SCL (classes 3,8,9,10)",))
    other = fingerprint([str(band)], "sha", grid, (), ("SCL (classes 3,9)",))
    assert len({plain, scl, other}) == 3
