"""vamoh's plugin interface: hooks, registration and the registries they feed.

See :mod:`vamoh.plugins.hookspecs` for every hook and the plugin guide in the docs.
"""

from vamoh.plugins.hookspecs import hookimpl, hookspec
from vamoh.plugins.host import (
    PluginError,
    PluginWarning,
    callbacks,
    coordinate_systems,
    demos,
    installed_plugins,
    likelihoods,
    manager,
    modalities,
    owner,
    readers,
    register,
    registered,
    reload,
    trainer_settings,
    unregister,
)

__all__ = [
    "PluginError",
    "PluginWarning",
    "callbacks",
    "coordinate_systems",
    "demos",
    "hookimpl",
    "hookspec",
    "installed_plugins",
    "likelihoods",
    "manager",
    "modalities",
    "owner",
    "readers",
    "register",
    "registered",
    "reload",
    "trainer_settings",
    "unregister",
]
