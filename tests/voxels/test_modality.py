"""The voxels modality: detection, exact round trips, refinement, sampling, defaults."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh.detection import detect_modality
from vamoh.pointset import PointSet
from vamoh.testing import check_modality
from vamoh_voxels import OccupancyArrayError, VoxelModality, occupancy_dataset
from vamoh_voxels.modality import BALANCE_OCCUPANCY, CONDITIONING

from .conftest import make_shapes


@pytest.fixture
def modality() -> VoxelModality:
    return VoxelModality()


def test_registered_and_detected(shapes: xr.Dataset) -> None:
    assert isinstance(vamoh.plugins.modalities()["voxels"], VoxelModality)
    assert detect_modality(shapes).name == "voxels"
    assert detect_modality(shapes.occupancy).name == "voxels"


def test_can_handle_scores(modality: VoxelModality, shapes: xr.Dataset) -> None:
    assert modality.can_handle(shapes) == 1.0
    assert modality.can_handle(shapes.rename(occupancy="field")) == pytest.approx(0.7)
    soft = shapes.occupancy * 0.5
    assert modality.can_handle(soft) == pytest.approx(0.8)  # occupancy-like, not binary
    assert modality.can_handle(shapes.occupancy.chunk()) == pytest.approx(0.8)  # lazy: no peek
    assert modality.can_handle(shapes * 300.0) == 0.0  # a 3-D field, not occupancy
    assert modality.can_handle(shapes.rename(x="lon")) == 0.0
    assert modality.can_handle(shapes.expand_dims(view=2)) == 0.0
    assert modality.can_handle(np.ones((2, 4, 4, 4))) == 0.0


def test_round_trip_dataset_exact(modality: VoxelModality, shapes: xr.Dataset) -> None:
    points = modality.to_points(shapes)
    assert points.values.shape == (16, 16**3, 1)
    assert points.coords.shape == (16**3, 3)
    assert points.coords.min() == -1.0 and points.coords.max() == 1.0
    assert points.channels == ("occupancy",) and points.units == (None,)
    assert modality.from_points(points).identical(shapes)


def test_round_trip_keeps_dims_order_coords_and_attrs(modality: VoxelModality) -> None:
    base = occupancy_dataset(make_shapes(3, 6), labels=["a", "b", "c"])
    odd = base.transpose("z", "shape", "y", "x").assign_coords(synset=("shape", ["1", "1", "2"]))
    odd.occupancy.attrs["units"] = "1"
    odd.attrs["note"] = "kept"
    points = modality.to_points(odd)
    # column 0 is x whatever the dims order
    xs = points.coords[:, 0].reshape(6, 6, 6)
    assert np.all(xs[0] == -1.0) and np.all(xs[-1] == 1.0)
    back = modality.from_points(points)
    assert back.identical(odd)
    assert back.occupancy.dims == ("z", "shape", "y", "x")


def test_single_grid_without_sample_dim(modality: VoxelModality) -> None:
    grid = occupancy_dataset(make_shapes(1, 6)).isel(shape=0, drop=True)
    points = modality.to_points(grid)
    assert points.n_samples == 1
    assert modality.from_points(points).identical(grid)
    more = modality.from_points(points.with_values(np.repeat(points.samples([0]), 3, axis=0)))
    assert more.occupancy.dims == ("sample", "x", "y", "z") and more.sizes["sample"] == 3


def test_unnamed_dataarray_and_integer_values(modality: VoxelModality) -> None:
    da = xr.DataArray(make_shapes(2, 5).astype(np.uint8), dims=("shape", "x", "y", "z"))
    points = modality.to_points(da)
    assert points.channels == ("occupancy",)
    assert points.samples([0]).dtype == np.float32
    back = modality.from_points(points)
    np.testing.assert_array_equal(back.occupancy.values, da.values)
    assert "x" not in back.coords  # no coordinate is invented


def test_engine_channels(modality: VoxelModality, shapes: xr.Dataset) -> None:
    points = modality.to_points(shapes.isel(shape=slice(0, 2)))
    values = points.samples(slice(None))
    out = modality.from_points(
        PointSet(
            coords=points.coords,
            values=np.concatenate([values, values * 0.1, values[..., :1]], axis=-1),
            channels=("occupancy", "occupancy_std", "component"),
            units=(None, None, None),
            layout=points.layout,
        )
    )
    assert out.occupancy_std.attrs["long_name"] == "standard deviation of voxel occupancy"
    assert out.component.attrs == {}
    assert out.shape.values.tolist() == ["s0", "s1"]
    drawn = modality.from_points(points.with_values(np.repeat(values, 3, axis=0)))
    assert drawn.occupancy.dims == ("sample", "x", "y", "z") and "shape" not in drawn.coords


def test_several_variables(modality: VoxelModality) -> None:
    ds = occupancy_dataset(make_shapes(2, 5))
    ds["surface"] = ds.occupancy * 0
    points = modality.to_points(ds)
    assert points.channels == ("occupancy", "surface")
    assert modality.from_points(points).identical(ds)
    assert modality.to_points(ds, variables=["surface"]).channels == ("surface",)


def test_lazy_stays_lazy(modality: VoxelModality, shapes: xr.Dataset) -> None:
    points = modality.to_points(shapes.chunk({"shape": 4}))
    assert hasattr(points.values, "dask")
    np.testing.assert_array_equal(points.samples([3]), modality.to_points(shapes).samples([3]))


def test_bad_inputs(modality: VoxelModality, shapes: xr.Dataset) -> None:
    with pytest.raises(OccupancyArrayError, match=r"missing \['x'\]"):
        modality.to_points(shapes.rename(x="i"))
    with pytest.raises(OccupancyArrayError, match=r"values in \[0.0, 2.0\]"):
        modality.to_points(shapes * 2)
    with pytest.raises(OccupancyArrayError, match=r"spans \[0.0, 15.0\].*drop_vars"):
        modality.to_points(shapes.assign_coords(x=np.arange(16.0)))
    with pytest.raises(OccupancyArrayError, match="several dims"):
        modality.to_points(shapes.expand_dims(view=2))
    assert modality.to_points(shapes.rename(shape="item"), sample_dim="item").n_samples == 16
    with pytest.raises(OccupancyArrayError, match="one sample dimension"):
        modality.to_points(shapes, sample_dim=["shape", "x"])
    with pytest.raises(OccupancyArrayError, match="not a dimension"):
        modality.to_points(shapes, sample_dim="time")
    with pytest.raises(OccupancyArrayError, match="no occupancy variable"):
        modality.to_points(shapes, variables=["density"])
    with pytest.raises(TypeError, match="occupancy_dataset"):
        modality.to_points(np.ones((1, 4, 4, 4)))
    with pytest.raises(ValueError, match="VoxelLayout"):
        modality.from_points(PointSet(np.zeros((1, 3)), np.zeros((1, 1, 1)), ("o",), (None,)))
    with pytest.raises(ValueError, match="points_per_sample"):
        VoxelModality(points_per_sample=0)


def test_refine_contains_the_original_points(modality: VoxelModality, shapes: xr.Dataset) -> None:
    data = shapes.isel(shape=slice(0, 2)).transpose("x", "shape", "z", "y")
    fine = modality.refine(data, factor=2)
    assert fine.occupancy.dims == ("x", "shape", "z", "y")
    assert dict(fine.sizes) == {"x": 31, "shape": 2, "z": 31, "y": 31}
    assert fine.shape.values.tolist() == ["s0", "s1"]
    assert fine.occupancy.attrs == data.occupancy.attrs and fine.attrs == data.attrs
    assert bool(fine.occupancy.isnull().all())
    coarse_points = {tuple(p) for p in modality.to_points(data).coords.tolist()}
    fine_points = {tuple(p) for p in modality.to_points(fine).coords.tolist()}
    assert coarse_points <= fine_points
    same = fine.sel(x=data.x, y=data.y, z=data.z)
    assert same.sizes["x"] == 16


def test_refine_to_sizes_and_templates(modality: VoxelModality, shapes: xr.Dataset) -> None:
    assert modality.refine(shapes, to=32).sizes["x"] == 32
    assert dict(modality.refine(shapes, to=(20, 21, 31)).sizes)["z"] == 31
    target = occupancy_dataset(np.ones((1, 9, 9, 9)))
    like = modality.refine(shapes.occupancy, to=target)
    assert isinstance(like, xr.DataArray) and like.name == "occupancy"
    np.testing.assert_array_equal(like.x.values, target.x.values)
    with pytest.raises(ValueError, match="exactly one"):
        modality.refine(shapes)
    with pytest.raises(ValueError, match="three"):
        modality.refine(shapes, to=(4, 4))


def test_big_refinement_is_lazy(modality: VoxelModality) -> None:
    data = occupancy_dataset(np.ones((40, 4, 4, 4)))
    fine = modality.refine(data, to=80)  # 40 * 80^3 > 16M points
    assert hasattr(fine.occupancy.data, "dask")


def test_interpolate_trilinear_and_fallback(modality: VoxelModality, shapes: xr.Dataset) -> None:
    points = modality.to_points(shapes.isel(shape=slice(0, 3)))
    values = points.samples(slice(None)).astype(np.float64)
    at_points = modality.interpolate(points, values, points.coords)
    np.testing.assert_allclose(at_points, values, atol=1e-6)
    fine = modality.to_points(modality.refine(shapes.isel(shape=slice(0, 3)), factor=2))
    between = modality.interpolate(points, values, fine.coords)
    assert between.shape == (3, fine.n_points, 1)
    assert between.min() >= 0.0 and between.max() <= 1.0
    gappy = values.copy()
    gappy[:, ::2] = np.nan
    filled = modality.interpolate(points, gappy, points.coords)
    assert np.isfinite(filled).all()


def test_balanced_sampling() -> None:
    values = np.zeros((2, 1000, 1))
    values[:, :30] = 1.0
    values[1, 500:] = np.nan
    rng = np.random.default_rng(0)
    balanced = VoxelModality(balance_occupancy=True).sample_points(values, 100, rng)
    assert balanced.shape == (2, 100)
    picked = np.take_along_axis(values[..., 0], balanced, axis=1)
    assert picked.sum(axis=1).tolist() == [30.0, 30.0]  # all occupied, topped up with empty
    assert np.isfinite(picked).all()
    assert all(len(set(row)) == 100 for row in balanced.tolist())
    uniform = VoxelModality(balance_occupancy=False).sample_points(values, 100, rng)
    assert np.take_along_axis(values[..., 0], uniform, axis=1).sum() < 30
    values[:, :600] = 1.0
    values[1, 500:] = np.nan
    half = VoxelModality(balance_occupancy=True).sample_points(values, 100, rng)
    assert np.take_along_axis(values[..., 0], half, axis=1)[0].sum() == 50


def test_default_config_scales_down(modality: VoxelModality, shapes: xr.Dataset) -> None:
    small = modality.default_config(modality.to_points(shapes))
    assert small["likelihood"] == "bernoulli" and small["points_per_sample"] == 4096
    assert small["encoder_centroids"] == [512, 64, 8, 8, 8]
    assert small["dim_z"] == 32 and small["n_components"] == 3 and small["flow_layers"] == 40
    assert small["conditioning"] == CONDITIONING == "global"
    assert modality.balance_occupancy is BALANCE_OCCUPANCY is True
    vamoh.VaMoHConfig().replace(**small).validate()
    big = modality.to_points(occupancy_dataset(np.ones((1, 32, 32, 32))))
    config = modality.default_config(big)
    assert config["encoder_centroids"][0] in (1024, 4096)  # CPU or GPU
    tiny = modality.default_config(modality.to_points(modality.example_data()))
    assert tiny["encoder_centroids"][0] <= 216 // 8 + 1
    assert all(k <= 216 for k in tiny["encoder_neighbours"])
    vamoh.VaMoHConfig().replace(**tiny).validate()


def test_conformance_suite(modality: VoxelModality) -> None:
    passed = check_modality(modality, fit=False)
    assert {"round trip", "refine", "interpolate", "invalid inputs", "dask stays lazy"} <= set(
        passed
    )
