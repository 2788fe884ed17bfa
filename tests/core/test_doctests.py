"""Every docstring example in vamoh's modules runs."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import vamoh

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(vamoh.__path__, prefix="vamoh.") if m.name != "vamoh.cli"
) + ["vamoh", "vamoh.cli"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
