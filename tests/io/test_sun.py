"""The shadow rule (geoseg.io.sun): a shadow is kept only where a detected cloud can cast it."""

from datetime import date

import numpy as np
import pytest

from geoseg.io import sun


def test_the_sun_at_overpass_over_norcia_in_october() -> None:
    zenith, azimuth = sun.sun_at_overpass(date(2017, 10, 18), 42.79, 13.09)
    # at 10:30 mean solar time; the real overpass is tens of minutes off: the sweep has slack
    assert zenith == pytest.approx(55, abs=4) and 140 < azimuth < 170
    south = sun.sun_at_overpass(date(2017, 10, 18), -22.9, -43.2)  # Rio: the sun to the north
    assert south[1] < 90 or south[1] > 270


def test_shadows_are_cast_away_from_the_sun_only_near_clouds() -> None:
    cloud = np.zeros((200, 200), dtype=bool)
    cloud[90:100, 90:100] = True
    cast = sun.cast_by_clouds(cloud, 30.0, (50.0, 180.0))  # sun due south: shadows fall north
    assert cast[60:90, 90:100].any()  # north of the cloud, a few cells away
    assert not cast[130:, :].any()  # south of it: toward the sun
    assert not sun.cast_by_clouds(np.zeros_like(cloud), 30.0, (50.0, 180.0)).any()
    anywhere = sun.cast_by_clouds(cloud, 30.0, None)  # no sun: any direction, bounded
    assert anywhere[130, 95] and anywhere[60, 95]


def test_product_sun_angles_win() -> None:
    assert sun.sun_from_metadata({"S2_SUN_ZENITH": "61.2", "S2_SUN_AZIMUTH": "160.5"}) == (
        61.2,
        160.5,
    )
    assert sun.sun_from_metadata({}) is None
