"""Markdown rendering of benchmark results: one section per module, tables, notes and figures.

The input is the JSON record the runner writes per module (the module's result plus
``status``, ``error``, ``environment``, ``wall_seconds`` and ``quick``); numbers are formatted
here, never by the modules.

Example:
    >>> record = {"name": "demo", "title": "Demo", "description": "A demo.", "status": "ok",
    ...           "tables": [{"title": "T", "columns": ["a", "b"], "rows": [[1, 0.5]],
    ...                       "notes": ""}], "figures": []}
    >>> print(markdown_table(record["tables"][0]))
    | a | b |
    |---|---|
    | 1 | 0.5 |
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.common import BenchmarkError
from benchmarks.environment import describe

MISSING_CELL = "–"


class ResultFormatError(BenchmarkError):
    """A benchmark result does not have the contract's shape (see ``benchmarks/__init__.py``).

    Example:
        >>> issubclass(ResultFormatError, ValueError)
        True
    """


def format_cell(value: Any) -> str:
    """A table cell as text: 4 significant digits, whole numbers from 1000 up, pipes escaped.

    Example:
        >>> [format_cell(v) for v in (0.30712, 47.051, 1234.56, 3, True, None, float("nan"))]
        ['0.3071', '47.05', '1235', '3', 'yes', '–', 'n/a']
        >>> format_cell(2.5e-05), format_cell("a|b")
        ('2.5e-05', 'a\\\\|b')
    """
    if value is None:
        return MISSING_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value == 0.0:
            return "0"
        if abs(value) >= 1000.0:
            return f"{value:.0f}"
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: dict[str, Any]) -> str:
    """A contract table as a GitHub/MkDocs Markdown table (title and notes not included).

    Example:
        >>> print(markdown_table({"title": "x", "columns": ["k"], "rows": [], "notes": ""}))
        | k |
        |---|
    """
    columns = [format_cell(column) for column in table["columns"]]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in table["rows"]:
        lines.append("| " + " | ".join(format_cell(cell) for cell in row) + " |")
    return "\n".join(lines)


def check_result(result: Any, out_dir: Path) -> dict[str, Any]:
    """The module's result if it has the contract's shape, else :class:`ResultFormatError`.

    Example:
        >>> from pathlib import Path
        >>> check_result({"name": "n", "title": "t", "description": "d", "tables": [],
        ...               "figures": []}, Path("."))["name"]
        'n'
        >>> check_result({"name": "n"}, Path("."))
        Traceback (most recent call last):
        ...
        benchmarks.report.ResultFormatError: the result lacks 'title', 'description', 'tables', 'figures'; run() must return all five keys of the contract
    """
    if not isinstance(result, dict):
        raise ResultFormatError(
            f"run() returned {type(result).__name__}, not a dict; return the contract's dict"
        )
    missing = [
        key for key in ("name", "title", "description", "tables", "figures") if key not in result
    ]
    if missing:
        listed = ", ".join(repr(key) for key in missing)
        raise ResultFormatError(
            f"the result lacks {listed}; run() must return all five keys of the contract"
        )
    for index, table in enumerate(result["tables"]):
        if not isinstance(table, dict) or not {"title", "columns", "rows"} <= set(table):
            raise ResultFormatError(
                f"table {index} needs 'title', 'columns' and 'rows'; build it with "
                f"benchmarks.common.table()"
            )
        width = len(table["columns"])
        for row_index, row in enumerate(table["rows"]):
            if len(row) != width:
                raise ResultFormatError(
                    f"table {table['title']!r} row {row_index} has {len(row)} cells for "
                    f"{width} columns; give every row one cell per column"
                )
    for figure in result["figures"]:
        if Path(figure).is_absolute() or not (Path(out_dir) / figure).is_file():
            raise ResultFormatError(
                f"figure {figure!r} is not a file relative to the output folder {out_dir}; "
                f"write it to benchmarks.common.figure_path(out_dir, name) and list "
                f"path.relative_to(out_dir)"
            )
    return result


def _figure_link(figure: str, out_dir: Path, markdown_dir: Path) -> str:
    target = (Path(out_dir) / figure).resolve()
    relative = os.path.relpath(target, Path(markdown_dir).resolve())
    return Path(relative).as_posix()


def render_result(record: dict[str, Any], out_dir: Path, markdown_dir: Path) -> str:
    """One module's section: heading, description, environment, tables with notes, figures.

    Figure links are relative to ``markdown_dir`` (where the Markdown file lives), so the page
    works both on GitHub and in the docs site.

    Example:
        >>> from pathlib import Path
        >>> record = {"name": "m", "title": "M", "description": "d", "tables": [],
        ...           "figures": [], "status": "error", "error": "ValueError: boom"}
        >>> "failed" in render_result(record, Path("."), Path("."))
        True
    """
    title = record.get("title") or record.get("name", "benchmark")
    lines = [f"### {title}", ""]
    if record.get("status") != "ok":
        lines += [
            f"**This benchmark failed** (module `{record.get('name', '?')}`); its error:",
            "",
            "```text",
            str(record.get("error", "unknown error")).strip(),
            "```",
            "",
        ]
    if record.get("description"):
        lines += [str(record["description"]).strip(), ""]
    environment = record.get("environment")
    if environment:
        timing = record.get("wall_seconds")
        took = f" The benchmark took {format_cell(float(timing))} s." if timing is not None else ""
        lines += [f"*Measured {describe(environment)}*{took}", ""]
    if record.get("quick"):
        lines += [
            '!!! warning "Quick smoke run"',
            "    Tiny data and models: these numbers check that the benchmark runs, nothing more.",
            "",
        ]
    for table in record.get("tables", []):
        lines += [f"#### {table['title']}", "", markdown_table(table), ""]
        if table.get("notes"):
            lines += [str(table["notes"]).strip(), ""]
    for figure in record.get("figures", []):
        if (Path(out_dir) / figure).is_file():
            caption = Path(figure).stem.replace("_", " ")
            lines += [f"![{caption}]({_figure_link(figure, out_dir, markdown_dir)})", ""]
    return "\n".join(lines)


def summary_table(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The overview table: one row per module with status, duration, date and commit.

    Example:
        >>> summary_table([{"name": "a", "title": "A", "status": "ok", "wall_seconds": 2.0,
        ...                 "environment": {"date": "d", "git_commit": "c"}}])["rows"]
        [['A', 'ok', 2.0, 'd', 'c']]
    """
    rows = []
    for record in records:
        environment = record.get("environment") or {}
        rows.append(
            [
                record.get("title") or record.get("name"),
                record.get("status", "?"),
                record.get("wall_seconds"),
                environment.get("date"),
                environment.get("git_commit"),
            ]
        )
    return {
        "title": "Benchmarks in this report",
        "columns": ["benchmark", "status", "seconds", "measured", "commit"],
        "rows": rows,
        "notes": "",
    }


def render_report(records: list[dict[str, Any]], out_dir: Path, markdown_path: Path) -> str:
    """The whole results page (``## Results`` and one section per module, by name).

    Example:
        >>> from pathlib import Path
        >>> page = render_report([], Path("."), Path("results.md"))
        >>> page.splitlines()[0]
        '## Results'
    """
    ordered = sorted(records, key=lambda record: str(record.get("name", "")))
    lines = [
        "## Results",
        "",
        "Generated by `python -m benchmarks run` from the JSON results in "
        f"`{_display_path(out_dir)}`; every number below was measured by that command.",
        "",
    ]
    if not ordered:
        lines += ["No benchmark has produced a result yet.", ""]
        return "\n".join(lines)
    lines += [markdown_table(summary_table(ordered)), ""]
    markdown_dir = Path(markdown_path).parent
    for record in ordered:
        lines.append(render_result(record, out_dir, markdown_dir))
    return "\n".join(lines).rstrip() + "\n"


def _display_path(path: Path) -> str:
    from benchmarks.common import REPO_ROOT

    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


def load_records(out_dir: Path) -> list[dict[str, Any]]:
    """Every ``*.json`` result record in ``out_dir`` (what a run, or several partial runs, wrote).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> load_records(Path(tempfile.mkdtemp()))
        []
    """
    records = []
    for path in sorted(Path(out_dir).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ResultFormatError(
                f"{path} is not valid JSON ({error}); delete it or rerun its benchmark"
            ) from error
        if isinstance(record, dict) and "name" in record and "status" in record:
            records.append(record)
    return records


def write_report(out_dir: Path, markdown_path: Path) -> Path:
    """Render every record in ``out_dir`` into ``markdown_path`` and return that path.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_report(folder, folder / "results.md").read_text().startswith("## Results")
        True
    """
    markdown_path = Path(markdown_path)
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(render_report(load_records(out_dir), out_dir, markdown_path))
    return markdown_path
