"""Finds the benchmark modules, runs them one by one, writes JSON per module and the Markdown.

A benchmark is any module of the ``benchmarks`` package that defines ``NAME: str`` and
``run(quick: bool, out_dir: Path) -> dict``. A module that fails (on import, while running, or by
returning a malformed result) gets its error recorded in its JSON and in the report; the others
still run, and the command exits non-zero at the end.

Example:
    >>> names = [benchmark.name for benchmark in discover()]
    >>> "speed_training" in names
    True
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.common import (
    QUICK_VARIABLE,
    REPO_ROOT,
    SEED,
    BenchmarkError,
    seed_everything,
    threads,
)
from benchmarks.environment import environment_record
from benchmarks.report import check_result, write_report

DEFAULT_OUT = REPO_ROOT / "docs" / "benchmarks" / "results"
DEFAULT_MARKDOWN = REPO_ROOT / "docs" / "benchmarks" / "results.md"
MARKDOWN_NAME = "results.md"


class UnknownBenchmarkError(BenchmarkError):
    """``--only`` named a benchmark that does not exist; the message lists those that do.

    Example:
        >>> issubclass(UnknownBenchmarkError, ValueError)
        True
    """


@dataclass
class Benchmark:
    """A discovered benchmark module: its ``NAME``, module path and ``run`` (or import error).

    Example:
        >>> Benchmark("x", "pkg.x", None, "ImportError: y").ok
        False
    """

    name: str
    module: str
    run: Callable[[bool, Path], dict] | None
    import_error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the module imported and defines ``NAME`` and ``run``."""
        return self.run is not None and self.import_error is None


def _is_benchmark(module: ModuleType) -> bool:
    return isinstance(getattr(module, "NAME", None), str) and callable(getattr(module, "run", None))


def discover(package: str = "benchmarks") -> list[Benchmark]:
    """Every benchmark module of ``package``, sorted by name; broken imports are kept as errors.

    Infrastructure modules (no ``NAME``/``run``) are skipped. A module that fails to import
    appears under its module name with the import traceback, so the run reports it.

    Example:
        >>> all(benchmark.ok for benchmark in discover())
        True
    """
    root = importlib.import_module(package)
    found: list[Benchmark] = []
    for info in pkgutil.iter_modules(root.__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        module_name = f"{package}.{info.name}"
        try:
            module = importlib.import_module(module_name)
        except Exception:
            found.append(Benchmark(info.name, module_name, None, traceback.format_exc()))
            continue
        if _is_benchmark(module):
            found.append(Benchmark(module.NAME, module_name, module.run))
    return sorted(found, key=lambda benchmark: benchmark.name)


def select(benchmarks: Sequence[Benchmark], only: Sequence[str] | None) -> list[Benchmark]:
    """The benchmarks named in ``only`` (by ``NAME`` or module name); all when ``only`` is empty.

    Example:
        >>> chosen = select(discover(), ["speed_training"])
        >>> [benchmark.name for benchmark in chosen]
        ['speed_training']
    """
    if not only:
        return list(benchmarks)
    by_name: dict[str, Benchmark] = {}
    for benchmark in benchmarks:
        by_name[benchmark.name] = benchmark
        by_name[benchmark.module.rsplit(".", 1)[-1]] = benchmark
    unknown = [name for name in only if name not in by_name]
    if unknown:
        available = ", ".join(sorted({benchmark.name for benchmark in benchmarks}))
        raise UnknownBenchmarkError(
            f"no benchmark called {', '.join(unknown)}; choose from: {available} "
            f"(see `python -m benchmarks list`)"
        )
    chosen: list[Benchmark] = []
    for name in only:
        if by_name[name] not in chosen:
            chosen.append(by_name[name])
    return chosen


def default_out(quick: bool) -> Path:
    """Full runs write into the docs; quick runs into a fresh temporary folder, never the docs.

    Example:
        >>> default_out(quick=False).as_posix().endswith("docs/benchmarks/results")
        True
        >>> "docs" in default_out(quick=True).parts
        False
    """
    if quick:
        return Path(tempfile.mkdtemp(prefix="vamoh-benchmarks-quick-"))
    return DEFAULT_OUT


def markdown_path_for(out_dir: Path) -> Path:
    """Where the Markdown goes: ``docs/benchmarks/results.md`` for the docs' results folder,
    else ``results.md`` inside ``out_dir``.

    Example:
        >>> markdown_path_for(DEFAULT_OUT) == DEFAULT_MARKDOWN
        True
        >>> from pathlib import Path
        >>> markdown_path_for(Path("/tmp/x")).as_posix()
        '/tmp/x/results.md'
    """
    if Path(out_dir).resolve() == DEFAULT_OUT.resolve():
        return DEFAULT_MARKDOWN
    return Path(out_dir) / MARKDOWN_NAME


def run_one(benchmark: Benchmark, quick: bool, out_dir: Path) -> dict[str, Any]:
    """Run one benchmark and return its JSON record (``status`` "ok" or "error").

    The torch thread count and RNG seeds are set before the module runs, and its thread
    count is recorded afterwards (a module may set its own from ``VAMOH_BENCH_THREADS``).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> def run(quick, out_dir):
        ...     return {"name": "x", "title": "X", "description": "d", "tables": [], "figures": []}
        >>> run_one(Benchmark("x", "m.x", run), True, Path(tempfile.mkdtemp()))["status"]
        'ok'
    """
    import torch

    record: dict[str, Any] = {
        "name": benchmark.name,
        "title": benchmark.name,
        "description": "",
        "tables": [],
        "figures": [],
        "quick": bool(quick),
    }
    threads(quick)
    seed_everything(SEED)
    start = time.perf_counter()
    if benchmark.ok and benchmark.run is not None:
        try:
            result = check_result(benchmark.run(quick, Path(out_dir)), Path(out_dir))
            record.update(
                {key: result[key] for key in ("title", "description", "tables", "figures")}
            )
            record["figures"] = [Path(figure).as_posix() for figure in result["figures"]]
            record["status"], record["error"] = "ok", None
        except Exception:
            record["status"], record["error"] = "error", traceback.format_exc()
    else:
        record["status"], record["error"] = "error", benchmark.import_error
    record["wall_seconds"] = time.perf_counter() - start
    count = torch.get_num_threads()
    record["environment"] = environment_record(threads=count, seed=SEED)
    return record


def _json_default(value: Any) -> Any:
    """Numpy and torch scalars, paths: JSON has no type for them."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return value.as_posix()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_record(record: dict[str, Any], out_dir: Path) -> Path:
    """Write ``<out_dir>/<name>.json``; a record that cannot be serialised becomes an error.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_record({"name": "x", "status": "ok", "tables": []}, folder).name
        'x.json'
    """
    path = Path(out_dir) / f"{record['name']}.json"
    try:
        text = json.dumps(record, indent=2, default=_json_default, allow_nan=True)
    except (TypeError, ValueError):
        failed = dict(record, tables=[], figures=[], status="error", error=traceback.format_exc())
        text = json.dumps(failed, indent=2, default=str)
    path.write_text(text + "\n")
    return path


def run_benchmarks(
    quick: bool,
    only: Sequence[str] | None = None,
    out_dir: Path | None = None,
    package: str = "benchmarks",
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], Path, Path]:
    """Run the selected benchmarks, write their JSON and the Markdown.

    Returns the records, the output folder and the Markdown page.

    Example:
        >>> callable(run_benchmarks)
        True
    """
    out = Path(out_dir) if out_dir is not None else default_out(quick)
    out.mkdir(parents=True, exist_ok=True)
    chosen = select(discover(package), only)
    previous_quick = os.environ.get(QUICK_VARIABLE)
    os.environ[QUICK_VARIABLE] = "1" if quick else "0"
    records = []
    try:
        for benchmark in chosen:
            log(f"running {benchmark.name} ({'quick' if quick else 'full'}) ...")
            record = run_one(benchmark, quick, out)
            write_record(record, out)
            outcome = "ok" if record["status"] == "ok" else "FAILED"
            log(f"  {benchmark.name}: {outcome} in {record['wall_seconds']:.1f} s")
            if record["status"] != "ok":
                last_line = str(record["error"]).strip().splitlines()[-1:]
                log(f"  error: {last_line[0] if last_line else 'unknown'}")
            records.append(record)
    finally:
        if previous_quick is None:
            os.environ.pop(QUICK_VARIABLE, None)
        else:
            os.environ[QUICK_VARIABLE] = previous_quick
    page = write_report(out, markdown_path_for(out))
    return records, out, page


def exit_status(records: Sequence[dict[str, Any]]) -> int:
    """0 when every benchmark succeeded, 1 when any failed.

    Example:
        >>> exit_status([{"status": "ok"}, {"status": "error"}])
        1
    """
    return 0 if all(record.get("status") == "ok" for record in records) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``run [--quick] [--only NAME ...] [--out DIR]``, ``list``, ``render``.

    Returns the exit status: 0 when every benchmark succeeded, 1 when one failed, 2 for bad
    arguments.

    Example:
        >>> import contextlib, io
        >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
        ...     status = main(["list"])
        >>> status, "speed_training" in printed.getvalue()
        (0, True)
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run vamoh's benchmarks."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run benchmarks and write JSON + Markdown")
    run_parser.add_argument(
        "--quick", action="store_true", help="seconds per benchmark, tiny data (smoke test)"
    )
    run_parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these")
    run_parser.add_argument(
        "--out",
        type=Path,
        help="output folder (default: docs/benchmarks/results, or a temporary folder with --quick)",
    )
    commands.add_parser("list", help="list the benchmarks the runner finds")
    render_parser = commands.add_parser("render", help="re-render Markdown from existing JSON")
    render_parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    args = parser.parse_args(argv)
    if args.command == "list":
        for benchmark in discover():
            state = "" if benchmark.ok else "  (fails to import: run it to see the error)"
            print(f"{benchmark.name:<24} {benchmark.module}{state}")
        return 0
    if args.command == "render":
        print(f"wrote {write_report(args.out, markdown_path_for(args.out))}")
        return 0
    try:
        records, out, page = run_benchmarks(args.quick, args.only, args.out)
    except UnknownBenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"results: {out}")
    print(f"report:  {page}")
    failed = [record["name"] for record in records if record["status"] != "ok"]
    if failed:
        print(f"failed:  {', '.join(failed)}", file=sys.stderr)
    return exit_status(records)
