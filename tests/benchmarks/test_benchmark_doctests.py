"""Every docstring example in the benchmarks package runs."""

from __future__ import annotations

import doctest
import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MODULES = [
    "benchmarks",
    "benchmarks.common",
    "benchmarks.environment",
    "benchmarks.report",
    "benchmarks.runner",
    "benchmarks.speed_training",
    "benchmarks.speed_inference",
    "benchmarks.scaling",
    "benchmarks.streaming",
    "benchmarks.climate_quality",
    "benchmarks.climate_ablations",
    "benchmarks.budget_curve",
    "benchmarks.layer_ablations",
    "benchmarks.default_fit",
    "benchmarks.deepsensor_convnp",
    "benchmarks.stations_data",
    "benchmarks.stations_quality",
    "benchmarks.images_quality",
    "benchmarks.voxels_quality",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
