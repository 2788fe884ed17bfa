"""Every docstring example in vamoh_voxels runs."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib.pyplot as plt
import pytest

import vamoh_voxels

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(vamoh_voxels.__path__, prefix="vamoh_voxels.")
) + ["vamoh_voxels"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    plt.close("all")
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
