"""Grid interpolation: biharmonic gap filling, splines, index mapping, wrapping round the globe."""

from __future__ import annotations

import numpy as np
import pytest

from vamoh_climate.interpolation import fractional_index, inpaint_biharmonic, interpolate_grid


def test_biharmonic_reproduces_planes_and_keeps_observations() -> None:
    rows, cols = np.meshgrid(np.arange(9.0), np.arange(12.0), indexing="ij")
    plane = np.stack([3.0 * rows - 2.0 * cols + 1.0, 0.5 * rows + cols])
    gappy = plane.copy()
    rng = np.random.default_rng(0)
    gappy[rng.random(plane.shape) < 0.6] = np.nan
    gappy[0, 3:7, 4:9] = np.nan  # and a hole
    filled = inpaint_biharmonic(gappy)
    np.testing.assert_allclose(filled, plane, atol=1e-5)
    seen = np.isfinite(gappy)
    assert (filled[seen] == gappy[seen]).all()


def test_biharmonic_wraps_round_a_global_grid() -> None:
    lon = np.arange(36) * 10.0
    field = np.cos(np.radians(lon))[None, None, :] * np.ones((1, 8, 1))
    gappy = field.copy()
    gappy[:, :, [34, 35, 0, 1]] = np.nan  # the seam
    wrapped = inpaint_biharmonic(gappy, periodic=True)
    flat = inpaint_biharmonic(gappy, periodic=False)
    error_wrapped = np.abs(wrapped - field).max()
    assert error_wrapped < 0.01 < np.abs(flat - field).max()


def test_biharmonic_edge_cases() -> None:
    empty = np.full((1, 3, 4), np.nan)
    assert np.isnan(inpaint_biharmonic(empty)).all()
    complete = np.arange(12.0).reshape(1, 3, 4)
    np.testing.assert_array_equal(inpaint_biharmonic(complete), complete)
    single = np.full((1, 3, 4), np.nan)
    single[0, 1, 1] = 5.0
    np.testing.assert_allclose(inpaint_biharmonic(single), 5.0)


def test_fractional_index_handles_descending_and_conventions() -> None:
    lat, lon = np.array([60.0, 50.0, 40.0]), np.array([-10.0, 0.0, 10.0])
    rows, cols = fractional_index(
        lat, lon, np.array([55.0, 40.0]), np.array([355.0, 10.0]), periodic=False
    )
    np.testing.assert_allclose(rows, [0.5, 2.0])
    np.testing.assert_allclose(cols, [0.5, 2.0])
    globe = np.arange(0.0, 360.0, 90.0)
    _, cols = fractional_index(lat, globe, np.zeros(2), np.array([-45.0, 315.0]), periodic=True)
    np.testing.assert_allclose(cols, [3.5, 3.5])


@pytest.mark.parametrize("method", ["linear", "cubic", "biharmonic"])
def test_methods_agree_on_a_smooth_field(method: str) -> None:
    lat = np.linspace(60.0, 40.0, 21)
    lon = np.linspace(-20.0, 20.0, 41)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    truth = np.sin(np.radians(3 * la)) + np.cos(np.radians(4 * lo))
    observed = truth.reshape(1, -1, 1).copy()
    observed[0, np.random.default_rng(1).random(truth.size) < 0.4] = np.nan
    out = interpolate_grid(lat, lon, observed, la.ravel(), lo.ravel(), method=method)
    assert out.shape == observed.shape
    error = out[0, :, 0] - truth.ravel()
    assert np.sqrt(np.mean(error**2)) < 0.01  # nearest fill at hull corners costs a little
    if method == "biharmonic":
        assert np.abs(error).max() < 0.01
