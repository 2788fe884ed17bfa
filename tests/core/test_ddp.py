"""Distributed data parallel through Lightning: two CPU processes (gloo), one fit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_two_process_ddp_fit_splits_data_and_keeps_weights_equal(tmp_path) -> None:
    worker = Path(__file__).with_name("ddp_worker.py")
    done = subprocess.run(
        [sys.executable, str(worker), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    per_epoch = len(ranks[0]["seen"]) // 2
    for epoch in range(2):
        part = slice(epoch * per_epoch, (epoch + 1) * per_epoch)
        first, second = set(ranks[0]["seen"][part]), set(ranks[1]["seen"][part])
        assert first and second and not first & second  # each rank trains on its own samples
        assert first | second == set(range(16))
    assert ranks[0]["weights"] == ranks[1]["weights"]
