"""The runner: discovery, selection, failure isolation, JSON and Markdown output."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import runner  # noqa: E402
from benchmarks.runner import (  # noqa: E402
    UnknownBenchmarkError,
    default_out,
    discover,
    exit_status,
    markdown_path_for,
    run_benchmarks,
    select,
)

GOOD = """
from benchmarks.common import figure_path, table
NAME = "good"
def run(quick, out_dir):
    path = figure_path(out_dir, "good_plot.png")
    path.write_bytes(b"png")
    return {"name": NAME, "title": "Good one", "description": "works",
            "tables": [table("T", ["a"], [[1.5]])],
            "figures": [path.relative_to(out_dir).as_posix()]}
"""
FAILING = """
NAME = "failing"
def run(quick, out_dir):
    raise RuntimeError("this benchmark broke")
"""
MALFORMED = """
NAME = "malformed"
def run(quick, out_dir):
    return {"name": NAME}
"""
HELPER = """
def shared_helper():
    return 1
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A throwaway benchmarks package with good, failing, malformed and unimportable modules."""
    name = f"fakebench_{tmp_path.name.replace('-', '_')}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    for module, source in {
        "good": GOOD,
        "failing": FAILING,
        "malformed": MALFORMED,
        "helper": HELPER,
        "unimportable": "raise ImportError('a dependency is missing')\n",
    }.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_discovery_finds_benchmarks_skips_helpers_and_keeps_import_errors(package: str) -> None:
    found = {benchmark.name: benchmark for benchmark in discover(package)}
    assert set(found) == {"good", "failing", "malformed", "unimportable"}
    assert found["good"].ok and not found["unimportable"].ok
    assert "a dependency is missing" in str(found["unimportable"].import_error)


def test_the_real_package_has_the_speed_benchmarks() -> None:
    names = {benchmark.name for benchmark in discover()}
    assert {"speed_training", "speed_inference", "scaling", "streaming"} <= names


def test_one_failure_does_not_stop_the_others(package: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    records, folder, page = run_benchmarks(True, None, out, package=package, log=lambda _: None)
    status = {record["name"]: record["status"] for record in records}
    assert status == {
        "failing": "error",
        "good": "ok",
        "malformed": "error",
        "unimportable": "error",
    }
    assert exit_status(records) == 1
    assert folder == out and page == out / "results.md"
    failing = json.loads((out / "failing.json").read_text())
    assert "this benchmark broke" in failing["error"]
    assert "lacks" in json.loads((out / "malformed.json").read_text())["error"]
    good = json.loads((out / "good.json").read_text())
    assert good["environment"]["seed"] == 0 and good["figures"] == ["figures/good_plot.png"]
    text = page.read_text()
    assert "### Good one" in text and "this benchmark broke" in text
    assert "](figures/good_plot.png)" in text


def test_only_runs_the_named_benchmarks(package: str, tmp_path: Path) -> None:
    records, _, _ = run_benchmarks(
        True, ["good"], tmp_path / "out", package=package, log=lambda _: None
    )
    assert [record["name"] for record in records] == ["good"]
    assert exit_status(records) == 0
    assert sorted(path.name for path in (tmp_path / "out").glob("*.json")) == ["good.json"]


def test_unknown_names_are_a_clear_error(package: str) -> None:
    with pytest.raises(UnknownBenchmarkError, match="no benchmark called nope; choose from"):
        select(discover(package), ["nope"])


def test_cli_rejects_unknown_names_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["run", "--only", "no_such_benchmark"]) == 2
    assert "no_such_benchmark" in capsys.readouterr().err


def test_quick_runs_never_default_to_the_docs() -> None:
    assert "docs" not in default_out(quick=True).parts
    assert default_out(quick=False) == runner.DEFAULT_OUT
    assert markdown_path_for(runner.DEFAULT_OUT) == REPO / "docs" / "benchmarks" / "results.md"


def test_quick_flag_is_visible_to_modules_and_restored(package: str, tmp_path: Path) -> None:
    import os

    before = os.environ.get("VAMOH_BENCH_QUICK")
    records, _, _ = run_benchmarks(
        True, ["good"], tmp_path / "out", package=package, log=lambda _: None
    )
    assert records[0]["quick"] is True
    assert os.environ.get("VAMOH_BENCH_QUICK") == before
