"""The training climatology and the climatology-aware hybrid baseline of ClimateModality."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from vamoh_climate import ClimateModality
from vamoh_climate import climatology as climatology_module
from vamoh_climate.baselines import block_mean
from vamoh_climate.climatology import Climatology
from vamoh_climate.synthetic import global_field

MODALITY = ClimateModality()


def _with_static_detail(n_samples: int, seed: int) -> xr.Dataset:
    """A regional field whose fine structure (a fixed 'orography' pattern) never moves."""
    lat = np.linspace(60.0, 45.0, 16)
    lon = np.linspace(-10.0, 13.5, 24)
    rng = np.random.default_rng(1)  # the same static pattern for every seed
    static = 3.0 * rng.standard_normal((16, 24))
    weather = np.random.default_rng(seed)
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    fields = [
        280.0 + 0.3 * (lat2 - 50) * weather.normal() + 0.2 * lon2 * weather.normal() + static
        for _ in range(n_samples)
    ]
    return xr.Dataset(
        {"t2m": (("time", "lat", "lon"), np.stack(fields), {"units": "K"})},
        coords={"time": np.arange(n_samples), "lat": lat, "lon": lon},
    )


def test_mean_and_channel_statistics() -> None:
    data = global_field(5, 4, 8)
    clim = Climatology.of(MODALITY.to_points(data))
    assert clim is not None
    expected = data.t2m.mean("time").values.reshape(-1)
    np.testing.assert_allclose(clim.mean[:, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(clim.offset, [float(data.t2m.mean())], rtol=1e-6)
    np.testing.assert_allclose(clim.scale, [float(data.t2m.std())], rtol=1e-5)
    assert clim.periodic and clim.domain.lon_west is None


def test_state_is_json_and_round_trips() -> None:
    data = global_field(3, 4, 8)
    data["t2m"][:, 0, 0] = np.nan  # a point never observed takes the channel mean
    state = MODALITY.state(MODALITY.to_points(data))
    text = json.dumps(state)
    assert "NaN" not in text
    bound = MODALITY.with_state(json.loads(text))
    assert bound.climatology is not None and bound.domain is not None
    again = Climatology.of(MODALITY.to_points(data))
    assert again is not None
    np.testing.assert_allclose(bound.climatology.mean, again.mean)
    assert bound.climatology.mean[0, 0] == pytest.approx(again.offset[0])


def test_lazy_points_are_averaged_chunk_by_chunk() -> None:
    data = global_field(6, 4, 8)
    lazy = Climatology.of(MODALITY.to_points(data.chunk({"time": 2})))
    eager = Climatology.of(MODALITY.to_points(data))
    assert lazy is not None and eager is not None
    np.testing.assert_allclose(lazy.mean, eager.mean)


def test_large_fields_keep_no_climatology(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(climatology_module, "MAX_VALUES", 10)
    state = MODALITY.state(MODALITY.to_points(global_field(2, 4, 8)))
    assert "climatology" not in state and "domain" in state
    assert MODALITY.with_state(state).climatology is None


def test_evenly_spaced_samples_bound_the_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(climatology_module, "MAX_SAMPLES", 2)
    data = global_field(5, 4, 8)
    clim = Climatology.of(MODALITY.to_points(data))
    assert clim is not None
    expected = data.t2m.isel(time=[0, 4]).mean("time").values.reshape(-1)
    np.testing.assert_allclose(clim.mean[:, 0], expected, rtol=1e-6)


def test_block_means_observe_block_means_of_the_climatology() -> None:
    fine = _with_static_detail(4, seed=0)
    clim = Climatology.of(MODALITY.to_points(fine))
    assert clim is not None
    coarse = MODALITY.to_points(block_mean(fine, 2)).layout.geometry
    expected = clim.mean.reshape(8, 2, 12, 2).mean(axis=(1, 3)).reshape(-1, 1)
    np.testing.assert_allclose(clim.observed_as(coarse), expected)
    # the training grid itself observes the climatology's own values
    same = MODALITY.to_points(fine).layout.geometry
    np.testing.assert_allclose(clim.observed_as(same), clim.mean, atol=1e-9)


def test_station_climatology_interpolates_between_stations(station_data: xr.Dataset) -> None:
    points = MODALITY.to_points(station_data)
    clim = Climatology.of(points)
    assert clim is not None and clim.kind == "points"
    lat, lon = points.layout.geometry.point_latlon()
    np.testing.assert_allclose(clim.at(lat, lon), clim.mean, atol=1e-6)
    between = clim.at(np.array([lat[:2].mean()]), np.array([lon[:2].mean()]))
    assert np.isfinite(between).all()


def _bound(train: xr.Dataset) -> tuple[ClimateModality, Climatology]:
    """The modality bound to ``train``; the engine hands interpolate data-unit values."""
    bound = MODALITY.with_state(MODALITY.state(MODALITY.to_points(train)))
    assert bound.climatology is not None
    return bound, bound.climatology


def test_interpolate_keeps_observations_and_static_detail() -> None:
    train, test = _with_static_detail(12, seed=0), _with_static_detail(2, seed=5)
    bound, clim = _bound(train)
    points = MODALITY.to_points(test)
    truth = points.samples(slice(None), dtype=np.float64)
    hidden = np.random.default_rng(0).random(truth.shape[:2])[..., None] < 0.5
    observed = np.where(hidden, np.nan, truth)
    aware = bound.interpolate(points, observed, points.coords)
    plain = MODALITY.interpolate(points, observed, points.coords)
    np.testing.assert_allclose(aware[~hidden], truth[~hidden], atol=1e-3)  # float32 coords

    def error(values: np.ndarray) -> float:
        return float(np.sqrt(np.mean((values[hidden] - truth[hidden]) ** 2)))

    # the static pattern is noise to a plain interpolation, known to the climatology
    assert error(aware) < 0.2 * error(plain)


def test_downscaling_baseline_uses_cell_means() -> None:
    train, test = _with_static_detail(12, seed=0), _with_static_detail(2, seed=5)
    bound, _ = _bound(train)
    coarse = MODALITY.to_points(block_mean(test, 2))
    fine = MODALITY.to_points(test)
    observed = coarse.samples(slice(None), dtype=np.float64)
    aware = bound.interpolate(coarse, observed, fine.coords)
    plain = MODALITY.interpolate(coarse, observed, fine.coords)
    truth = fine.samples(slice(None), dtype=np.float64)
    assert np.sqrt(np.mean((aware - truth) ** 2)) < 0.2 * np.sqrt(np.mean((plain - truth) ** 2))


def test_outside_the_training_domain_is_plain_interpolation() -> None:
    train = _with_static_detail(4, seed=0)
    bound = MODALITY.with_state(MODALITY.state(MODALITY.to_points(train)))
    far = global_field(2, 6, 12)
    points = MODALITY.to_points(far)
    observed = points.samples(slice(None), dtype=np.float64)
    np.testing.assert_allclose(
        bound.interpolate(points, observed, points.coords),
        MODALITY.interpolate(points, observed, points.coords),
    )


def test_a_bound_modality_passes_the_conformance_suite() -> None:
    from vamoh.testing import check_modality

    example = MODALITY.example_data()
    bound = MODALITY.with_state(MODALITY.state(MODALITY.to_points(example)))
    assert bound.climatology is not None
    assert "interpolate" in check_modality(bound, fit=False)


def test_a_sample_without_observations_gets_the_climatology() -> None:
    train = _with_static_detail(6, seed=0)
    bound, clim = _bound(train)
    points = MODALITY.to_points(train.isel(time=[0, 1]))
    observed = points.samples(slice(None), dtype=np.float64)
    observed[1] = np.nan
    result = bound.interpolate(points, observed, points.coords)
    np.testing.assert_allclose(result[1], clim.mean, atol=1e-3)
    assert np.isfinite(result).all()


def test_the_engines_baseline_restores_the_climatologys_full_detail() -> None:
    # through the engine's path (normalised values in, data units inside the modality): a field
    # that is the climatology plus a constant comes back exactly from its 2x2 block means.
    # A climatology on the wrong scale kept only 1/scale of the static detail (a real bug).
    from vamoh.normalisation import Normaliser

    train = _with_static_detail(12, seed=0)
    bound, clim = _bound(train)
    truth = train.isel(time=[0, 1]).copy(data=None)
    truth["t2m"].values[:] = clim.mean[:, 0].reshape(16, 24) + np.array([1.5, -2.0])[:, None, None]
    normaliser = Normaliser.fit("standard", MODALITY.to_points(train).values)
    coarse = MODALITY.to_points(block_mean(truth, 2))
    fine = MODALITY.to_points(truth)
    observed = normaliser.forward(coarse.samples(slice(None), dtype=np.float64))
    base = normaliser.inverse(normaliser.baseline(bound, coarse, observed, fine.coords))
    np.testing.assert_allclose(base, fine.samples(slice(None), dtype=np.float64), atol=2e-3)
