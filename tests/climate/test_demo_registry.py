"""The ``vamoh_demos`` hook: the climate plugin contributes ``climate``; the registry's rules."""

from __future__ import annotations

import pytest

import vamoh
from vamoh.cli import available_demos, main
from vamoh.plugins import PluginError, PluginWarning
from vamoh_climate.demo import run_demo


def _demo(output: str = "vamoh-output", quick: bool = False) -> int:
    """An example demo."""
    return 0


def test_the_climate_plugin_contributes_its_demo() -> None:
    vamoh.plugins.reload()  # nothing cached: owner() must collect the demos itself
    assert vamoh.plugins.owner("demos", "climate") == "climate"
    assert vamoh.plugins.demos()["climate"] is run_demo
    assert available_demos()["climate"] is run_demo and "toy" in available_demos()


def test_two_plugins_with_one_demo_name_are_an_error() -> None:
    class First:
        @vamoh.plugins.hookimpl
        def vamoh_demos(self) -> dict:
            return {"same-example": _demo}

    class Second(First):
        pass

    with vamoh.plugins.registered(First(), name="first-example"):
        with vamoh.plugins.registered(Second(), name="second-example"):
            with pytest.raises(PluginError, match="two plugins register demo 'same-example'"):
                vamoh.plugins.demos()


def test_a_demo_must_be_a_named_callable() -> None:
    class Bad:
        @vamoh.plugins.hookimpl
        def vamoh_demos(self) -> dict:
            return {"bad-example": "not callable"}

    with vamoh.plugins.registered(Bad(), name="bad-example"):
        with pytest.raises(PluginError, match="a non-empty name and a callable"):
            vamoh.plugins.demos()


def test_a_failing_hook_is_a_warning() -> None:
    class Broken:
        @vamoh.plugins.hookimpl
        def vamoh_demos(self) -> dict:
            raise RuntimeError("boom")

    with vamoh.plugins.registered(Broken(), name="broken-example"):
        with pytest.warns(PluginWarning, match="'broken-example' failed in vamoh_demos"):
            demos = vamoh.plugins.demos()
    assert "climate" in demos


def test_a_plugin_may_not_shadow_the_builtin_toy(capsys: pytest.CaptureFixture[str]) -> None:
    class Shadow:
        @vamoh.plugins.hookimpl
        def vamoh_demos(self) -> dict:
            return {"toy": _demo}

    with vamoh.plugins.registered(Shadow(), name="shadow-example"):
        assert main(["demo", "--list"]) == 1
    assert "a built-in name" in capsys.readouterr().err


def test_without_the_climate_demo_the_toy_is_the_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(vamoh.plugins, "demos", lambda: {})
    assert main(["demo", "--list"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("toy") and listing.strip().endswith("(default)")
    assert main(["demo", "climate"]) == 1
    assert "pip install 'vamoh[climate]'" in capsys.readouterr().err
