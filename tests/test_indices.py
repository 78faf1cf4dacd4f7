import numpy as np
import pytest

from geoseg import indices
from geoseg.errors import GeosegError


def _bands(**values: list[float]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float32).reshape(1, -1) for k, v in values.items()}


def test_ndvi_and_ndwi_by_hand() -> None:
    b = _bands(B04=[0.1, 0.2], B08=[0.5, 0.2], B03=[0.3, 0.1])
    valid = np.ones((1, 2), dtype=bool)
    out = indices.compute(["NDVI", "NDWI"], b, valid)
    np.testing.assert_allclose(out[0, 0], [(0.5 - 0.1) / 0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(out[1, 0], [(0.3 - 0.5) / 0.8, (0.1 - 0.2) / 0.3], rtol=1e-6)


def test_zero_denominator_and_nodata_give_zero_not_nan() -> None:
    b = _bands(
        B04=[0.0, 0.3, np.nan],
        B08=[0.0, 0.5, 0.4],
        B03=[0.0, 0.0, 0.1],
        B11=[0.0, 0.1, 0.1],
        B02=[0.0, 0.1, 0.1],
    )
    valid = np.array([[True, False, True]])
    out = indices.compute(list(indices.REGISTRY), b, valid)
    assert np.isfinite(out).all()
    assert (out[:, 0, 0] == 0).all()  # 0/0
    assert (out[:, 0, 1] == 0).all()  # invalid pixel propagates as 0


def test_indices_fill_a_given_array_in_place() -> None:
    """The model input's index channels are written where they live (no temporary stack), every
    pixel overwritten: stale values and NaN in the buffer never survive."""
    b = _bands(B04=[0.1, 0.2, 0.3], B08=[0.5, 0.2, 0.1], B03=[0.3, 0.1, 0.2])
    valid = np.array([[True, False, True]])
    buf = np.full((3, 1, 3), np.nan, dtype=np.float32)
    got = indices.compute(["NDVI", "NDWI"], b, valid, out=buf[1:])
    assert got is not None and np.shares_memory(got, buf)
    np.testing.assert_array_equal(buf[1:], indices.compute(["NDVI", "NDWI"], b, valid))
    assert np.isnan(buf[0]).all()  # nothing written outside
    with pytest.raises(ValueError, match="float32"):
        indices.compute(["NDVI"], b, valid, out=np.zeros((2, 1, 3), dtype=np.float32))


def test_evi_is_clipped_to_its_range() -> None:
    # denominator close to zero: N + 6R - 7.5B + 1 = 1e-4
    b = _bands(B08=[0.5], B04=[0.0], B02=[(1.5 - 1e-4) / 7.5])
    out = indices.compute(["EVI"], b, np.ones((1, 1), dtype=bool))
    assert out[0, 0, 0] == pytest.approx(1.0)


def test_required_bands_in_first_use_order() -> None:
    assert indices.required_bands(["NDVI", "NDWI", "MNDWI"]) == ["B08", "B04", "B03", "B11"]


def test_unknown_index_is_a_user_error() -> None:
    with pytest.raises(GeosegError, match="unknown spectral index"):
        indices.get("FOO")
