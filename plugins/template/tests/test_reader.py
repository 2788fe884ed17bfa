"""SensorCsvReader: wide and long CSV files, and the errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vamoh_sensors import SensorCsvReader, SensorDataError, SensorModality

import vamoh

LONG = """timestamp,station,temp,rh
2021-06-01T00:00,a,14.5,80
2021-06-01T01:00,a,14.1,
2021-06-01T00:30,b,15.0,77
2021-06-01T02:00,b,16.2,70
"""


def write(tmp_path: Path, text: str, name: str = "records.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_long_format_gives_sensor_by_time_with_gaps(tmp_path: Path) -> None:
    ds = SensorCsvReader().open(write(tmp_path, LONG), units={"temp": "degC"})
    assert dict(ds.sizes) == {"sensor": 2, "time": 4}
    assert ds["time"].dtype.kind == "M"
    assert ds["sensor"].values.tolist() == ["a", "b"]
    assert int(ds["temp"].isnull().sum()) == 4  # each sensor misses the other's stamps
    assert ds["temp"].attrs["units"] == "degC" and ds.attrs["source"].endswith("records.csv")
    points = SensorModality().to_points(ds)
    assert points.values.shape == (2, 4, 2)


def test_wide_format_with_numeric_time(tmp_path: Path) -> None:
    path = write(tmp_path, "t,level\n0.0,1.5\n0.5,1.7\n2.0,1.1\n")
    ds = vamoh.open_dataset(path, reader="sensors-csv")
    assert dict(ds.sizes) == {"time": 3}
    assert ds["time"].values.tolist() == [0.0, 0.5, 2.0]
    np.testing.assert_allclose(ds["level"].values, [1.5, 1.7, 1.1])


def test_guess_can_open_needs_a_time_column(tmp_path: Path) -> None:
    reader = SensorCsvReader()
    assert reader.guess_can_open(write(tmp_path, LONG))
    assert not reader.guess_can_open(write(tmp_path, "a,b\n1,2\n", "plain.csv"))
    assert not reader.guess_can_open(tmp_path / "absent.csv")
    assert not reader.guess_can_open(tmp_path / "image.png")


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("a,b\n1,2\n", {}, "no time column"),
        (LONG, {"series_column": "site"}, "no column 'site'"),
        ("time,v\nnot a date,1\n", {}, "cannot parse"),
        ("time,v\n2021-01-01,1\n2021-01-01,2\n", {}, "repeated rows"),
        ("time,name\n2021-01-01,x\n", {}, "no numeric value columns"),
        (LONG, {"variables": ["wind"]}, "no columns"),
        (LONG, {"units": {"wind": "m/s"}}, "does not hold"),
    ],
)
def test_bad_files_name_the_file(
    tmp_path: Path, text: str, kwargs: dict[str, object], message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SensorDataError, match=message) as info:
        SensorCsvReader().open(path, **kwargs)
    assert str(path) in str(info.value)
