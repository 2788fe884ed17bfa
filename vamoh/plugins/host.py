"""The plugin host: loads ``vamoh`` entry points lazily (once), keeps registries sorted.

A plugin that fails to import, whose hook raises, or whose hook returns the wrong type becomes a
warning that names it: one broken package must never break ``import vamoh`` or the other plugins.
Two plugins that register the same name are a :class:`PluginError` naming both.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from vamoh.plugins import hookspecs

if TYPE_CHECKING:
    from vamoh.coordinates import CoordinateSystem
    from vamoh.modality import Modality, Reader

__all__ = [
    "PluginError",
    "PluginWarning",
    "coordinate_systems",
    "demos",
    "installed_plugins",
    "likelihoods",
    "manager",
    "modalities",
    "readers",
    "register",
    "registered",
    "reload",
    "trainer_settings",
    "unregister",
]

ENTRY_POINT_GROUP = "vamoh"


class PluginError(ValueError):
    """A plugin contributed something invalid (duplicate names, wrong types)."""


class PluginWarning(UserWarning):
    """A plugin could not be loaded or one of its hooks failed; vamoh carries on without it."""


_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_entry_points_loaded = False
_dists: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
_failed: dict[str, str] = {}  # plugin name -> error message


def manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with installed entry points loaded on first use."""
    global _pm
    with _lock:
        if _pm is None:
            _pm = pluggy.PluginManager("vamoh")
            _pm.add_hookspecs(hookspecs)
        _load_entry_points(_pm)
        return _pm


def _allowed(name: str) -> bool:
    if os.environ.get("VAMOH_DISABLE_PLUGIN_AUTOLOAD", "").strip() in {"1", "true", "yes"}:
        return False
    allow = os.environ.get("VAMOH_PLUGINS", "").strip()
    if not allow:
        return True
    return name in {a.strip() for a in allow.split(",") if a.strip()}


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    for ep in eps:
        if not _allowed(ep.name) or pm.has_plugin(ep.name):
            continue
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not break vamoh
            _failed[ep.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"vamoh plugin {ep.name!r} (package {dist}) failed to load and is skipped: "
                f"{type(exc).__name__}: {exc}. Reinstall or upgrade {dist}, or set "
                f"VAMOH_PLUGINS to a list without it.",
                PluginWarning,
                stacklevel=3,
            )
            continue
        _dists[ep.name] = (dist, version)


def reload() -> None:
    """Forget everything and load the entry points again (after installing a plugin)."""
    global _pm, _entry_points_loaded
    with _lock:
        _pm = None
        _entry_points_loaded = False
        _dists.clear()
        _failed.clear()
        _cache.clear()


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin object (module, class instance) at run time; returns its name.

    Example:
        >>> import vamoh
        >>> class Plugin:
        ...     pass
        >>> name = vamoh.plugins.register(Plugin(), name="notebook-example")
        >>> vamoh.plugins.unregister(name)
    """
    pm = manager()
    with _lock:
        registered_name = pm.register(plugin, name=name)
        if registered_name is None:
            raise PluginError(f"plugin {name or plugin!r} is already registered or blocked.")
        _cache.clear()
        try:
            _collect_all()
        except Exception:
            pm.unregister(name=registered_name)
            _cache.clear()
            raise
        return registered_name


def unregister(plugin_or_name: object) -> None:
    """Remove a plugin registered with :func:`register` (by object or name)."""
    pm = manager()
    with _lock:
        if isinstance(plugin_or_name, str):
            pm.unregister(name=plugin_or_name)
        else:
            pm.unregister(plugin=plugin_or_name)
        _cache.clear()


@contextlib.contextmanager
def registered(plugin: object, name: str | None = None) -> Iterator[str]:
    """Register ``plugin`` for the duration of a ``with`` block (tests, notebooks).

    Example:
        >>> import vamoh
        >>> class Plugin:
        ...     pass
        >>> with vamoh.plugins.registered(Plugin()) as name:
        ...     isinstance(name, str)
        True
    """
    registered_name = register(plugin, name=name)
    try:
        yield registered_name
    finally:
        unregister(registered_name)


# -- registries ---------------------------------------------------------------------------------

_cache: dict[str, dict[str, Any]] = {}


# what each registration hook's list must hold: (description, check)
def _expected(hook_name: str) -> tuple[str, Callable[[Any], bool]]:
    from vamoh.modality import Modality, Reader

    kinds: dict[str, tuple[str, Callable[[Any], bool]]] = {
        "vamoh_modalities": (
            "vamoh.modality.Modality instances",
            lambda x: isinstance(x, Modality),
        ),
        "vamoh_readers": ("vamoh.modality.Reader instances", lambda x: isinstance(x, Reader)),
        "vamoh_likelihoods": ("Likelihood classes", lambda x: isinstance(x, type)),
        "vamoh_coordinate_systems": ("CoordinateSystem classes", lambda x: isinstance(x, type)),
    }
    return kinds.get(hook_name, ("objects", lambda x: True))


def _plugin_warning(plugin_name: str, text: str) -> None:
    warnings.warn(f"vamoh plugin {plugin_name!r} {text}", PluginWarning, stacklevel=5)


def _call_registration(hook_name: str) -> list[tuple[str, Any]]:
    """(plugin name, item) for every item every plugin returns.

    A hook that raises, returns something other than a list, or lists objects of the wrong type
    becomes a :class:`PluginWarning` naming the plugin; what it contributed is skipped.
    """
    pm = manager()
    expected, fits = _expected(hook_name)
    out: list[tuple[str, Any]] = []
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
        try:
            items = impl.function()
        except Exception as exc:
            _plugin_warning(
                plugin_name,
                f"failed in {hook_name}() and is skipped: {type(exc).__name__}: {exc}",
            )
            continue
        if items is None:
            continue
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
            _plugin_warning(
                plugin_name,
                f"returned a {type(items).__name__} from {hook_name}(), not a list of "
                f"{expected}; its contribution is skipped (fix the plugin, or ask its authors).",
            )
            continue
        for item in items:
            if not fits(item):
                _plugin_warning(
                    plugin_name,
                    f"returned {item!r} ({type(item).__name__}) from {hook_name}(), which is "
                    f"not one of the {expected} it must return; that item is skipped.",
                )
                continue
            out.append((plugin_name, item))
    return out


def _call_lifecycle(
    hook_name: str, expected: str, fits: Callable[[Any], bool], **kwargs: Any
) -> Iterator[tuple[str, Any]]:
    """(plugin name, result) of every plugin's ``hook_name(**kwargs)``, in registration order;
    one that raises or returns the wrong type is a warning naming the plugin, and is skipped."""
    pm = manager()
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
        try:
            result = impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
        except Exception as exc:
            _plugin_warning(
                plugin_name,
                f"failed in {hook_name}() and is skipped: {type(exc).__name__}: {exc}",
            )
            continue
        if result is None:
            continue
        if not fits(result):
            _plugin_warning(
                plugin_name,
                f"returned {result!r} from {hook_name}(), not {expected}; it is skipped.",
            )
            continue
        yield plugin_name, result


def _registry(hook_name: str, key: str) -> dict[str, Any]:
    with _lock:
        if hook_name in _cache:
            return _cache[hook_name]
        found: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin_name, item in _call_registration(hook_name):
            name = getattr(item, key, None)
            if not isinstance(name, str) or not name:
                _plugin_warning(
                    plugin_name,
                    f"returned {item!r} from {hook_name}() without a {key!r} (a unique, "
                    f"non-empty string); it is skipped.",
                )
                continue
            if name in found:
                raise PluginError(
                    f"two plugins register {hook_name[6:-1]} {name!r}: {owners[name]!r} and "
                    f"{plugin_name!r}. Uninstall one, or block one with VAMOH_PLUGINS=..."
                )
            found[name] = item
            owners[name] = plugin_name
        ordered = dict(sorted(found.items()))
        _cache[hook_name] = ordered
        _cache[hook_name + ":owners"] = owners
        return ordered


def _collect_all() -> None:
    for hook_name in (
        "vamoh_modalities",
        "vamoh_readers",
        "vamoh_likelihoods",
        "vamoh_coordinate_systems",
    ):
        _registry(hook_name, "name")


def modalities() -> dict[str, Modality]:
    """Installed modalities by name, sorted."""
    return _registry("vamoh_modalities", "name")


def readers() -> dict[str, Reader]:
    """Installed readers by name, sorted."""
    return _registry("vamoh_readers", "name")


def likelihoods() -> dict[str, type]:
    """Likelihood classes contributed by plugins, by name (the built-ins are in vamoh.likelihoods)."""
    return _registry("vamoh_likelihoods", "name")


def coordinate_systems() -> dict[str, type[CoordinateSystem]]:
    """Coordinate-system classes contributed by plugins, by name."""
    return _registry("vamoh_coordinate_systems", "name")


def demos() -> dict[str, Callable[..., int]]:
    """Demos from every plugin's ``vamoh_demos`` (name -> function), sorted by name.

    A plugin whose hook fails becomes a warning; two plugins with the same demo name, a name that
    is not a non-empty string or a demo that is not callable are a :class:`PluginError`. The
    command line adds its built-in ``toy`` demo (``vamoh demo --list``).

    Example:
        >>> import vamoh
        >>> all(callable(run) for run in vamoh.plugins.demos().values())
        True
    """
    with _lock:
        if "vamoh_demos" in _cache:
            return _cache["vamoh_demos"]
        found: dict[str, Callable[..., int]] = {}
        owners: dict[str, str] = {}
        pm = manager()
        for impl in pm.hook.vamoh_demos.get_hookimpls():
            plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
            try:
                contributed = dict(impl.function() or {})
            except Exception as exc:
                warnings.warn(
                    f"vamoh plugin {plugin_name!r} failed in vamoh_demos() and is skipped: "
                    f"{type(exc).__name__}: {exc}",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            for name, function in contributed.items():
                if not isinstance(name, str) or not name or not callable(function):
                    raise PluginError(
                        f"plugin {plugin_name!r} returned {name!r}: {function!r} from "
                        f"vamoh_demos(); give each demo a non-empty name and a callable."
                    )
                if name in found:
                    raise PluginError(
                        f"two plugins register demo {name!r}: {owners[name]!r} and "
                        f"{plugin_name!r}. Uninstall one, or block one with VAMOH_PLUGINS=..."
                    )
                found[name] = function
                owners[name] = plugin_name
        ordered = dict(sorted(found.items()))
        _cache["vamoh_demos"] = ordered
        _cache["vamoh_demos:owners"] = owners
        return ordered


def owner(kind: str, name: str) -> str | None:
    """The plugin that registered ``name`` under ``kind`` (``"modalities"``, ``"readers"``...)."""
    hook_name = f"vamoh_{kind}"
    if kind == "demos":  # a name -> function dict, not a list of named objects
        demos()
    else:
        _registry(hook_name, "name")
    return _cache.get(hook_name + ":owners", {}).get(name)


def trainer_settings(modality: Any, config: Any) -> dict[str, Any]:
    """Trainer keyword arguments from every plugin's ``vamoh_trainer_settings``, merged in order
    (a plugin that raises or returns something other than a dict is a warning, and skipped)."""
    merged: dict[str, Any] = {}
    for _, item in _call_lifecycle(
        "vamoh_trainer_settings",
        "a dict of Trainer keyword arguments",
        lambda x: isinstance(x, Mapping) and all(isinstance(k, str) for k in x),
        modality=modality,
        config=config,
    ):
        merged.update(item)
    return merged


def callbacks(modality: Any, config: Any) -> list[Any]:
    """Lightning callbacks from every plugin's ``vamoh_callbacks`` (a plugin that raises or
    returns something other than a list of callbacks is a warning, and skipped)."""
    import lightning.pytorch as pl

    out: list[Any] = []
    for _, items in _call_lifecycle(
        "vamoh_callbacks",
        "a list of lightning.pytorch.Callback",
        lambda x: isinstance(x, list | tuple) and all(isinstance(c, pl.Callback) for c in x),
        modality=modality,
        config=config,
    ):
        out.extend(items)
    return out


def installed_plugins() -> list[dict[str, str]]:
    """Loaded and failed plugins: name, package, version, status."""
    pm = manager()
    rows = []
    for name, plugin in sorted(pm.list_name_plugin()):
        if plugin is None:
            continue
        dist, version = _dists.get(name, ("(registered at run time)", ""))
        rows.append({"name": name, "package": dist, "version": version, "status": "loaded"})
    for name, err in sorted(_failed.items()):
        rows.append({"name": name, "package": "?", "version": "?", "status": f"failed: {err}"})
    return rows
