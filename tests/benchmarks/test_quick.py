"""Smoke test of the benchmarks: every discovered module's quick mode runs and is reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENT_KEYS = {
    "machine",
    "cpu",
    "cores",
    "torch_threads",
    "gpu",
    "versions",
    "git_commit",
    "date",
    "seed",
}


def _benchmark_names() -> list[str]:
    listing = subprocess.run(
        [sys.executable, "-m", "benchmarks", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def test_quick_run_of_every_benchmark_writes_json_and_markdown(tmp_path: Path) -> None:
    names = _benchmark_names()
    assert {"speed_training", "speed_inference", "scaling", "streaming"} <= set(names)
    environment = dict(os.environ, VAMOH_BENCH_THREADS="1", MPLBACKEND="Agg")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    page = (tmp_path / "results.md").read_text()
    for name in names:
        record = json.loads((tmp_path / f"{name}.json").read_text())
        assert record["status"] == "ok", record.get("error")
        assert ENVIRONMENT_KEYS <= set(record["environment"])
        assert record["environment"]["torch_threads"] == 1
        assert {"python", "torch", "lightning", "vamoh", "numpy", "scipy"} <= set(
            record["environment"]["versions"]
        )
        assert record["quick"] is True
        assert len(record["tables"]) >= 1
        assert all(table["rows"] for table in record["tables"]), name
        for figure in record["figures"]:
            assert (tmp_path / figure).is_file()
            assert f"]({figure})" in page
        assert f"### {record['title']}" in page
        assert f"#### {record['tables'][0]['title']}" in page
