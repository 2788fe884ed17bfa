"""Faults survived with real processes: a fit killed by SIGKILL or stopped by SIGTERM mid-epoch
resumes from its last checkpoint to exactly the result of an uninterrupted run.

Each run is a fresh ``python`` process (tests/core/fit_worker.py): what a crashed laptop or a
preempted SLURM job leaves behind is all the resumed run gets.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("fit_worker.py")
TIMEOUT = 120


def start(out: Path, mode: str, resume: Path | None = None) -> subprocess.Popen[str]:
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, str(WORKER), str(out), mode, *([str(resume)] if resume else [])]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err[-3000:]
    return out, err


def signal_mid_epoch(process: subprocess.Popen[str], signum: int) -> None:
    """Send ``signum`` once the second epoch's second batch is done (the first epoch's
    checkpoint exists; the worker pauses after each batch, so the signal lands mid-epoch)."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("epoch 1 batch 1"):
            process.send_signal(signum)
            return
    raise AssertionError(f"the worker ended before its second epoch: {process.stderr.read()}")


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 3  # the end of the last of 4 epochs
    return checkpoint["state_dict"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[str]]:
    """The reference run, started once and running beside the interrupted ones."""
    run = tmp_path_factory.mktemp("uninterrupted")
    process = start(run, "full")
    process.run_dir = run  # type: ignore[attr-defined]
    yield process
    if process.poll() is None:
        process.kill()


def reference(uninterrupted: subprocess.Popen[str]) -> dict[str, torch.Tensor]:
    if uninterrupted.returncode is None:
        finish(uninterrupted)
    return final_weights(uninterrupted.run_dir)  # type: ignore[attr-defined]


def assert_same(resumed: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert resumed.keys() == expected.keys()
    for name, value in resumed.items():
        assert torch.equal(value, expected[name]), name


def test_a_fit_killed_by_sigkill_resumes_to_the_uninterrupted_result(
    tmp_path: Path, uninterrupted: subprocess.Popen[str]
) -> None:
    killed = start(tmp_path, "slow")
    signal_mid_epoch(killed, signal.SIGKILL)
    killed.wait(timeout=TIMEOUT)
    assert killed.returncode == -signal.SIGKILL
    last = tmp_path / "checkpoints" / "last.ckpt"
    left = torch.load(last, weights_only=True)
    assert (left["epoch"], left["global_step"]) == (0, 3)  # killed in epoch 1, after epoch 0
    assert not (tmp_path / "info.json").exists()
    finish(start(tmp_path, "resume", resume=last))
    assert_same(final_weights(tmp_path), reference(uninterrupted))


def test_a_sigterm_stops_cleanly_and_leaves_a_checkpoint_that_resumes(
    tmp_path: Path, uninterrupted: subprocess.Popen[str]
) -> None:
    # what SLURM does before it kills a job: SIGTERM, then the job is started again
    stopped = start(tmp_path, "slow")
    signal_mid_epoch(stopped, signal.SIGTERM)
    _, err = finish(stopped)  # fit returns: the script goes on (and may save the model)
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["interrupted"] == "SIGTERM" and info["epochs"] == 1
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert "TrainingInterrupted" in err and f"resume='{last}'" in err
    assert "best validated epoch" in err and "model.save(" in err
    assert torch.load(last, weights_only=True)["epoch"] == 0
    finish(start(tmp_path, "resume", resume=last))
    assert_same(final_weights(tmp_path), reference(uninterrupted))
