"""The hooks a vamoh plugin may implement.

A plugin is any module or object with functions marked ``@vamoh.plugins.hookimpl``. Installed
packages register one through the ``vamoh`` entry-point group::

    [project.entry-points.vamoh]
    sensors = "vamoh_sensors.plugin"

and notebooks register one at run time with ``vamoh.plugins.register(obj)``. Every hook returns a
list (registration hooks) or a value that vamoh combines with the other plugins' answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from vamoh.coordinates import CoordinateSystem
    from vamoh.likelihoods import Likelihood
    from vamoh.modality import Modality, Reader

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("vamoh")
hookimpl = pluggy.HookimplMarker("vamoh")


@hookspec
def vamoh_modalities() -> list[Modality]:
    """Contribute modalities: objects that turn a kind of data into point clouds and back.

    Each modality needs a unique ``name``. ``vamoh.fit(data)`` asks every modality's
    ``can_handle(data)`` and uses the unique best.

    Example:
        >>> import vamoh
        >>> from vamoh.modality import Modality
        >>> class Empty(Modality):
        ...     name = "empty-example"
        ...     def can_handle(self, data):
        ...         return 0.0
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_modalities(self):
        ...         return [Empty()]
        >>> with vamoh.plugins.registered(Plugin()):
        ...     "empty-example" in vamoh.plugins.modalities()
        True
    """


@hookspec
def vamoh_readers() -> list[Reader]:
    """Contribute readers: objects that claim a path (``guess_can_open``) and open it as xarray.

    ``vamoh.open_dataset(path)`` asks every reader; the unique claimant opens the path.

    Example:
        >>> import vamoh
        >>> from vamoh.modality import Reader
        >>> class Csv(Reader):
        ...     name = "csv-example"
        ...     extensions = (".csv",)
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_readers(self):
        ...         return [Csv()]
        >>> with vamoh.plugins.registered(Plugin()):
        ...     "csv-example" in vamoh.plugins.readers()
        True
    """


@hookspec
def vamoh_likelihoods() -> list[type[Likelihood]]:
    """Contribute likelihood classes (subclasses of ``vamoh.likelihoods.Likelihood``).

    They become available by their ``name`` in ``VaMoHConfig(likelihood=...)``.

    Example:
        >>> import torch, vamoh
        >>> from vamoh.likelihoods import Likelihood
        >>> class Laplace(Likelihood):
        ...     name = "laplace-example"
        ...     def distribution(self, params):
        ...         return torch.distributions.Laplace(params[..., 0], 0.1)
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_likelihoods(self):
        ...         return [Laplace]
        >>> with vamoh.plugins.registered(Plugin()):
        ...     "laplace-example" in vamoh.plugins.likelihoods()
        True
    """


@hookspec
def vamoh_coordinate_systems() -> list[type[CoordinateSystem]]:
    """Contribute coordinate-system classes (subclasses of ``vamoh.coordinates.CoordinateSystem``).

    Checkpoints name the coordinate system, so registering the class lets a saved model be
    loaded again.

    Example:
        >>> import numpy as np, vamoh
        >>> from vamoh.coordinates import CoordinateSystem
        >>> class Ring(CoordinateSystem):
        ...     name = "ring-example"
        ...     dim = 2
        ...     def to_model(self, native):
        ...         a = np.radians(np.asarray(native)[:, 0])
        ...         return np.stack([np.cos(a), np.sin(a)], axis=-1).astype("float32")
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_coordinate_systems(self):
        ...         return [Ring]
        >>> with vamoh.plugins.registered(Plugin()):
        ...     "ring-example" in vamoh.plugins.coordinate_systems()
        True
    """


@hookspec
def vamoh_callbacks(modality: Modality, config: Any) -> list[Any]:
    """Contribute Lightning callbacks to a fit of ``modality`` with ``config``.

    Example:
        >>> import lightning.pytorch as pl, vamoh
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_callbacks(self, modality, config):
        ...         return [pl.callbacks.LearningRateMonitor()] if modality == "x" else []
        >>> with vamoh.plugins.registered(Plugin()):
        ...     len(vamoh.plugins.manager().hook.vamoh_callbacks(modality=None, config=None)) >= 0
        True
    """


@hookspec
def vamoh_trainer_settings(modality: Modality, config: Any) -> dict[str, Any]:
    """Contribute keyword arguments for ``lightning.Trainer`` (user arguments still win).

    Example:
        >>> import vamoh
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_trainer_settings(self, modality, config):
        ...         return {"log_every_n_steps": 5}
        >>> with vamoh.plugins.registered(Plugin()):
        ...     vamoh.plugins.trainer_settings(None, None)["log_every_n_steps"]
        5
    """


@hookspec
def vamoh_demos() -> dict[str, Callable[..., int]]:
    """Contribute demos for ``vamoh demo NAME``: a dict of name -> function.

    ``vamoh demo`` calls ``function(output=folder, quick=flag)`` and exits with its return value
    (0 on success). A demo writes everything into ``output`` (creating it) and says where;
    ``quick=True`` must finish in seconds (tests run it). The first line of the function's
    docstring is its description in ``vamoh demo --list``. ``vamoh demo`` without a name runs
    ``climate`` when it is installed, else the built-in ``toy``.

    Example:
        >>> import vamoh
        >>> def hello(output="vamoh-output", quick=False):
        ...     "Say hello."
        ...     print("hello from a demo")
        ...     return 0
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_demos(self):
        ...         return {"hello-example": hello}
        >>> with vamoh.plugins.registered(Plugin()):
        ...     vamoh.plugins.demos()["hello-example"](quick=True)
        hello from a demo
        0
    """
