"""The stratified area estimator against the published example of Olofsson et al. (2014)."""

import numpy as np
import pytest

from geoseg.core.area_estimate import error_matrix, estimate_areas
from geoseg.errors import InputError

# Olofsson et al. 2014 (RSE 148: 42-57), section 5: sample counts (rows map, columns reference)
# and mapped areas in 30 m pixels (0.09 ha) for deforestation, forest gain, stable forest and
# stable non-forest.
COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
PIXELS = np.array([200_000, 150_000, 3_200_000, 6_450_000])
NAMES = ["deforestation", "forest_gain", "stable_forest", "stable_non_forest"]


def test_olofsson_2014_published_areas_and_intervals() -> None:
    est = estimate_areas(COUNTS, PIXELS * 0.09, NAMES, mapped_pixels=PIXELS)
    t = est.table.set_index("class_name")
    # published: 21,158 ± 6,158 ha; 11,686 ± 3,756; 285,770 ± 15,510; 581,386 ± 16,282 (95 %)
    np.testing.assert_allclose(t.estimated_area_ha, [21_158, 11_686, 285_770, 581_386], atol=0.5)
    # the paper multiplies the standard errors by z = 1.96 (we use the exact 1.959964...)
    np.testing.assert_allclose(1.96 * t.se_ha, [6_158, 3_756, 15_510, 16_282], atol=0.5)
    np.testing.assert_allclose(t.ci_ha, 1.959964 * t.se_ha, rtol=1e-6)
    # published user's accuracies 0.88, 0.73, 0.93, 0.96 and overall accuracy 0.95
    np.testing.assert_allclose(t.users_accuracy, [0.88, 0.73, 0.93, 0.96], atol=0.005)
    assert est.overall_accuracy == pytest.approx(0.95, abs=0.005)
    # the estimates redistribute the mapped area: the total is unchanged
    assert t.estimated_area_ha.sum() == pytest.approx(PIXELS.sum() * 0.09)
    assert t.mapped_area_ha["deforestation"] == pytest.approx(18_000)
    assert list(t.mapped_pixels) == list(PIXELS)


def test_hand_checked_three_strata() -> None:
    # 60/30/10 ha mapped; stratum 0: 8 of 10 points really class 0, 2 class 1; stratum 1: 1 class
    # 0, 9 class 1; stratum 2: 5 of 5 correct.
    counts = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 5]])
    est = estimate_areas(counts, [60.0, 30.0, 10.0], ["a", "b", "c"])
    t = est.table
    # class a: 100 * (0.6 * 0.8 + 0.3 * 0.1) = 51 ha; b: 100 * (0.6 * 0.2 + 0.3 * 0.9) = 39 ha
    np.testing.assert_allclose(t.estimated_area_ha, [51.0, 39.0, 10.0])
    # SE(a) = 100 * sqrt(0.36 * 0.8 * 0.2 / 9 + 0.09 * 0.1 * 0.9 / 9) = 100 * sqrt(0.0073)
    assert t.se_ha[0] == pytest.approx(100 * np.sqrt(0.0073))
    assert t.se_ha[2] == 0.0  # every point of stratum c agrees and no other stratum holds c
    assert t.ci_low_ha[0] == pytest.approx(51 - 1.959964 * 100 * np.sqrt(0.0073), rel=1e-6)
    # user's accuracy = diagonal share of the stratum; overall accuracy = 0.6*.8+.3*.9+.1*1
    np.testing.assert_allclose(t.users_accuracy, [0.8, 0.9, 1.0])
    assert est.overall_accuracy == pytest.approx(0.85)
    # producer's accuracy of a: 0.48 / 0.51
    assert t.producers_accuracy[0] == pytest.approx(0.48 / 0.51)


def test_wider_interval_at_higher_confidence() -> None:
    a = estimate_areas(COUNTS, PIXELS * 0.09, NAMES, confidence=0.95).table.ci_ha
    b = estimate_areas(COUNTS, PIXELS * 0.09, NAMES, confidence=0.99).table.ci_ha
    np.testing.assert_allclose(b / a, 2.575829 / 1.959964, rtol=1e-5)


def test_error_matrix_counts_pairs() -> None:
    cm = error_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_stratum_without_enough_points_is_an_error() -> None:
    counts = np.array([[8, 2], [0, 1]])
    with pytest.raises(InputError, match="fewer than 2 sample points"):
        estimate_areas(counts, [50.0, 50.0], ["a", "b"])
    # a class with no mapped area needs no points
    est = estimate_areas(np.array([[8, 2], [0, 0]]), [50.0, 0.0], ["a", "b"])
    assert est.table.estimated_area_ha.tolist() == pytest.approx([40.0, 10.0])
