"""How vamoh behaves with broken, clashing, filtered and competing plugins.

Entry points are read once per process, so anything that depends on what is installed, or on the
environment variables, runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import vamoh
from vamoh.detection import AmbiguousDataError, NoHandlerError, detect_modality
from vamoh.modality import Modality

REPORT = """
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import vamoh
    modalities = sorted(vamoh.plugins.modalities())
    readers = sorted(vamoh.plugins.readers())
    plugins = sorted(row["name"] for row in vamoh.plugins.installed_plugins())
print(json.dumps({
    "modalities": modalities,
    "plugins": plugins,
    "warnings": [str(w.message) for w in caught
                 if issubclass(w.category, vamoh.plugins.PluginWarning)],
}))
"""


def report(env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """What a fresh interpreter with ``env`` sees of the installed plugins."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", REPORT],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def fake_distribution(site: Path, module_source: str) -> None:
    """An installed distribution ``broken-vamoh-plugin`` whose entry point is ``broken``."""
    info = site / "broken_vamoh_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-vamoh-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text("[vamoh]\nbroken = broken_vamoh_plugin\n")
    (site / "broken_vamoh_plugin.py").write_text(textwrap.dedent(module_source))


def test_a_plugin_that_fails_to_import_is_a_warning_naming_it(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "raise RuntimeError('this plugin is broken on purpose')\n")
    seen = report({"PYTHONPATH": str(tmp_path)})
    messages = [m for m in seen["warnings"] if "'broken'" in m]
    assert messages, seen["warnings"]
    assert "broken-vamoh-plugin" in messages[0] and "broken on purpose" in messages[0]
    assert "sensors" in seen["modalities"]  # the other plugins still load


def test_a_plugin_whose_hook_raises_is_a_warning_naming_it(tmp_path: Path) -> None:
    fake_distribution(
        tmp_path,
        """
        import vamoh

        @vamoh.plugins.hookimpl
        def vamoh_modalities():
            raise RuntimeError("no modalities today")
        """,
    )
    seen = report({"PYTHONPATH": str(tmp_path)})
    messages = [m for m in seen["warnings"] if "'broken'" in m]
    assert messages and "vamoh_modalities" in messages[0], seen["warnings"]
    assert "sensors" in seen["modalities"]


def test_a_run_time_plugin_whose_hook_raises_warns() -> None:
    class Faulty:
        @vamoh.plugins.hookimpl
        def vamoh_readers(self) -> list[Any]:
            raise RuntimeError("reader hook failed")

    with pytest.warns(vamoh.plugins.PluginWarning, match="faulty-example"):
        with vamoh.plugins.registered(Faulty(), name="faulty-example"):
            assert "sensors-csv" in vamoh.plugins.readers()


class Named(Modality):
    """A modality that claims instances of ``Claimed`` with a fixed score."""

    def __init__(self, name: str, score: float) -> None:
        self.name = name  # type: ignore[misc]
        self.score = score

    def can_handle(self, data: Any) -> float:
        return self.score if isinstance(data, Claimed) else 0.0


class Claimed:
    """Data no installed modality knows."""


class Contributes:
    def __init__(self, *modalities: Modality) -> None:
        self.modalities = list(modalities)

    @vamoh.plugins.hookimpl
    def vamoh_modalities(self) -> list[Modality]:
        return self.modalities


def test_duplicate_modality_names_raise_plugin_error() -> None:
    with pytest.raises(vamoh.plugins.PluginError, match="sensors") as info:
        vamoh.plugins.register(Contributes(Named("sensors", 0.5)), name="impostor")
    assert "impostor" in str(info.value)
    assert "impostor" not in {row["name"] for row in vamoh.plugins.installed_plugins()}
    assert "sensors" in vamoh.plugins.modalities()


def test_ties_in_detection_name_the_candidates() -> None:
    with vamoh.plugins.registered(Contributes(Named("tie-a", 0.7), Named("tie-b", 0.7))):
        with pytest.raises(AmbiguousDataError, match="tie-a") as info:
            detect_modality(Claimed())
        assert "tie-b" in str(info.value) and "modality=" in str(info.value)
        with pytest.raises(AmbiguousDataError):
            vamoh.fit(Claimed())  # before any training starts
        assert detect_modality(Claimed(), modality="tie-b").name == "tie-b"


def test_the_unique_best_score_wins() -> None:
    with vamoh.plugins.registered(Contributes(Named("low", 0.2), Named("high", 0.9))):
        assert detect_modality(Claimed()).name == "high"


def test_no_match_lists_the_installed_modalities() -> None:
    with pytest.raises(NoHandlerError) as info:
        detect_modality(Claimed())
    message = str(info.value)
    for name in vamoh.plugins.modalities():
        assert name in message
    with pytest.raises(NoHandlerError, match="no modality named 'nonexistent'"):
        detect_modality(Claimed(), modality="nonexistent")


def test_autoload_can_be_disabled() -> None:
    seen = report({"VAMOH_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert seen["modalities"] == [] and seen["plugins"] == []


def test_vamoh_plugins_selects_entry_points() -> None:
    seen = report({"VAMOH_PLUGINS": "sensors,climate"})
    assert "sensors" in seen["plugins"]
    assert set(seen["plugins"]) <= {"sensors", "climate"}
    assert "sensors" in seen["modalities"]
    only = report({"VAMOH_PLUGINS": "sensors"})
    assert only["plugins"] == ["sensors"] and only["modalities"] == ["sensors"]


def test_a_missing_path_no_reader_claims_is_a_file_not_found_error(tmp_path) -> None:
    import vamoh
    from vamoh.detection import MissingPathError, NoHandlerError

    missing = tmp_path / "ShapeNetVox32_typo"
    with pytest.raises(FileNotFoundError, match="does not exist") as caught:
        vamoh.open_dataset(missing)
    assert isinstance(caught.value, MissingPathError)
    assert isinstance(caught.value, NoHandlerError) and isinstance(caught.value, ValueError)


def test_a_plugin_returning_the_wrong_type_is_a_warning_naming_it(tmp_path: Path) -> None:
    fake_distribution(
        tmp_path,
        """
        import vamoh

        @vamoh.plugins.hookimpl
        def vamoh_modalities():
            return "climate"  # a string, not a list of modalities

        @vamoh.plugins.hookimpl
        def vamoh_readers():
            return [object()]  # not a Reader
        """,
    )
    seen = report({"PYTHONPATH": str(tmp_path)})
    messages = [m for m in seen["warnings"] if "'broken'" in m]
    assert any("returned a str from vamoh_modalities(), not a list" in m for m in messages)
    assert any("vamoh_readers()" in m and "Reader instances" in m for m in messages), messages
    assert "sensors" in seen["modalities"] and "broken" in seen["plugins"]


class Greedy(Modality):
    """Claims everything, as a careless plugin might."""

    name = "greedy-example"

    def can_handle(self, data: Any) -> float:
        return 1.0


class Odd(Modality):
    """Scores with something that is not a number in [0, 1]."""

    name = "odd-example"

    def can_handle(self, data: Any) -> float:
        return float("nan")


def test_a_modality_that_claims_every_input_is_left_out_of_detection() -> None:
    from vamoh.detection import _greedy

    _greedy.clear()
    with pytest.warns(vamoh.plugins.PluginWarning, match=r"'greedy-example'.*claims data it"):
        with vamoh.plugins.registered(Contributes(Greedy(), Named("real", 0.5)), name="careless"):
            assert detect_modality(Claimed()).name == "real"
            assert detect_modality(Claimed(), modality="greedy-example").name == "greedy-example"


def test_a_score_that_is_not_a_number_is_a_warning() -> None:
    with pytest.warns(vamoh.plugins.PluginWarning, match=r"'odd-example'.*returned nan"):
        with vamoh.plugins.registered(Contributes(Odd(), Named("real", 0.5)), name="odd"):
            assert detect_modality(Claimed()).name == "real"


def test_lifecycle_hooks_that_raise_or_return_the_wrong_type_are_warnings() -> None:
    class Faulty:
        @vamoh.plugins.hookimpl
        def vamoh_callbacks(self, modality: Modality, config: Any) -> list[Any]:
            raise RuntimeError("callbacks broke")

        @vamoh.plugins.hookimpl
        def vamoh_trainer_settings(self, modality: Modality, config: Any) -> Any:
            return ["max_epochs", 100]  # not a dict

    with vamoh.plugins.registered(Faulty(), name="faulty-lifecycle"):
        with pytest.warns(vamoh.plugins.PluginWarning, match="'faulty-lifecycle' failed in"):
            assert vamoh.plugins.callbacks(None, None) == []
        with pytest.warns(vamoh.plugins.PluginWarning, match=r"'faulty-lifecycle' returned \["):
            assert vamoh.plugins.trainer_settings(None, None) == {}


def test_a_fit_survives_a_broken_lifecycle_hook() -> None:
    import numpy as np

    from vamoh.toy import ToyModality

    class Faulty:
        @vamoh.plugins.hookimpl
        def vamoh_callbacks(self, modality: Modality, config: Any) -> list[Any]:
            raise RuntimeError("callbacks broke")

    data = np.sin(np.linspace(0, 3, 16))[None, :] * np.ones((6, 1))
    with vamoh.plugins.registered(ToyModality.plugin()):
        with vamoh.plugins.registered(Faulty(), name="faulty-fit"):
            with pytest.warns(vamoh.plugins.PluginWarning, match="'faulty-fit'"):
                model = vamoh.fit(
                    data,
                    modality="toy",
                    max_epochs=1,
                    progress=False,
                    report=False,
                    config={"batch_size": 4},
                )
    assert model.info["epochs"] == 1


def test_duplicate_reader_names_raise_plugin_error() -> None:
    from vamoh.modality import Reader

    class Csv(Reader):
        name = "sensors-csv"

    class Clash:
        @vamoh.plugins.hookimpl
        def vamoh_readers(self) -> list[Reader]:
            return [Csv()]

    with pytest.raises(vamoh.plugins.PluginError, match=r"reader 'sensors-csv'.*'clash'"):
        vamoh.plugins.register(Clash(), name="clash")
    assert "clash" not in {row["name"] for row in vamoh.plugins.installed_plugins()}
