"""Who handles this data? Modality detection for ``fit`` and reader detection for ``open_dataset``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vamoh.plugins import host as plugin_manager

if TYPE_CHECKING:
    import xarray as xr

    from vamoh.modality import Modality, Reader

__all__ = [
    "AmbiguousDataError",
    "MissingPathError",
    "NoHandlerError",
    "detect_modality",
    "detect_reader",
    "open_dataset",
    "score_modalities",
]

# What a user installs to get each first-party modality.
_EXTRAS_HINT = (
    "Install a modality plugin, e.g. `pip install 'vamoh[climate]'` (lat/lon fields), "
    "`'vamoh[voxels]'` (3-D occupancy) or `'vamoh[images]'` (pictures)."
)


class NoHandlerError(ValueError):
    """No installed modality or reader claims the data."""


class MissingPathError(NoHandlerError, FileNotFoundError):
    """A local path that does not exist and that no reader claims by its name."""


class AmbiguousDataError(ValueError):
    """Several modalities or readers claim the data equally well."""


def _score(modality: Modality, data: Any) -> float:
    owner = plugin_manager.owner("modalities", modality.name)
    try:
        score = modality.can_handle(data)
    except Exception as exc:  # a broken plugin must not break detection for the others
        warnings.warn(
            f"modality {modality.name!r} (plugin {owner!r}) failed in can_handle and is "
            f"skipped: {type(exc).__name__}: {exc}",
            plugin_manager.PluginWarning,
            stacklevel=4,
        )
        return 0.0
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        warnings.warn(
            f"modality {modality.name!r} (plugin {owner!r}) returned {score!r} from can_handle, "
            f"not a number in [0, 1]; it is skipped in detection (choose it with "
            f"modality={modality.name!r}).",
            plugin_manager.PluginWarning,
            stacklevel=4,
        )
        return 0.0
    return float(score)


class _Unknowable:
    """Data no modality can know: a modality that claims it claims everything."""


_greedy: dict[int, bool] = {}


def _claims_everything(modality: Modality) -> bool:
    """Whether ``modality`` claims data it cannot know (then it would win every detection)."""
    key = id(modality)
    if key not in _greedy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", plugin_manager.PluginWarning)
            greedy = _score(modality, _Unknowable()) > 0
        _greedy[key] = greedy
        if greedy:
            owner = plugin_manager.owner("modalities", modality.name)
            warnings.warn(
                f"modality {modality.name!r} (plugin {owner!r}) claims data it cannot know (an "
                f"empty object), so it would take every input: it is left out of automatic "
                f"detection. Choose it with modality={modality.name!r}, or report this to the "
                f"plugin's authors.",
                plugin_manager.PluginWarning,
                stacklevel=4,
            )
    return _greedy[key]


def score_modalities(data: Any) -> dict[str, float]:
    """Each installed modality's ``can_handle`` score for ``data`` (0 for broken or greedy ones).

    A modality whose ``can_handle`` raises, returns something other than a number in [0, 1], or
    claims an object no modality can know (it would take every input) scores 0 with a
    :class:`~vamoh.plugins.PluginWarning` naming it; it can still be chosen by name.

    Example:
        >>> import numpy as np
        >>> isinstance(score_modalities(np.zeros(3)), dict)
        True
    """
    installed = plugin_manager.modalities()
    return {
        name: 0.0 if _claims_everything(m) else _score(m, data) for name, m in installed.items()
    }


def detect_modality(data: Any, modality: str | Modality | None = None) -> Modality:
    """The modality for ``data``: the one named, or the unique best ``can_handle`` score.

    Example:
        >>> import numpy as np, vamoh
        >>> from vamoh.modality import Modality
        >>> class Anything(Modality):
        ...     name = "anything-example"
        ...     def can_handle(self, data):
        ...         return 0.01
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_modalities(self):
        ...         return [Anything()]
        >>> with vamoh.plugins.registered(Plugin(), name="anything"):
        ...     detect_modality(np.zeros(3), modality="anything-example").name
        'anything-example'
    """
    from vamoh.modality import Modality

    installed = plugin_manager.modalities()
    if isinstance(modality, Modality):
        return modality
    if modality is not None:
        if modality not in installed:
            raise NoHandlerError(
                f"no modality named {modality!r} is installed; installed: "
                f"{sorted(installed) or 'none'}. {_EXTRAS_HINT}"
            )
        return installed[modality]
    scores = score_modalities(data)
    best = max(scores.values(), default=0.0)
    if best <= 0.0:
        raise NoHandlerError(
            f"no installed modality recognises this {type(data).__name__}; installed: "
            f"{sorted(installed) or 'none'}. Pass modality='name' to choose one, or check the "
            f"data's dims and coordinates. {_EXTRAS_HINT}"
        )
    winners = sorted(name for name, s in scores.items() if s == best)
    if len(winners) > 1:
        raise AmbiguousDataError(
            f"modalities {winners} all claim this data equally (score {best:g}); choose one "
            f"with modality={winners[0]!r}."
        )
    return installed[winners[0]]


def detect_reader(path: Any, reader: str | None = None) -> Reader:
    """The reader for ``path``: the one named, or the unique one whose ``guess_can_open`` is true."""
    installed = plugin_manager.readers()
    if reader is not None:
        if reader not in installed:
            raise NoHandlerError(
                f"no reader named {reader!r} is installed; installed: "
                f"{sorted(installed) or 'none'}. {_EXTRAS_HINT}"
            )
        return installed[reader]
    claims = []
    for name, r in installed.items():
        try:
            if r.guess_can_open(path):
                claims.append(name)
        except Exception as exc:
            warnings.warn(
                f"reader {name!r} failed in guess_can_open and is skipped: "
                f"{type(exc).__name__}: {exc}",
                plugin_manager.PluginWarning,
                stacklevel=2,
            )
    if not claims:
        raise NoHandlerError(
            f"no installed reader can open {str(path)!r}; installed readers: "
            f"{sorted(installed) or 'none'}. Pass reader='name', open it with xarray yourself, "
            f"or {_EXTRAS_HINT[0].lower() + _EXTRAS_HINT[1:]}"
        )
    if len(claims) > 1:
        raise AmbiguousDataError(
            f"readers {claims} all claim {str(path)!r}; choose one with reader={claims[0]!r}."
        )
    return installed[claims[0]]


def open_dataset(
    path: Any, *, reader: str | None = None, **kwargs: Any
) -> xr.Dataset | xr.DataArray:
    """Open a file, folder or store with the installed reader that claims it.

    Example:
        >>> import vamoh
        >>> from vamoh.modality import Reader
        >>> import xarray as xr
        >>> class Fake(Reader):
        ...     name = "fake-example"
        ...     extensions = (".fake",)
        ...     def open(self, path, **kw):
        ...         return xr.Dataset(attrs={"source": str(path)})
        >>> class Plugin:
        ...     @vamoh.plugins.hookimpl
        ...     def vamoh_readers(self):
        ...         return [Fake()]
        >>> with vamoh.plugins.registered(Plugin()):
        ...     vamoh.open_dataset("x.fake").attrs["source"]
        'x.fake'
    """
    try:
        chosen = detect_reader(path, reader)
    except NoHandlerError as exc:
        local = isinstance(path, (str, Path)) and "://" not in str(path)
        if local and not Path(path).exists():
            raise MissingPathError(
                f"{path} does not exist; check the path (no reader could claim it)."
            ) from exc
        raise
    return chosen.open(path, **kwargs)
