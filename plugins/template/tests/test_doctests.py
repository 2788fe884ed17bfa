"""Every docstring example in the plugin runs."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import vamoh_sensors

MODULES = ["vamoh_sensors"] + sorted(
    m.name for m in pkgutil.walk_packages(vamoh_sensors.__path__, prefix="vamoh_sensors.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
