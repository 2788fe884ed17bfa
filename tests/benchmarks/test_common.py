"""The helpers every benchmark module uses: threads, timing, memory, figures, tables."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    BenchmarkError,
    figure_path,
    in_fresh_process,
    peak_rss_mb,
    reset_peak_rss,
    shared_data,
    table,
    threads,
    timer,
)


def test_threads_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("VAMOH_BENCH_THREADS", "1")
        assert threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.delenv("VAMOH_BENCH_THREADS")
        assert threads(quick=True) == 1
        assert threads(quick=False) == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("raw", ["zero", "0", "-2"])
def test_bad_thread_counts_are_a_clear_error(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAMOH_BENCH_THREADS", raw)
    with pytest.raises(BenchmarkError, match="VAMOH_BENCH_THREADS"):
        threads()


def test_timer_freezes_when_the_block_ends() -> None:
    with timer() as elapsed:
        sum(range(10_000))
    first = elapsed.seconds
    assert first > 0.0 and elapsed.seconds == first == float(elapsed) == elapsed()


def test_peak_memory_sees_an_allocation() -> None:
    import numpy as np

    reset_peak_rss()
    before = peak_rss_mb()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    assert peak_rss_mb() >= before + 50.0
    del block


def test_figure_path_creates_the_folder_and_rejects_folders(tmp_path: Path) -> None:
    path = figure_path(tmp_path, "plot")
    assert path == tmp_path / "figures" / "plot.png" and path.parent.is_dir()
    with pytest.raises(BenchmarkError, match="plain file name"):
        figure_path(tmp_path, "sub/plot.png")


def test_table_rejects_ragged_rows_and_no_columns() -> None:
    assert table("t", ["a", "b"], [[1, 2]], notes="n")["notes"] == "n"
    with pytest.raises(BenchmarkError, match="one cell per column"):
        table("t", ["a", "b"], [[1]])
    with pytest.raises(BenchmarkError, match="no columns"):
        table("t", [], [])


def test_shared_data_is_a_folder_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAMOH_SHARED_DATA", str(tmp_path))
    assert shared_data() == tmp_path
    monkeypatch.setenv("VAMOH_SHARED_DATA", str(tmp_path / "absent"))
    assert shared_data() is None


def test_fresh_process_returns_the_result_and_reports_failures() -> None:
    result = in_fresh_process("platform:uname")
    assert "system" in result
    with pytest.raises(BenchmarkError, match="failed in a fresh process"):
        in_fresh_process("math:sqrt", x=-1.0)
    with pytest.raises(BenchmarkError, match=r"package\.module:function"):
        in_fresh_process("no_colon")
