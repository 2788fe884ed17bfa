"""The code the docs show runs: the quickstart, the station guide and the template's usage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def python_blocks(path: Path) -> list[str]:
    return PYTHON_BLOCK.findall(path.read_text(encoding="utf-8"))


QUICKSTART = python_blocks(ROOT / "docs" / "quickstart.md")
TEMPLATE_USAGE = python_blocks(ROOT / "plugins" / "template" / "README.md")[0]


def run_block(source: str, name: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cwd)  # anything a block writes lands in a temporary folder
    exec(compile(source, name, "exec"), {"__name__": name})


@pytest.mark.parametrize("index", range(len(QUICKSTART)))
def test_quickstart_block_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "vamoh_sensors" in QUICKSTART[index]:
        pytest.importorskip("vamoh_sensors")
    run_block(QUICKSTART[index], f"quickstart_{index}", tmp_path, monkeypatch)


def test_template_readme_usage_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("vamoh_sensors")
    run_block(TEMPLATE_USAGE, "template_readme", tmp_path, monkeypatch)


STATION_GUIDE = python_blocks(ROOT / "docs" / "guide" / "stations.md")


def test_station_guide_runs_from_file_to_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the page's blocks build on each other: one namespace, in order
    run_block("\n".join(STATION_GUIDE), "station_guide", tmp_path, monkeypatch)
    assert (tmp_path / "stations.nc").exists() and (tmp_path / "stations_map.png").exists()
