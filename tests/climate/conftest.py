"""Fixtures of the climate plugin's tests: tiny synthetic fields and a no-compute guard."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import dask
import pytest
import xarray as xr

from vamoh_climate.synthetic import global_field, stations


@pytest.fixture
def field() -> xr.Dataset:
    """A global ERA5-like t2m(time, latitude, longitude) in K: 4 samples on 8 x 16."""
    return global_field(4, 8, 16)


@pytest.fixture
def station_data() -> xr.Dataset:
    """Synthetic station series tas(location, time) in degC with NaN gaps."""
    return stations(6, 12)


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("dask computed something that should have stayed lazy")


@pytest.fixture
def no_compute() -> Callable[[], AbstractContextManager[None]]:
    """A context manager under which any dask computation fails the test."""

    @contextmanager
    def guard() -> Iterator[None]:
        with dask.config.set(scheduler=_refuse):
            yield

    return guard
