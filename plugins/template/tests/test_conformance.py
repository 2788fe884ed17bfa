"""The plugin passes vamoh's conformance suite and is found through its entry point."""

from __future__ import annotations

import importlib.util

import pytest
from vamoh_sensors import SensorCsvReader, SensorModality, synthetic_records

import vamoh
from vamoh.testing import check_modality


def test_entry_point_registers_modality_and_reader() -> None:
    assert isinstance(vamoh.plugins.modalities()["sensors"], SensorModality)
    assert isinstance(vamoh.plugins.readers()["sensors-csv"], SensorCsvReader)


def test_conformance_without_fit() -> None:
    passed = check_modality(SensorModality(), fit=False)
    for name in ("round trip", "invalid inputs", "refine", "derived channels", "dask stays lazy"):
        assert name in passed


def test_conformance_on_a_single_unnamed_series() -> None:
    series = synthetic_records(n_series=1, n_times=30)["temperature"].isel(sensor=0, drop=True)
    check_modality(SensorModality(), series.rename(None), fit=False)


@pytest.mark.skipif(
    importlib.util.find_spec("vamoh.api") is None, reason="vamoh's engine (vamoh.fit) is absent"
)
def test_conformance_with_a_short_fit() -> None:
    import torch

    torch.set_num_threads(1)
    assert "fit and reconstruct" in check_modality(SensorModality(), fit=True)
