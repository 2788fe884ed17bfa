"""Markdown rendering of benchmark results and the checks on a module's result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.report import (  # noqa: E402
    ResultFormatError,
    check_result,
    format_cell,
    load_records,
    markdown_table,
    render_report,
    render_result,
    write_report,
)


def _result(**changes: object) -> dict:
    result = {
        "name": "demo",
        "title": "Demo benchmark",
        "description": "Synthetic data, seed 0.",
        "tables": [
            {
                "title": "Speed",
                "columns": ["setting", "seconds", "ok"],
                "rows": [["a|b", 1.23456, True], ["c", 12345.6, False]],
                "notes": "Quoted reference: 4.1 s.",
            }
        ],
        "figures": [],
        "status": "ok",
        "environment": {
            "date": "2026-01-01 00:00 UTC",
            "cpu": "Test CPU",
            "cores": 2,
            "torch_threads": 2,
            "gpu": None,
            "git_commit": "abc123",
            "seed": 0,
            "versions": {"python": "3.11", "torch": "2.13"},
        },
        "wall_seconds": 3.5,
        "quick": False,
    }
    result.update(changes)
    return result


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (0.30712, "0.3071"),
        (47.0512, "47.05"),
        (1234.56, "1235"),
        (-0.5, "-0.5"),
        (7, "7"),
        (True, "yes"),
        (None, "–"),
        (float("nan"), "n/a"),
        (float("inf"), "∞"),
        ("x|y", "x\\|y"),
        ("two\nlines", "two lines"),
    ],
)
def test_format_cell(value: object, text: str) -> None:
    assert format_cell(value) == text


def test_markdown_table_has_header_separator_and_formatted_rows() -> None:
    lines = markdown_table(_result()["tables"][0]).splitlines()
    assert lines[0] == "| setting | seconds | ok |"
    assert lines[1] == "|---|---|---|"
    assert lines[2] == "| a\\|b | 1.235 | yes |"
    assert lines[3] == "| c | 12346 | no |"


def test_render_result_shows_description_environment_tables_and_notes(tmp_path: Path) -> None:
    text = render_result(_result(), tmp_path, tmp_path)
    assert text.startswith("### Demo benchmark")
    assert "Synthetic data, seed 0." in text
    assert "Test CPU, 2 cores" in text and "2 torch threads" in text and "abc123" in text
    assert "#### Speed" in text and "Quoted reference: 4.1 s." in text
    assert "took 3.5 s" in text
    assert "Quick smoke run" not in text


def test_quick_results_are_marked(tmp_path: Path) -> None:
    assert "Quick smoke run" in render_result(_result(quick=True), tmp_path, tmp_path)


def test_failed_benchmark_shows_its_error(tmp_path: Path) -> None:
    record = _result(status="error", error="Traceback ...\nValueError: boom", tables=[])
    text = render_result(record, tmp_path, tmp_path)
    assert "failed" in text and "ValueError: boom" in text


def test_figure_links_are_relative_to_the_markdown_file(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "benchmarks" / "results"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "step_time.png").write_bytes(b"png")
    record = _result(figures=["figures/step_time.png"])
    text = render_result(record, out, tmp_path / "docs" / "benchmarks")
    assert "![step time](results/figures/step_time.png)" in text
    beside = render_result(record, out, out)
    assert "](figures/step_time.png)" in beside


def test_missing_figures_are_not_linked(tmp_path: Path) -> None:
    text = render_result(_result(figures=["figures/gone.png"]), tmp_path, tmp_path)
    assert "gone.png" not in text


def test_report_orders_modules_and_summarises(tmp_path: Path) -> None:
    page = render_report(
        [_result(name="zeta", title="Zeta"), _result(name="alpha", title="Alpha")],
        tmp_path,
        tmp_path / "results.md",
    )
    assert page.startswith("## Results")
    assert page.index("### Alpha") < page.index("### Zeta")
    assert "| Alpha | ok | 3.5 | 2026-01-01 00:00 UTC | abc123 |" in page


def test_write_report_reads_every_json_in_the_folder(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / f"{name}.json").write_text(json.dumps(_result(name=name, title=name.upper())))
    (tmp_path / "unrelated.json").write_text(json.dumps({"something": "else"}))
    page = write_report(tmp_path, tmp_path / "results.md").read_text()
    assert "### ONE" in page and "### TWO" in page
    assert [record["name"] for record in load_records(tmp_path)] == ["one", "two"]


def test_corrupt_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ResultFormatError, match="not valid JSON"):
        load_records(tmp_path)


def test_check_result_accepts_a_valid_result(tmp_path: Path) -> None:
    assert check_result(_result(), tmp_path)["name"] == "demo"


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ("not a dict", "not a dict"),
        ({"name": "x"}, "lacks"),
        (
            {"name": "x", "title": "t", "description": "", "figures": [], "tables": [{"a": 1}]},
            "needs 'title'",
        ),
        (
            {
                "name": "x",
                "title": "t",
                "description": "",
                "figures": [],
                "tables": [{"title": "t", "columns": ["a", "b"], "rows": [[1]]}],
            },
            "one cell per column",
        ),
        (
            {"name": "x", "title": "t", "description": "", "tables": [], "figures": ["no.png"]},
            "not a file",
        ),
    ],
)
def test_check_result_rejects_malformed_results(
    result: object, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ResultFormatError, match=message):
        check_result(result, tmp_path)
