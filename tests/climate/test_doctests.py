"""Every docstring Example in vamoh_climate runs and passes."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import vamoh_climate

matplotlib.use("Agg")

MODULES = sorted(
    [vamoh_climate.__name__]
    + [f"{vamoh_climate.__name__}.{m.name}" for m in pkgutil.iter_modules(vamoh_climate.__path__)]
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    import matplotlib.pyplot as plt

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    plt.close("all")
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_every_public_function_has_an_example() -> None:
    missing = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if callable(obj) and getattr(obj, "__module__", name) == name:
                if ">>>" not in (obj.__doc__ or ""):
                    missing.append(f"{name}.{attr}")
    assert not missing, f"public objects without a docstring example: {missing}"
