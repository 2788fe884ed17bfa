"""check_modality itself: it passes a correct modality and names each broken rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from vamoh.coordinates import BoxCoordinates
from vamoh.modality import Modality
from vamoh.pointset import PointSet
from vamoh.testing import check_modality


class Profiles(Modality):
    """A correct minimal modality: DataArrays ``(sample, x)`` with x in [0, 1]."""

    name = "profiles-test"
    coordinate_system = BoxCoordinates(lower=[0.0], upper=[1.0])

    def can_handle(self, data: Any) -> float:
        return 0.5 if isinstance(data, xr.DataArray) and data.dims == ("sample", "x") else 0.0

    def to_points(self, data: Any, *, variables: Any = None, sample_dim: Any = None) -> PointSet:
        if not isinstance(data, xr.DataArray) or data.dims != ("sample", "x"):
            raise ValueError("profiles need a DataArray with dims ('sample', 'x')")
        coords = self.coordinate_system.to_model(data["x"].values[:, None])
        units = data.attrs.get("units")
        return PointSet(coords, data.data[..., None], (data.name,), (units,), layout=data)

    def from_points(self, points: PointSet) -> xr.Dataset:
        like = points.layout
        same = points.n_samples == like.sizes["sample"]
        out = xr.Dataset(coords=like.coords if same else {"x": like["x"]})
        for i, channel in enumerate(points.channels):
            mine = channel == like.name or channel.startswith(f"{like.name}_")
            attrs = dict(like.attrs) if mine else {}
            if channel == f"{like.name}_std":
                attrs["long_name"] = f"standard deviation of {like.name}"
            out[channel] = (("sample", "x"), points.values[..., i], attrs)
        return out

    def example_data(self) -> xr.DataArray:
        values = np.random.default_rng(0).normal(size=(3, 6))
        return xr.DataArray(
            values,
            dims=("sample", "x"),
            coords={"x": np.linspace(0.0, 1.0, 6), "label": ("sample", ["a", "b", "c"])},
            name="depth",
            attrs={"units": "m"},
        )

    def invalid_examples(self) -> list[tuple[Any, type[Exception]]]:
        return [(np.zeros(3), ValueError)]


def test_a_correct_modality_passes_every_check() -> None:
    passed = check_modality(Profiles(), fit=False)
    assert "round trip" in passed and "invalid inputs" in passed and "dask stays lazy" in passed
    assert "refine" not in passed  # not implemented: the check does not apply


class DropsAttrs(Profiles):
    def from_points(self, points: PointSet) -> xr.Dataset:
        out = super().from_points(points)
        for variable in out.data_vars.values():
            variable.attrs.clear()
        return out


class SwapsDims(Profiles):
    def from_points(self, points: PointSet) -> xr.Dataset:
        return super().from_points(points).transpose("x", "sample")


class ChangesCoordinates(Profiles):
    def from_points(self, points: PointSet) -> xr.Dataset:
        out = super().from_points(points)
        return out.assign_coords(x=out["x"].values.astype(np.float32))


class OutOfRange(Profiles):
    coordinate_system = BoxCoordinates(lower=[0.25], upper=[0.75])


class WrongSupport(Profiles):
    likelihood = "bernoulli"
    normalisation = "none"


class UnknownLikelihood(Profiles):
    likelihood = "no-such-likelihood"


class AcceptsBadInput(Profiles):
    def invalid_examples(self) -> list[tuple[Any, type[Exception]]]:
        return [(self.example_data(), ValueError)]


class RaisesTheWrongError(Profiles):
    def invalid_examples(self) -> list[tuple[Any, type[Exception]]]:
        return [(np.zeros(3), KeyError)]


class MutatesInput(Profiles):
    def to_points(self, data: Any, **kwargs: Any) -> PointSet:
        if isinstance(data, xr.DataArray):
            data.attrs["touched"] = True
        return super().to_points(data, **kwargs)


class LoadsDask(Profiles):
    def to_points(self, data: Any, **kwargs: Any) -> PointSet:
        points = super().to_points(data, **kwargs)
        return points.with_values(np.asarray(points.values))


class ForgetsStd(Profiles):
    def from_points(self, points: PointSet) -> xr.Dataset:
        out = super().from_points(points)
        for name in out.data_vars:
            if str(name).endswith("_std"):
                out[name].attrs.pop("long_name", None)
        return out


class NoNewSampleDim(Profiles):
    def from_points(self, points: PointSet) -> xr.Dataset:
        out = super().from_points(points)
        same = points.n_samples == points.layout.sizes["sample"]
        return out if same else out.rename(sample="draw")


class ClaimsEverything(Profiles):
    def can_handle(self, data: Any) -> float:
        return 0.5


class UnsavableState(Profiles):
    def state(self, points: PointSet) -> dict[str, Any]:
        return {"span": object()}


class BadInterpolation(Profiles):
    def interpolate(self, points: PointSet, observed: np.ndarray, query: np.ndarray) -> np.ndarray:
        return np.zeros((observed.shape[0], query.shape[0], observed.shape[2]))


class NoExample(Modality):
    name = "no-example"

    def can_handle(self, data: Any) -> float:
        return 0.0


@pytest.mark.parametrize(
    ("modality", "check", "hint"),
    [
        (DropsAttrs(), "round trip", "attrs"),
        (SwapsDims(), "round trip", "dims"),
        (ChangesCoordinates(), "round trip", "coordinate 'x'"),
        (OutOfRange(), "coordinates in range", "outside"),
        (WrongSupport(), "likelihood support", "Bernoulli"),
        (UnknownLikelihood(), "attributes", "not available"),
        (AcceptsBadInput(), "invalid inputs", "accepted"),
        (RaisesTheWrongError(), "invalid inputs", "subclass ValueError"),
        (MutatesInput(), "input not modified", "never mutate"),
        (LoadsDask(), "dask stays lazy", "lazy"),
        (ForgetsStd(), "derived channels", "standard deviation"),
        (NoNewSampleDim(), "new sample dimension", "'sample'"),
        (ClaimsEverything(), "can_handle", "unrelated"),
        (UnsavableState(), "coordinate system", "JSON"),
        (BadInterpolation(), "interpolate", "observed values"),
        (NoExample(), "example data", "example_data()"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Modality) else None,
)
def test_each_broken_rule_is_named(modality: Modality, check: str, hint: str) -> None:
    with pytest.raises(AssertionError) as info:
        check_modality(modality, fit=False)
    message = str(info.value)
    assert f"fails '{check}'" in message, message
    assert hint in message, message
    assert repr(modality.name) in message


def test_a_fit_that_fails_is_named() -> None:
    # Profiles.from_points gives what its own to_points refuses, so the fit's validation report
    # fails: the message names the check and carries the modality's own reason
    with pytest.raises(AssertionError, match=r"fails 'fit and reconstruct'.*profiles need"):
        check_modality(Profiles(), fit=True)
