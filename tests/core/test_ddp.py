"""Distributed data parallel through Lightning: two CPU processes (gloo), one fit; the sharding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vamoh.batching import EpochSampler


def test_two_process_ddp_fit_splits_data_and_keeps_weights_equal(tmp_path) -> None:
    # 20 samples: 15 train (odd: one left over per epoch) and 5 validation (3 + 2), batches of 2
    spec = {"n_samples": 20, "val_fraction": 0.25, "batch_size": 2, "max_epochs": 2}
    worker = Path(__file__).with_name("ddp_worker.py")
    done = subprocess.run(
        [sys.executable, str(worker), str(tmp_path), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    train, val = set(range(15)), set(range(15, 20))
    assert ranks[0]["val_indices"] == sorted(val)
    for epoch in range(2):
        first, second = ranks[0]["seen"][epoch], ranks[1]["seen"][epoch]
        assert len(first) == len(second) == 7  # the same share, so the same number of steps
        assert len(set(first) | set(second)) == 14 and set(first) | set(second) <= train
        # validation scores every sample once, the ranks' shares differing by one
        checked = ranks[0]["validated"][epoch], ranks[1]["validated"][epoch]
        assert sorted(map(len, checked)) == [2, 3] and set(checked[0]) | set(checked[1]) == val
    assert ranks[0]["train_batches"] == ranks[1]["train_batches"] == [4, 4]
    assert ranks[0]["global_step"] == ranks[1]["global_step"] == 8
    # the validation metrics are reduced across ranks: both see the same numbers
    assert ranks[0]["metrics"] == ranks[1]["metrics"] and len(ranks[0]["metrics"]) == 2
    for rank in ranks:  # each rank read its own samples only
        own = [i for part in (*rank["seen"], *rank["validated"]) for i in part]
        assert sorted(rank["read"]) == sorted(own)
    assert ranks[0]["weights"] == ranks[1]["weights"]


def shares(sampler: EpochSampler, world: int, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    out = []
    for rank in range(world):
        monkeypatch.setattr(sampler, "_rank", lambda rank=rank: (rank, world))
        out.append([i for batch in sampler for i in batch])
    return out


@pytest.mark.parametrize("world", [2, 3, 4])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 7, 12])
def test_training_shares_are_disjoint_and_equal(
    n: int, world: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampler = EpochSampler(np.arange(100, 100 + n), batch_size=2, seed=0, shuffle=True)
    sampler.set_epoch(3)
    parts = shares(sampler, world, monkeypatch)
    assert all(len(p) == n // world for p in parts)  # equal: the same number of steps
    seen = [i for p in parts for i in p]
    assert len(seen) == len(set(seen)) and set(seen) <= set(range(100, 100 + n))


@pytest.mark.parametrize("world", [2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 5, 7, 12])
def test_validation_scores_every_sample_on_every_rank(
    n: int, world: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    indices = np.arange(100, 100 + n)
    sampler = EpochSampler(indices, batch_size=2, seed=0, shuffle=False, every_sample=True)
    parts = shares(sampler, world, monkeypatch)
    assert all(parts)  # no rank without a batch: each logs the metrics the ranks reduce
    assert {i for p in parts for i in p} == set(indices.tolist())
    if n >= world:  # each sample exactly once, shares differing by one at most
        assert sum(map(len, parts)) == n and max(map(len, parts)) - min(map(len, parts)) <= 1
    else:
        assert all(len(p) == 1 for p in parts)
