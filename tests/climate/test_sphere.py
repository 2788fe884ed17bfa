"""The unit-sphere coordinate system: formulas, inverse, longitude conventions, registration."""

from __future__ import annotations

import numpy as np
import pytest

import vamoh
from vamoh_climate.sphere import SphereCoordinates, wrap_longitude


def test_matches_the_paper_formula() -> None:
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-90, 90, 50), rng.uniform(-180, 360, 50)
    xyz = SphereCoordinates().latlon_to_xyz(lat, lon)
    la, lo = np.radians(lat), np.radians(lon)
    expected = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)
    np.testing.assert_allclose(xyz, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=1), 1.0, atol=1e-6)
    assert xyz.dtype == np.float32


def test_inverse_recovers_latitude_and_longitude() -> None:
    cs = SphereCoordinates()
    native = np.array([[58.0, -10.0], [-45.5, 179.0], [0.0, 0.0], [12.25, -179.75]])
    back = cs.from_model(cs.to_model(native))
    np.testing.assert_allclose(back, native, atol=1e-4)


def test_longitude_conventions_give_identical_coordinates() -> None:
    cs = SphereCoordinates()
    lat = np.linspace(-80, 80, 9)
    east = np.linspace(0, 359, 9)
    west = wrap_longitude(east)  # -180..180 labels of the same meridians
    assert (cs.latlon_to_xyz(lat, east) == cs.latlon_to_xyz(lat, west)).all()


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        SphereCoordinates().to_model(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        SphereCoordinates().from_model(np.zeros((3, 2)))


def test_registered_through_the_plugin() -> None:
    systems = vamoh.plugins.coordinate_systems()
    assert systems["sphere"] is SphereCoordinates
    assert SphereCoordinates().to_dict() == {"name": "sphere", "dim": 3}
