"""The ``images`` modality: pixel grids in [-1, 1]^2, 8-bit or continuous values.

Data: an xarray object whose image variables have dims ``y`` and ``x``, optionally a ``channel``
(or ``band``) dim, and any sample dims (``image`` by default). Raw numpy/torch arrays go through
:func:`~vamoh_images.arrays.from_array`.

Pixel types and likelihoods:

* ``uint8``: ``discretised_logistic`` with normalisation ``"uint8"`` (0..255 onto [-1, 1]);
* float: ``continuous_bernoulli`` (or a ``float_likelihood`` of your choice) with
  normalisation ``"minmax"`` (or ``float_normalisation="none"`` for values already in [0, 1]);
* ``bool``: ``bernoulli`` with normalisation ``"none"``.

Round trip: ``from_points(to_points(ds))`` equals ``ds`` exactly (values, dtype, dims order,
coordinates, attrs). Model outputs for 8-bit images come back as ``uint8`` when every value is
finite: a posterior mean is rounded to the nearest intensity, as it is when displayed or saved
as PNG (pass ``round_uint8=False`` to keep the float mean, e.g. for PSNR to a fraction of a dB).
Float copies of 8-bit images (NaN-masked inputs from :mod:`vamoh_images.masks`, templates from
:meth:`ImageModality.refine`) carry ``pixel_dtype="uint8"`` and are treated as 8-bit data.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from vamoh.modality import Modality
from vamoh.pointset import PointSet
from vamoh.validation import check_not_empty
from vamoh_images.arrays import (
    CHANNEL_DIMS,
    IMAGE_DIM,
    PIXEL_DTYPE_ATTR,
    X_DIM,
    Y_DIM,
    as_image_dataset,
    check_pixel_dtype,
    from_array,
    image_variables,
    pixel_dtype,
    restore_pixel_dtype,
)
from vamoh_images.coordinates import PixelGridCoordinates
from vamoh_images.errors import ImageDataError, ImageShapeError, UnsupportedDtypeError
from vamoh_images.presets import image_config

__all__ = ["ImageModality"]

# dims that mean another modality's data (voxels, lat/lon grids) even when y and x are present
_FOREIGN_DIMS = {"z", "latitude", "longitude", "lat", "lon"}
_GEO_HINTS = {"latitude", "longitude", "lat", "lon", "crs", "spatial_ref"}
_LAYOUT_KIND = "vamoh_images"
_SAMPLE = "sample"


def _channel_dim(var: xr.DataArray) -> str | None:
    found = [d for d in CHANNEL_DIMS if d in var.dims]
    return found[0] if found else None


def _pixel_kind(dtype: np.dtype) -> str:
    if dtype == np.uint8:
        return "uint8"
    if dtype == np.bool_:
        return "bool"
    return "float"


def _axis_values(ds: xr.Dataset, dim: str) -> np.ndarray:
    """Native pixel-centre positions along ``dim``: its numeric coordinate, else indices."""
    if dim in ds.coords:
        values = np.asarray(ds[dim].values)
        if np.issubdtype(values.dtype, np.number):
            values = values.astype(np.float64)
            steps = np.diff(values)
            if values.size > 1 and not (np.all(steps > 0) or np.all(steps < 0)):
                raise ImageShapeError(
                    f"the {dim!r} coordinate is not strictly monotonic; pixels must lie on a grid "
                    f"(sort with .sortby({dim!r}) or drop the coordinate)."
                )
            return values
    return np.arange(ds.sizes[dim], dtype=np.float64)


class ImageModality(Modality):
    """Images (one or many channels) as fields on a 2-D pixel grid.

    Args:
        round_uint8: return model means of 8-bit images as ``uint8`` (see the module docstring).
        float_likelihood: the likelihood for float images (``"continuous_bernoulli"`` or
            ``"gaussian"``).
        float_normalisation: ``"minmax"`` (default) or ``"none"`` for float images.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> ds = from_array(np.arange(2 * 4 * 6, dtype=np.uint8).reshape(2, 4, 6))
        >>> images = ImageModality()
        >>> images.can_handle(ds)
        0.95
        >>> points = images.to_points(ds)
        >>> points.values.shape, points.channels, float(points.coords[:, 1].min())
        ((2, 24, 1), ('pixels',), -1.0)
        >>> images.from_points(points).identical(ds)
        True
    """

    name: ClassVar[str] = "images"
    likelihood: ClassVar[str] = "discretised_logistic"
    normalisation: ClassVar[str] = "uint8"
    description: ClassVar[str] = "images on a pixel grid: folders, arrays, MNIST IDX, HDF5, .mat"
    errors: ClassVar[tuple[type[Exception], ...]] = (ImageDataError,)

    def __init__(
        self,
        *,
        round_uint8: bool = True,
        float_likelihood: str = "continuous_bernoulli",
        float_normalisation: str = "minmax",
    ) -> None:
        if float_normalisation not in ("minmax", "none"):
            raise ValueError(
                f"float_normalisation must be 'minmax' or 'none'; got {float_normalisation!r}."
            )
        self.round_uint8 = round_uint8
        self.float_likelihood = float_likelihood
        self.float_normalisation = float_normalisation
        self.coordinate_system = PixelGridCoordinates()

    # -- detection -------------------------------------------------------------------------
    def can_handle(self, data: Any) -> float:
        """0.95 for 8-bit ``(image, y, x, channel)`` data, less for other dims or hints of maps.

        Example:
            >>> import numpy as np, xarray as xr
            >>> ImageModality().can_handle(xr.DataArray(np.zeros((2, 3, 3)), dims=("t", "y", "x")))
            0.7
            >>> ImageModality().can_handle(xr.DataArray(np.zeros((2, 3, 3)), dims=("x", "y", "z")))
            0.0
        """
        if not isinstance(data, (xr.Dataset, xr.DataArray)):
            shape, dtype = getattr(data, "shape", None), getattr(data, "dtype", None)
            if (
                shape is not None
                and len(shape) in (3, 4)
                and str(dtype) in ("uint8", "torch.uint8")
            ):
                return 0.3  # a bare 8-bit stack is almost surely images
            return 0.0
        ds, _ = as_image_dataset(data)
        names = image_variables(ds)
        if not names:
            return 0.0
        variables = [ds[n] for n in names]
        dims = set().union(*(v.dims for v in variables))
        if dims & _FOREIGN_DIMS:
            return 0.0
        kinds = set()
        for v in variables:
            try:
                kinds.add(_pixel_kind(check_pixel_dtype(pixel_dtype(v))))
            except UnsupportedDtypeError:
                return 0.2  # still ours, so fit reports the dtype problem and its fix
        sample_dims = dims - {Y_DIM, X_DIM, *CHANNEL_DIMS}
        if sample_dims <= {IMAGE_DIM}:
            score = 0.95 if kinds == {"uint8"} else 0.9
        elif len(sample_dims) == 1:
            score = 0.7
        else:
            score = 0.5
        hinted = set(ds.coords) & _GEO_HINTS or any(
            "grid_mapping" in v.attrs or "units" in v.attrs for v in variables
        )
        return min(score, 0.3) if hinted else score

    # -- conversion ------------------------------------------------------------------------
    def _select(self, ds: xr.Dataset, variables: list[str] | None) -> list[str]:
        names = image_variables(ds, required=variables is None)
        if variables is None:
            return names
        # a trained model names its point channels, which for RGB are `<variable>_<label>`
        by_channel = {}
        for n in names:
            chan = _channel_dim(ds[n])
            if chan and ds.sizes[chan] > 1:
                by_channel.update({f"{n}_{label}": n for label in ds[n][chan].values})
        chosen: list[str] = []
        missing = []
        for v in variables:
            found = v if v in ds.data_vars else by_channel.get(v)
            if found is None:
                missing.append(v)
            elif found not in chosen:
                chosen.append(str(found))
        if missing:
            raise ImageShapeError(
                f"variables {missing} not found; available: {list(ds.data_vars)}."
            )
        flat = [v for v in chosen if v not in names]
        if flat:
            raise ImageShapeError(f"variables {flat} lack 'y' and 'x' dims; they are not images.")
        return chosen

    def _sample_dims(self, ds: xr.Dataset, names: list[str], sample_dim: Any) -> list[str]:
        first = ds[names[0]]
        if sample_dim is None:
            found = [d for d in first.dims if d not in (Y_DIM, X_DIM, *CHANNEL_DIMS)]
        else:
            found = [sample_dim] if isinstance(sample_dim, str) else list(sample_dim)
        for n in names:
            extra = {d for d in ds[n].dims if d not in (Y_DIM, X_DIM, *CHANNEL_DIMS)}
            if extra != set(found):
                raise ImageShapeError(
                    f"variable {n!r} has dims {ds[n].dims}: expected sample dims {found} besides "
                    f"'y', 'x' and an optional 'channel'; pass sample_dim= or select variables."
                )
        return [str(d) for d in found]

    def to_points(
        self,
        data: Any,
        *,
        variables: list[str] | None = None,
        sample_dim: str | list[str] | None = None,
    ) -> PointSet:
        """Pixels as points: ``(S, H*W, C)`` values on the [-1, 1]^2 grid, lazy data kept lazy.

        Each single-channel variable is one point channel named after it; a multi-channel
        variable ``v`` gives channels ``v_<label>`` (``pixels_r, pixels_g, pixels_b``).

        Example:
            >>> import numpy as np
            >>> from vamoh_images import from_array
            >>> rgb = from_array(np.zeros((3, 4, 8, 3), np.uint8))
            >>> ps = ImageModality().to_points(rgb)
            >>> ps.channels, ps.coords[:, 0].min().round(3), ps.meta["normalisation"]
            (('pixels_r', 'pixels_g', 'pixels_b'), np.float32(-0.429), 'uint8')
        """
        ds, _ = as_image_dataset(data)
        names = self._select(ds, variables)
        sample_dims = self._sample_dims(ds, names, sample_dim)
        for n in names:
            check_not_empty(ds[n].sizes, f"variable {n!r}", ImageShapeError)
        height, width = ds.sizes[Y_DIM], ds.sizes[X_DIM]
        n_samples = math.prod(ds.sizes[d] for d in sample_dims)
        kinds, specs, blocks, channels, units = set(), [], [], [], []
        for n in names:
            var = ds[n]
            dtype = check_pixel_dtype(pixel_dtype(var), f"variable {n!r}")
            kinds.add(_pixel_kind(dtype))
            chan = _channel_dim(var)
            labels = [str(c) for c in var[chan].values] if chan else []
            if chan and len(labels) > 1:
                point_channels = [f"{n}_{c}" for c in labels]
            else:
                point_channels = [n]
            ordered = var.transpose(*sample_dims, Y_DIM, X_DIM, *([chan] if chan else []))
            blocks.append(ordered.data.reshape(n_samples, height * width, len(point_channels)))
            channels.extend(point_channels)
            unit = var.attrs.get("units")
            units.extend([None if unit is None else str(unit)] * len(point_channels))
            specs.append(
                {
                    "name": n,
                    "dims": tuple(str(d) for d in var.dims),
                    "channel_dim": chan,
                    "channel_labels": labels,
                    "point_channels": point_channels,
                    "dtype": str(dtype),
                    "attrs": dict(var.attrs),
                }
            )
        if len(kinds) > 1:
            raise UnsupportedDtypeError(
                f"variables {names} mix pixel types {sorted(kinds)}; one model has one likelihood. "
                f"Convert them to one type or fit them separately (variables=[...])."
            )
        if any(hasattr(b, "compute") and not isinstance(b, np.ndarray) for b in blocks):
            import dask.array as dsa

            values = dsa.concatenate(blocks, axis=2) if len(blocks) > 1 else blocks[0]
        else:
            values = np.concatenate(blocks, axis=2) if len(blocks) > 1 else blocks[0]
        y, x = _axis_values(ds, Y_DIM), _axis_values(ds, X_DIM)
        grid = PixelGridCoordinates.from_axes(y, x)
        kind = kinds.pop()
        likelihood, normalisation = self._likelihood_for(kind)
        layout = {
            "kind": _LAYOUT_KIND,
            "variables": specs,
            "sample_dims": sample_dims,
            "n_samples": n_samples,
            "sample_shape": [ds.sizes[d] for d in sample_dims],
            "height": height,
            "width": width,
            "model_axes": grid.axes(y, x),
            "coords": xr.Dataset(coords=ds.coords),
            "attrs": dict(ds.attrs),
        }
        return PointSet(
            coords=grid.grid(y, x),
            values=values,
            channels=tuple(channels),
            units=tuple(units),
            layout=layout,
            meta={
                "pixel_dtype": kind,
                "likelihood": likelihood,
                "normalisation": normalisation,
                "image_shape": (height, width),
            },
        )

    def _likelihood_for(self, kind: str) -> tuple[str, str]:
        if kind == "uint8":
            return "discretised_logistic", "uint8"
        if kind == "bool":
            return "bernoulli", "none"
        return self.float_likelihood, self.float_normalisation

    def from_points(self, points: PointSet) -> xr.Dataset:
        """Images back from points (see the module docstring for dtypes and channel names).

        A channel ``<variable>`` is that variable; ``<variable>_<suffix>`` (``pixels_std``,
        ``pixels_r_std``) becomes a variable ``<variable>_<suffix>`` with the same dims; any other
        channel (``component``, ``entropy``) a per-pixel variable without a channel dim.

        Example:
            >>> import numpy as np
            >>> from vamoh_images import from_array
            >>> images = ImageModality()
            >>> ps = images.to_points(from_array(np.zeros((2, 4, 4), np.uint8)))
            >>> names = ("pixels", "pixels_std", "component")
            >>> out = images.from_points(PointSet(ps.coords, np.zeros((2, 16, 3), np.float32),
            ...                                   names, (None,) * 3, layout=ps.layout))
            >>> out["pixels"].dtype, out["pixels_std"].attrs["long_name"], out["component"].dims
            (dtype('uint8'), 'standard deviation of pixels', ('image', 'y', 'x'))
        """
        layout = points.layout
        if not isinstance(layout, dict) or layout.get("kind") != _LAYOUT_KIND:
            raise ValueError(
                "these points were not made by the images modality's to_points; rebuild them "
                "with ImageModality().to_points(data)."
            )
        values = points.values
        if hasattr(values, "compute"):
            values = values.compute()
        values = np.asarray(values)
        height, width = layout["height"], layout["width"]
        n_out = values.shape[0]
        sample_dims = list(layout["sample_dims"])
        new_sample = n_out != layout["n_samples"]
        out_sample_dims = [_SAMPLE] if new_sample else sample_dims
        out_sample_shape = [n_out] if new_sample else list(layout["sample_shape"])
        grid = values.reshape(n_out, height, width, values.shape[2])  # (S, H, W, C)
        groups = self._group_channels(points.channels, layout["variables"])
        coords = layout["coords"]
        if new_sample:
            coords = coords.drop_vars(
                [c for c, v in coords.coords.items() if set(v.dims) & set(sample_dims)]
            ).assign_coords({_SAMPLE: np.arange(n_out)})
        data_vars = {}
        for out_name, (spec, suffix, slots) in groups.items():
            block = grid[..., [j for j, _ in slots]].reshape(
                *out_sample_shape, height, width, len(slots)
            )
            if spec is None:
                dims = (*out_sample_dims, Y_DIM, X_DIM)
                data_vars[out_name] = xr.Variable(dims, block[..., 0])
                continue
            chan = spec["channel_dim"]
            order = list(spec["dims"])
            if new_sample:
                order = [_SAMPLE if d in sample_dims else d for d in order]
                if _SAMPLE not in order:
                    order = [_SAMPLE, *order]
                order = list(dict.fromkeys(order))  # several sample dims collapse into one
            if chan:
                dims = (*out_sample_dims, Y_DIM, X_DIM, chan)
                var = xr.DataArray(block, dims=dims)
                labels = [label for _, label in slots]
                if labels != spec["channel_labels"]:
                    var = var.assign_coords({chan: labels})
            else:
                var = xr.DataArray(block[..., 0], dims=(*out_sample_dims, Y_DIM, X_DIM))
            var = var.transpose(*order)
            attrs = dict(spec["attrs"])
            if suffix is None:
                data = restore_pixel_dtype(
                    var.values, np.dtype(spec["dtype"]), round_uint8=self.round_uint8
                )
            else:
                attrs.pop(PIXEL_DTYPE_ATTR, None)
                if suffix == "std":
                    label = attrs.get("long_name", spec["name"])
                    attrs["long_name"] = f"standard deviation of {label}"
                float_type = np.dtype(spec["dtype"])
                if not np.issubdtype(float_type, np.floating):
                    float_type = np.dtype(np.float32)
                data = var.values.astype(float_type)
            data_vars[out_name] = xr.Variable(var.dims, data, attrs=attrs)
        out = xr.Dataset(data_vars, attrs=dict(layout["attrs"]))
        keep = {c: v for c, v in coords.coords.items() if set(v.dims) <= set(out.dims)}
        return out.assign_coords(keep)

    @staticmethod
    def _group_channels(
        channels: tuple[str, ...], specs: list[dict[str, Any]]
    ) -> dict[str, tuple[dict[str, Any] | None, str | None, list[tuple[int, str]]]]:
        """Output variable -> (its input variable spec, suffix, [(channel index, label)])."""
        base: dict[str, tuple[dict[str, Any], str]] = {}
        for spec in specs:
            labels = spec["channel_labels"] or [""]
            for point_channel, label in zip(spec["point_channels"], labels):
                base[point_channel] = (spec, label)
        by_length = sorted(base, key=len, reverse=True)
        groups: dict[str, tuple[dict[str, Any] | None, str | None, list[tuple[int, str]]]] = {}
        for j, ch in enumerate(channels):
            if ch in base:
                spec, label = base[ch]
                key, suffix = spec["name"], None
            else:
                stem = next((b for b in by_length if ch.startswith(b + "_")), None)
                if stem is None:
                    groups[ch] = (None, None, [(j, "")])
                    continue
                spec, label = base[stem]
                suffix = ch[len(stem) + 1 :]
                key = f"{spec['name']}_{suffix}"
            groups.setdefault(key, (spec, suffix, []))[2].append((j, label))
        return groups

    # -- examples for the conformance suite (vamoh.testing) -------------------------------------
    def example_data(self) -> xr.Dataset:
        """Three tiny 8-bit grey images (6x5) with labels and attrs.

        Example:
            >>> dict(ImageModality().example_data()["pixels"].sizes)
            {'image': 3, 'y': 6, 'x': 5, 'channel': 1}
        """
        yy, xx = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
        stack = np.stack([(40 * k + 8 * yy + 5 * xx) % 256 for k in range(3)]).astype(np.uint8)
        ds = from_array(stack, labels=np.array([3, 1, 4]))
        ds["pixels"].attrs["long_name"] = "intensity"
        ds.attrs["title"] = "example images"
        return ds

    def invalid_examples(self) -> list[tuple[Any, type[ValueError]]]:
        """Inputs ``to_points`` rejects, with the error each raises.

        Example:
            >>> [error.__name__ for _, error in ImageModality().invalid_examples()]
            ['UnsupportedDtypeError', 'ImageShapeError', 'ImageShapeError', 'ImageShapeError', 'UnsupportedDtypeError']
        """
        return [
            (
                xr.DataArray(np.zeros((2, 4, 4), np.int16), dims=(IMAGE_DIM, Y_DIM, X_DIM)),
                UnsupportedDtypeError,
            ),
            (
                xr.DataArray(np.zeros((2, 4, 4), np.uint8), dims=(IMAGE_DIM, "row", "col")),
                ImageShapeError,
            ),
            (["not", "an", "image"], ImageShapeError),
            (
                xr.DataArray(np.zeros((2, 0, 4), np.uint8), dims=(IMAGE_DIM, Y_DIM, X_DIM)),
                ImageShapeError,
            ),  # no rows
            (
                xr.DataArray(np.zeros((2, 4, 4)).astype(str), dims=(IMAGE_DIM, Y_DIM, X_DIM)),
                UnsupportedDtypeError,
            ),  # not numbers
        ]

    # -- fitted state ------------------------------------------------------------------------
    def state(self, points: PointSet) -> dict[str, Any]:
        """The pixel type, likelihood and normalisation the model was trained with.

        Example:
            >>> import numpy as np
            >>> from vamoh_images import from_array
            >>> ImageModality().state(ImageModality().to_points(from_array(np.zeros((1, 2, 2)))))
            {'pixel_dtype': 'float', 'likelihood': 'continuous_bernoulli', 'normalisation': 'minmax'}
        """
        meta = points.meta or {}
        return {k: meta[k] for k in ("pixel_dtype", "likelihood", "normalisation") if k in meta}

    def with_state(self, state: dict[str, Any]) -> ImageModality:
        """A copy whose ``likelihood`` and ``normalisation`` are the trained model's.

        Example:
            >>> bound = ImageModality().with_state({"likelihood": "gaussian", "normalisation": "none"})
            >>> bound.likelihood, bound.normalisation, ImageModality.normalisation
            ('gaussian', 'none', 'uint8')
        """
        bound = copy.copy(self)
        if "likelihood" in state:
            bound.likelihood = state["likelihood"]  # type: ignore[misc]
        if "normalisation" in state:
            bound.normalisation = state["normalisation"]  # type: ignore[misc]
        return bound

    # -- optional --------------------------------------------------------------------------
    def default_config(self, points: PointSet) -> dict[str, Any]:
        """Table 3 preset for the image size, scaled to the pixel count and device.

        Example:
            >>> import numpy as np
            >>> from vamoh_images import from_array
            >>> ps = ImageModality().to_points(from_array(np.zeros((4, 16, 16), np.uint8)))
            >>> cfg = ImageModality().default_config(ps)
            >>> cfg["likelihood"], max(cfg["encoder_centroids"]) <= 16 * 16
            ('discretised_logistic', True)
        """
        meta = points.meta or {}
        height, width = meta.get("image_shape", (None, None))
        if height is None:
            side = max(1, round(math.sqrt(points.n_points)))
            height, width = side, max(1, points.n_points // side)
        likelihood = meta.get("likelihood", self.likelihood)
        return image_config(int(height), int(width), likelihood=likelihood)

    def refine(self, data: Any, *, factor: Any = None, to: Any = None) -> Any:
        """A NaN template on a finer (or any) pixel grid over the same box as ``data``.

        Args:
            data: images as for :meth:`to_points`.
            factor: scale both sides by this (``2``) or by ``(fy, fx)``.
            to: the target size ``(height, width)`` (an int means square), or an xarray
                template, returned as it is.

        The new ``y``/``x`` coordinates run from the first to the last pixel centre of ``data``,
        so every output maps onto the same [-1, 1] box, whatever its size or aspect ratio.

        Example:
            >>> import numpy as np
            >>> from vamoh_images import from_array
            >>> ds = from_array(np.zeros((2, 3, 3), np.uint8))
            >>> fine = ImageModality().refine(ds, factor=2)
            >>> dict(fine["pixels"].sizes), fine["y"].values.round(3).tolist()
            ({'image': 2, 'y': 6, 'x': 6, 'channel': 1}, [0.0, 0.4, 0.8, 1.2, 1.6, 2.0])
        """
        if (factor is None) == (to is None):
            raise ValueError(
                "refine needs exactly one of factor= (e.g. 2) or to= ((height, width))."
            )
        if isinstance(to, (xr.Dataset, xr.DataArray)):
            return to
        ds, from_dataarray = as_image_dataset(data)
        names = self._select(ds, None)
        height, width = ds.sizes[Y_DIM], ds.sizes[X_DIM]
        if to is not None:
            size = (to, to) if np.isscalar(to) else tuple(to)
        else:
            fy, fx = (factor, factor) if np.isscalar(factor) else tuple(factor)
            size = (round(height * fy), round(width * fx))
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"refine needs a positive (height, width); got {size}.")
        y, x = _axis_values(ds, Y_DIM), _axis_values(ds, X_DIM)
        new_y = np.linspace(y[0], y[-1], int(size[0]))
        new_x = np.linspace(x[0], x[-1], int(size[1]))
        kept = [c for c, v in ds.coords.items() if not {Y_DIM, X_DIM} & set(v.dims)]
        template = xr.Dataset(coords={c: ds.coords[c] for c in kept}, attrs=dict(ds.attrs))
        template = template.assign_coords(
            {
                Y_DIM: (Y_DIM, new_y, ds[Y_DIM].attrs if Y_DIM in ds.coords else {}),
                X_DIM: (X_DIM, new_x, ds[X_DIM].attrs if X_DIM in ds.coords else {}),
            }
        )
        for n in names:
            var = ds[n]
            shape = [template.sizes[d] if d in (Y_DIM, X_DIM) else var.sizes[d] for d in var.dims]
            attrs = dict(var.attrs)
            attrs[PIXEL_DTYPE_ATTR] = str(pixel_dtype(var))
            template[n] = xr.Variable(var.dims, np.full(shape, np.nan, np.float32), attrs=attrs)
        if from_dataarray:
            return template[names[0]]
        return template

    def interpolate(
        self, points: PointSet, observed: np.ndarray, query_coords: np.ndarray
    ) -> np.ndarray:
        """Cubic spline interpolation on the pixel grid for complete images, IDW for gappy ones.

        Example:
            >>> import numpy as np
            >>> from vamoh_images import from_array
            >>> images = ImageModality()
            >>> ps = images.to_points(from_array(np.arange(16.0).reshape(1, 4, 4)))
            >>> images.interpolate(ps, ps.samples([0]), np.array([[0.0, 0.0]])).round(3).tolist()
            [[[7.5]]]
        """
        layout = points.layout
        observed = np.asarray(observed, dtype=np.float64)
        if not isinstance(layout, dict) or layout.get("kind") != _LAYOUT_KIND:
            return super().interpolate(points, observed, query_coords)
        from scipy.interpolate import RegularGridInterpolator
        from scipy.sparse.linalg import spsolve

        ys, xs = (np.asarray(a, dtype=np.float64) for a in layout["model_axes"])
        n_samples, _, n_channels = observed.shape
        query = np.asarray(query_coords, dtype=np.float64)
        out = np.full((n_samples, query.shape[0], n_channels), np.nan)
        complete = np.isfinite(observed).all(axis=(1, 2))
        if ys.size >= 2 and xs.size >= 2 and complete.any():
            method = "cubic" if min(ys.size, xs.size) >= 4 else "linear"
            stack = observed[complete].reshape(-1, ys.size, xs.size, n_channels)
            table = np.moveaxis(stack, 0, 2).reshape(ys.size, xs.size, -1)  # (H, W, S*C)
            # a direct solve: the default iterative one misses the data by ~1e-4 at the nodes
            solver = {"solver": spsolve} if method == "cubic" else {}
            spline = RegularGridInterpolator(
                (ys, xs), table, method=method, bounds_error=False, fill_value=None, **solver
            )
            inside = np.stack(
                [np.clip(query[:, 0], ys[0], ys[-1]), np.clip(query[:, 1], xs[0], xs[-1])], axis=-1
            )
            result = spline(inside).reshape(query.shape[0], -1, n_channels)  # (M, S', C)
            out[complete] = np.moveaxis(result, 1, 0)
        else:
            complete = np.zeros(n_samples, dtype=bool)
        if (~complete).any():
            out[~complete] = super().interpolate(points, observed[~complete], query)
        return out

    def plot(self, data: Any, **kwargs: Any) -> Any:
        """A matplotlib figure of the first images (see :func:`vamoh_images.grids.image_grid`).

        Example:
            >>> import numpy as np
            >>> from vamoh_images import from_array
            >>> fig = ImageModality().plot(from_array(np.zeros((2, 4, 4), np.uint8)))
            >>> len(fig.axes)
            2
        """
        from vamoh_images.grids import image_grid

        return image_grid({"": data}, **kwargs)
