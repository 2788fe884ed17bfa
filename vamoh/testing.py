"""The conformance suite every modality plugin runs in its own tests: :func:`check_modality`.

A plugin's test calls ``vamoh.testing.check_modality(MyModality())``; vamoh's own test suite runs
it over every installed modality. It checks the contract of :class:`vamoh.modality.Modality`:

* ``to_points`` / ``from_points`` round trip: the same variables, values, dims order, coordinates
  (values, dtype and attrs), variable attrs, units and dataset attrs; the input is not modified.
* model coordinates are finite and lie in the coordinate system's range (``bounds`` when the
  coordinate system declares it, otherwise ``[-1, 1]``), with one column per ``dim``.
* ``state`` is JSON-able and ``with_state(state)`` maps the same data to the same coordinates.
* ``from_points`` names extra channels as the engine expects: ``<variable>_std`` takes the
  variable's units and the long name "standard deviation of ...", other channels get no units,
  and a different number of samples becomes a new ``sample`` dimension.
* the default likelihood's support matches the data after the modality's normalisation
  (``"standard"``, ``"minmax"``, ``"uint8"`` or ``"none"``): Bernoulli data in {0, 1},
  8-bit data integers in 0..255 for the discretised logistic, and so on.
* ``interpolate`` reproduces observed values at observed points; ``refine`` (when implemented)
  gives a template with more points; ``default_config`` gives valid
  :class:`~vamoh.config.VaMoHConfig` overrides.
* dask-backed data stays lazy in ``to_points``.
* with ``fit=True``: a 2-epoch ``vamoh.fit`` and a ``reconstruct`` give every variable and its
  ``<variable>_std`` back on the input's dims.

Two optional methods let a modality bring its own examples (the protocol):

``example_data() -> data``
    A tiny valid input (a few samples, a few dozen points) that ``can_handle`` claims; used when
    ``check_modality`` gets no ``sample``.
``invalid_examples() -> list[tuple[data, type[Exception]]]``
    Bad inputs, each with the error ``to_points`` documents for it (a ``ValueError`` subclass).

Every failure is an ``AssertionError`` whose message names the modality, the check and the fix.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from vamoh.config import VaMoHConfig
from vamoh.coordinates import CoordinateSystem
from vamoh.modality import Modality
from vamoh.pointset import PointSet

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["NORMALISATIONS", "check_modality"]

NORMALISATIONS = ("standard", "minmax", "uint8", "none")
# float32 model values against float64 inputs: relative agreement to single precision
_RTOL = 1e-5


def _require(condition: object, message: str) -> None:
    """``assert`` that survives ``python -O``: conformance checks must never be skipped."""
    if not condition:
        raise AssertionError(message)


class _Checks:
    """Runs named checks for one modality and turns any failure into a clear AssertionError."""

    def __init__(self, modality: Modality) -> None:
        self.modality = modality
        self.passed: list[str] = []

    def run(self, name: str, check: Callable[..., Any], *args: Any) -> Any:
        """``check(*args)``; its result, recorded as passed unless it returns ``False``."""
        try:
            result = check(*args)
        except AssertionError as exc:
            raise AssertionError(f"modality {self.modality.name!r} fails '{name}': {exc}") from exc
        except Exception as exc:
            raise AssertionError(
                f"modality {self.modality.name!r} fails '{name}': it raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if result is not False:
            self.passed.append(name)
        return result


def _as_dataset(data: Any) -> tuple[xr.Dataset, str | None]:
    """The sample as a Dataset, and the DataArray's name when the sample was an unnamed one."""
    import xarray as xr

    if isinstance(data, xr.DataArray):
        if data.name is None:
            return data.to_dataset(name="__unnamed__"), "__unnamed__"
        return data.to_dataset(), None
    if isinstance(data, xr.Dataset):
        return data, None
    raise AssertionError(
        f"the sample is a {type(data).__name__}; check_modality compares xarray objects, so "
        f"pass a Dataset or DataArray (or make example_data() return one)."
    )


def _same_attrs(left: dict[str, Any], right: dict[str, Any]) -> bool:
    if left.keys() != right.keys():
        return False
    return all(np.array_equal(np.asarray(left[k]), np.asarray(right[k])) for k in left)


def _loaded(values: Any) -> np.ndarray:
    if hasattr(values, "compute"):
        values = values.compute()
    return np.asarray(values)


def _check_attributes(modality: Modality) -> None:
    from vamoh import likelihoods

    name = modality.name
    _require(isinstance(name, str) and name, "set a non-empty class attribute `name`.")
    _require(
        name == name.lower() and " " not in name,
        f"name {name!r} must be lower-case without spaces (users type it in modality=...).",
    )
    available = likelihoods.available()
    _require(
        modality.likelihood in available,
        f"likelihood {modality.likelihood!r} is not available; choose one of {sorted(available)}.",
    )
    _require(
        modality.normalisation in NORMALISATIONS,
        f"normalisation {modality.normalisation!r} is not one of {NORMALISATIONS}.",
    )
    for error in getattr(modality, "errors", ()):
        _require(
            isinstance(error, type) and issubclass(error, ValueError),
            f"`errors` lists {error!r}; every documented error must subclass ValueError.",
        )


def _resolve_sample(modality: Modality, sample: Any) -> Any:
    if sample is not None:
        return sample
    example = getattr(modality, "example_data", None)
    _require(
        callable(example),
        "no sample to check: pass check_modality(modality, sample=data) or give the modality an "
        "example_data() method returning tiny valid data.",
    )
    return example()


def _check_detection(modality: Modality, sample: Any) -> None:
    score = float(modality.can_handle(sample))
    _require(
        0.0 < score <= 1.0,
        f"can_handle(sample) returned {score}; it must claim its own data with a score in (0, 1].",
    )
    other = float(modality.can_handle(object()))
    _require(other == 0.0, f"can_handle(object()) returned {other}; unrelated input must score 0.")


def _to_points(modality: Modality, sample: Any) -> PointSet:
    points = modality.to_points(sample)
    _require(
        isinstance(points, PointSet),
        f"to_points returned {type(points).__name__}; return a vamoh.pointset.PointSet.",
    )
    _require(
        points.n_points > 0 and points.n_samples > 0 and points.n_channels > 0,
        f"to_points gave an empty point set (samples, points, channels) = "
        f"({points.n_samples}, {points.n_points}, {points.n_channels}).",
    )
    for unit in points.units:
        _require(unit is None or isinstance(unit, str), f"units must be str or None; got {unit!r}.")
    return points


def _coordinate_system(modality: Modality, points: PointSet) -> tuple[Modality, CoordinateSystem]:
    state = modality.state(points)
    try:
        json.dumps(state)
    except (TypeError, ValueError) as exc:
        raise AssertionError(
            f"state() returned {state!r}, which is not JSON-able ({exc}); checkpoints store it "
            f"as JSON, so use numbers, strings, lists and dicts."
        ) from exc
    bound = modality.with_state(state)
    _require(
        isinstance(bound, Modality),
        f"with_state returned {type(bound).__name__}; it must return a Modality.",
    )
    system = bound.coordinate_system
    _require(
        isinstance(system, CoordinateSystem),
        "coordinate_system is not a vamoh.coordinates.CoordinateSystem (after with_state); "
        "checkpoints name it, so set it.",
    )
    return bound, system


def _check_coordinates(points: PointSet, system: CoordinateSystem) -> None:
    _require(
        points.dim == system.dim,
        f"points have {points.dim} coordinate columns but the coordinate system "
        f"{system.name!r} has dim {system.dim}.",
    )
    low, high = getattr(system, "bounds", (-1.0, 1.0))
    coords = points.coords
    _require(np.isfinite(coords).all(), "model coordinates contain NaN or inf.")
    tolerance = 1e-5 * max(1.0, abs(low), abs(high))
    outside = (coords < low - tolerance) | (coords > high + tolerance)
    _require(
        not outside.any(),
        f"{int(outside.any(axis=1).sum())} of {points.n_points} model coordinates lie outside "
        f"[{low}, {high}] (range {coords.min():.4g}..{coords.max():.4g}); map the data onto "
        f"the coordinate system's range, or declare `bounds` on the coordinate system.",
    )


def _check_state(bound: Modality, sample: Any, points: PointSet) -> None:
    again = bound.to_points(sample)
    _require(
        np.allclose(again.coords, points.coords, atol=1e-6),
        "with_state(state(points)) maps the same data to other model coordinates; the state "
        "must hold everything to_points needs to reproduce the training mapping.",
    )


def _check_round_trip(modality: Modality, sample: Any, points: PointSet) -> list[str]:
    import xarray as xr

    expected, unnamed = _as_dataset(sample)
    out = modality.from_points(points)
    _require(
        isinstance(out, xr.Dataset),
        f"from_points returned {type(out).__name__}; return an xarray.Dataset.",
    )
    if unnamed is not None:
        _require(
            len(out.data_vars) == 1,
            f"an unnamed DataArray came back as variables {list(out.data_vars)}; expected one.",
        )
        out = out.rename({next(iter(out.data_vars)): unnamed})
    names = [str(v) for v in expected.data_vars if v in out.data_vars]
    _require(
        names,
        f"from_points(to_points(x)) has none of x's variables: got {list(out.data_vars)}, "
        f"expected some of {list(expected.data_vars)}.",
    )
    for name in names:
        got, want = out[name], expected[name]
        _require(
            got.dims == want.dims,
            f"variable {name!r} comes back with dims {got.dims}; the input had {want.dims} "
            f"(keep the user's dims order).",
        )
        _require(
            _same_attrs(dict(got.attrs), dict(want.attrs)),
            f"variable {name!r} comes back with attrs {dict(got.attrs)}; the input had "
            f"{dict(want.attrs)} (keep attrs and units).",
        )
        np.testing.assert_allclose(
            _loaded(got.values).astype(np.float64),
            _loaded(want.values).astype(np.float64),
            rtol=_RTOL,
            atol=_RTOL * float(np.nanmax(np.abs(_loaded(want.values)), initial=1.0)),
            equal_nan=True,
            err_msg=f"variable {name!r} changes value in the round trip",
        )
    used_dims = {d for name in names for d in expected[name].dims}
    for coord in expected.coords:
        if not set(expected[coord].dims) <= used_dims:
            continue
        _require(
            coord in out.coords,
            f"coordinate {coord!r} is lost in the round trip; keep every coordinate along the "
            f"modelled dims.",
        )
        got, want = out.coords[coord], expected.coords[coord]
        _require(
            got.dims == want.dims and got.dtype == want.dtype,
            f"coordinate {coord!r} comes back as {got.dtype} {got.dims}; the input had "
            f"{want.dtype} {want.dims}.",
        )
        _require(
            np.array_equal(got.values, want.values, equal_nan=want.dtype.kind in "fc"),
            f"coordinate {coord!r} changes value in the round trip; it must be exact.",
        )
        _require(
            _same_attrs(dict(got.attrs), dict(want.attrs)),
            f"coordinate {coord!r} loses attrs: got {dict(got.attrs)}, had {dict(want.attrs)}.",
        )
    if unnamed is None and isinstance(sample, xr.Dataset):
        _require(
            _same_attrs(dict(out.attrs), dict(expected.attrs)),
            f"the dataset attrs come back as {dict(out.attrs)}; the input had "
            f"{dict(expected.attrs)}.",
        )
    for channel, unit in zip(points.channels, points.units):
        if channel in names:
            want_unit = expected[channel].attrs.get("units")
            _require(
                unit == (None if want_unit is None else str(want_unit)),
                f"channel {channel!r} has units {unit!r} in the point set but {want_unit!r} "
                f"in the data.",
            )
    return names


def _check_extra_channels(
    modality: Modality, sample: Any, points: PointSet, names: list[str]
) -> bool:
    """Engine-style outputs: ``<var>_std`` and a foreign channel; False when not applicable."""
    if not set(points.channels) <= set(names):
        return False  # channels are not variables (e.g. r/g/b of one image variable)
    expected, _ = _as_dataset(sample)
    values = points.samples(slice(None))  # (S, N, C)
    std_names = tuple(f"{c}_std" for c in points.channels)
    extended = PointSet(
        coords=points.coords,
        values=np.concatenate([values, np.abs(values), values[..., :1]], axis=-1),
        channels=(*points.channels, *std_names, "component"),
        units=(*points.units, *points.units, None),
        layout=points.layout,
        weights=points.weights,
        meta=points.meta,
    )
    out = modality.from_points(extended)
    for channel, std in zip(points.channels, std_names):
        _require(std in out.data_vars, f"channel {std!r} is missing from from_points' output.")
        attrs, base = out[std].attrs, expected[channel].attrs
        _require(
            attrs.get("units") == base.get("units"),
            f"{std!r} has units {attrs.get('units')!r}; it must keep {channel!r}'s units "
            f"{base.get('units')!r}.",
        )
        _require(
            str(attrs.get("long_name", "")).startswith("standard deviation"),
            f"{std!r} has long_name {attrs.get('long_name')!r}; use 'standard deviation of ...'.",
        )
        _require(
            out[std].dims == out[channel].dims,
            f"{std!r} has dims {out[std].dims} but {channel!r} has {out[channel].dims}.",
        )
    _require(
        "component" in out.data_vars and "units" not in out["component"].attrs,
        "a channel that is no variable ('component') must come back without units.",
    )
    return True


def _check_new_samples(modality: Modality, points: PointSet) -> None:
    values = points.samples(slice(None))
    more = np.concatenate([values, values[:1]], axis=0)  # one sample more than the layout's
    out = modality.from_points(points.with_values(more))
    _require(
        "sample" in out.dims and out.sizes["sample"] == more.shape[0],
        f"from_points with {more.shape[0]} samples (the data has {points.n_samples}) must add "
        f"a new integer 'sample' dimension of that length; got dims {dict(out.sizes)}.",
    )
    for name, variable in out.data_vars.items():
        _require("sample" in variable.dims, f"variable {name!r} lacks the new 'sample' dimension.")


def _check_support(modality: Modality, points: PointSet) -> None:
    from vamoh import likelihoods
    from vamoh.normalisation import Normaliser

    values = points.samples(slice(None), dtype=np.float64)
    finite = np.isfinite(values)
    _require(finite.any(), "the sample has no finite value; give data to check.")
    if modality.normalisation == "uint8":
        kept = values[finite]
        _require(
            np.all(kept == np.round(kept)) and kept.min() >= 0 and kept.max() <= 255,
            f"normalisation 'uint8' needs integers in 0..255; the data span "
            f"{kept.min():.4g}..{kept.max():.4g}.",
        )
    mapped = Normaliser.fit(modality.normalisation, values).forward(values)[finite]
    problem = likelihoods.get(modality.likelihood).support_error(mapped)
    _require(
        problem is None,
        f"likelihood {modality.likelihood!r} with normalisation {modality.normalisation!r} does "
        f"not fit the data: {problem}.",
    )


def _check_invalid_examples(modality: Modality) -> bool:
    examples = getattr(modality, "invalid_examples", None)
    if not callable(examples):
        return False
    for index, (data, error) in enumerate(examples()):
        _require(
            isinstance(error, type) and issubclass(error, ValueError),
            f"invalid example {index} declares {error!r}; documented errors subclass ValueError.",
        )
        try:
            modality.to_points(data)
        except error as exc:
            _require(str(exc).strip(), f"invalid example {index} raised {error.__name__} silently.")
            continue
        except Exception as exc:
            raise AssertionError(
                f"invalid example {index} ({type(data).__name__}) raised {type(exc).__name__}: "
                f"{exc}; the modality documents {error.__name__}."
            ) from exc
        raise AssertionError(
            f"invalid example {index} ({type(data).__name__}) was accepted by to_points; it "
            f"must raise {error.__name__}."
        )
    return True


def _check_interpolate(modality: Modality, points: PointSet) -> None:
    values = points.samples(slice(None)).astype(np.float64)
    observed = values.copy()
    observed[:, 1::2, :] = np.nan  # hide every other point
    result = np.asarray(modality.interpolate(points, observed, points.coords))
    _require(
        result.shape == values.shape,
        f"interpolate returned shape {result.shape}; expected (S, M, C) = {values.shape}.",
    )
    seen = np.isfinite(observed)
    scale = float(np.nanmax(np.abs(values), initial=1.0))
    _require(
        np.allclose(result[seen], observed[seen], rtol=1e-4, atol=1e-4 * scale),
        "interpolate does not reproduce the observed values at the observed points.",
    )
    has_any = seen.any(axis=1, keepdims=True) & np.ones_like(seen)
    _require(
        np.isfinite(result[has_any]).all(),
        "interpolate returned NaN for a sample and channel that has observations.",
    )


def _check_refine(modality: Modality, bound: Modality, sample: Any, points: PointSet) -> bool:
    if type(modality).refine is Modality.refine:
        return False
    try:
        template = modality.refine(sample, factor=2)
    except NotImplementedError:
        return False
    finer = bound.to_points(template)
    _require(
        finer.n_points > points.n_points,
        f"refine(sample, factor=2) has {finer.n_points} points, not more than the sample's "
        f"{points.n_points}.",
    )
    _require(np.isfinite(finer.coords).all(), "the refined template has non-finite coordinates.")
    return True


def _check_default_config(modality: Modality, points: PointSet) -> None:
    overrides = modality.default_config(points)
    _require(
        isinstance(overrides, dict),
        f"default_config returned {type(overrides).__name__}; return a dict of VaMoHConfig fields.",
    )
    VaMoHConfig().replace(**overrides).validate()


def _check_laziness(modality: Modality, sample: Any) -> bool:
    import xarray as xr

    if not isinstance(sample, (xr.Dataset, xr.DataArray)):
        return False
    points = modality.to_points(sample.chunk())
    _require(
        hasattr(points.values, "dask") or hasattr(points.values, "compute"),
        f"to_points loaded dask-backed data into memory ({type(points.values).__name__}); keep "
        f"values lazy (xarray's .data of a chunked object is a dask array).",
    )
    return True


def _check_fit(modality: Modality, sample: Any, names: list[str]) -> None:
    import vamoh

    expected, unnamed = _as_dataset(sample)
    with tempfile.TemporaryDirectory(prefix="vamoh-conformance-") as folder:
        model = vamoh.fit(
            sample, modality=modality, max_epochs=2, progress=False, checkpoint_dir=folder
        )
    recon = model.reconstruct(sample)
    if unnamed is not None:
        first = next(name for name in recon.data_vars if not str(name).endswith("_std"))
        recon = recon.rename({first: unnamed, f"{first}_std": f"{unnamed}_std"})
    for name in names:
        for variable in (name, f"{name}_std"):
            _require(
                variable in recon.data_vars,
                f"reconstruct after a 2-epoch fit lacks {variable!r}; it has "
                f"{list(recon.data_vars)}.",
            )
            _require(
                recon[variable].dims == expected[name].dims,
                f"reconstruct gives {variable!r} dims {recon[variable].dims}; the input had "
                f"{expected[name].dims}.",
            )
        mean = _loaded(recon[name].values)
        observed = np.isfinite(_loaded(expected[name].values))
        _require(
            np.isfinite(mean[observed]).all(),
            f"reconstruct gives non-finite {name!r} where the input was observed.",
        )


def _snapshot(sample: Any) -> Any:
    return sample.copy(deep=True) if hasattr(sample, "copy") else copy.deepcopy(sample)


def _check_unchanged(sample: Any, snapshot: Any) -> None:
    identical = getattr(sample, "identical", None)
    if callable(identical):
        _require(identical(snapshot), "the sample changed during the checks; never mutate it.")


def check_modality(modality: Modality, sample: Any = None, *, fit: bool = True) -> list[str]:
    """Check that ``modality`` honours vamoh's modality contract; raise ``AssertionError`` if not.

    Args:
        modality: the modality object (as returned by the plugin's ``vamoh_modalities`` hook).
        sample: tiny valid data; defaults to ``modality.example_data()``.
        fit: also run a 2-epoch ``vamoh.fit`` and a ``reconstruct`` (needs the engine; a few
            seconds on CPU for tiny data).

    Returns:
        The names of the checks that ran (checks that do not apply, such as ``refine`` for a
        modality without it, are left out).

    Raises:
        AssertionError: naming the modality, the failed check and what to fix.

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh.coordinates import BoxCoordinates
        >>> from vamoh.modality import Modality
        >>> from vamoh.pointset import PointSet
        >>> class Profiles(Modality):
        ...     name = "profiles-example"
        ...     coordinate_system = BoxCoordinates(lower=[0.0], upper=[1.0])
        ...     def can_handle(self, data):
        ...         return 0.5 if getattr(data, "dims", None) == ("sample", "x") else 0.0
        ...     def to_points(self, data, *, variables=None, sample_dim=None):
        ...         if not isinstance(data, xr.DataArray) or data.dims != ("sample", "x"):
        ...             raise ValueError("profiles need a DataArray with dims ('sample', 'x')")
        ...         xs = self.coordinate_system.to_model(data["x"].values[:, None])
        ...         return PointSet(coords=xs, values=data.data[..., None], channels=(data.name,),
        ...                         units=(data.attrs.get("units"),), layout=data)
        ...     def from_points(self, points):
        ...         like = points.layout
        ...         out = xr.Dataset(coords={"x": like["x"]})
        ...         for i, channel in enumerate(points.channels):
        ...             attrs = dict(like.attrs) if channel.startswith(like.name) else {}
        ...             if channel == like.name + "_std":
        ...                 attrs["long_name"] = "standard deviation of " + like.name
        ...             out[channel] = (("sample", "x"), points.values[..., i], attrs)
        ...         return out
        ...     def example_data(self):
        ...         return xr.DataArray(np.random.default_rng(0).normal(size=(3, 5)),
        ...                             dims=("sample", "x"), coords={"x": np.linspace(0, 1, 5)},
        ...                             name="depth", attrs={"units": "m"})
        ...     def invalid_examples(self):
        ...         return [(np.zeros(3), ValueError)]
        >>> "round trip" in check_modality(Profiles(), fit=False)
        True
    """
    checks = _Checks(modality)
    checks.run("attributes", _check_attributes, modality)
    sample = checks.run("example data", _resolve_sample, modality, sample)
    snapshot = _snapshot(sample)
    checks.run("can_handle", _check_detection, modality, sample)
    points = checks.run("to_points", _to_points, modality, sample)
    bound, system = checks.run("coordinate system", _coordinate_system, modality, points)
    checks.run("coordinates in range", _check_coordinates, points, system)
    checks.run("state reproduces coordinates", _check_state, bound, sample, points)
    names = checks.run("round trip", _check_round_trip, modality, sample, points)
    checks.run("derived channels", _check_extra_channels, modality, sample, points, names)
    checks.run("new sample dimension", _check_new_samples, modality, points)
    checks.run("likelihood support", _check_support, bound, points)
    checks.run("invalid inputs", _check_invalid_examples, modality)
    checks.run("interpolate", _check_interpolate, modality, points)
    checks.run("refine", _check_refine, modality, bound, sample, points)
    checks.run("default_config", _check_default_config, modality, points)
    checks.run("dask stays lazy", _check_laziness, modality, sample)
    if fit:
        checks.run("fit and reconstruct", _check_fit, modality, sample, names)
    checks.run("input not modified", _check_unchanged, sample, snapshot)
    return checks.passed
