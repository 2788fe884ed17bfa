"""vamoh: distributions over functions with VaMoH (Variational Mixture of HyperGenerators).

A field is a cloud of (coordinate, value) points; one trained model reconstructs, super-resolves,
in-paints and samples at any resolution in a single forward pass.

Example:
    >>> import vamoh
    >>> isinstance(vamoh.__version__, str)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vamoh import plugins
from vamoh._version import __version__
from vamoh.backbone.observations import Footprints
from vamoh.config import VaMoHConfig
from vamoh.detection import open_dataset
from vamoh.modality import Modality, Reader
from vamoh.pointset import PointSet
from vamoh.versions import show_versions

if TYPE_CHECKING:
    from vamoh.api import Model, load
    from vamoh.fitting import fit
    from vamoh.output import write_predictions

__all__ = [
    "Footprints",
    "Modality",
    "Model",
    "PointSet",
    "Reader",
    "VaMoHConfig",
    "__version__",
    "fit",
    "load",
    "open_dataset",
    "plugins",
    "show_versions",
    "write_predictions",
]

# torch and lightning take seconds to import: load them when the engine is first used.
_LAZY = {
    "fit": "vamoh.fitting",
    "load": "vamoh.api",
    "Model": "vamoh.api",
    "write_predictions": "vamoh.output",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vamoh' has no attribute {name!r}")
