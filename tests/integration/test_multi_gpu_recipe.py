"""The multi-GPU recipe runs: its script under torchrun as two one-process "nodes" on this CPU
(gloo), resumed from its checkpoint; its Python snippets compile."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "multi-gpu.md"
SCRIPT = ROOT / "docs" / "guide" / "scripts" / "fit.py"
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


def expanded_python_blocks(page: Path) -> list[str]:
    """The page's Python blocks with ``--8<--`` snippet lines replaced by the files they name."""
    text = SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"), page.read_text())
    return PYTHON_BLOCK.findall(text)


def test_the_recipe_snippets_compile() -> None:
    blocks = expanded_python_blocks(PAGE)
    assert len(blocks) >= 3 and any("def launch_shape" in b for b in blocks)
    for index, block in enumerate(blocks):
        compile(block, f"multi-gpu.md block {index}", "exec")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun_two_nodes(arguments: list[str], cwd: Path) -> list[str]:
    """Start the script as two nodes of one process each; return each node's output."""
    port = free_port()
    environment = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes=2",
                "--nproc-per-node=1",
                f"--node-rank={rank}",
                "--master-addr=127.0.0.1",
                f"--master-port={port}",
                str(SCRIPT),
                *arguments,
            ],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=600)[0] for node in nodes]
    for node, output in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, output[-4000:]
    return outputs


@pytest.mark.slow
def test_the_torchrun_script_trains_on_two_nodes_and_resumes(tmp_path: Path) -> None:
    import vamoh
    from vamoh_climate.synthetic import global_field

    global_field(12, 8, 16).chunk({"time": 1}).to_zarr(tmp_path / "era5.zarr")
    checkpoints = tmp_path / "checkpoints"
    common = [str(tmp_path / "era5.zarr"), "--out", "t2m.vamoh", "--checkpoints", str(checkpoints)]
    first, second = torchrun_two_nodes([*common, "--epochs", "1"], tmp_path)
    # one progress display (global rank 0), for two processes
    assert "vamoh fit: training on 2 cpu processes" in first
    assert "vamoh fit:" not in second
    assert (checkpoints / "last.ckpt").is_file() and (tmp_path / "t2m.vamoh").is_file()
    steps = re.search(r"finished at step (\d+)", first)
    assert steps is not None
    first_run = vamoh.load(tmp_path / "t2m.vamoh").info

    resumed, _ = torchrun_two_nodes(
        [*common, "--epochs", "2", "--resume", str(checkpoints / "last.ckpt")], tmp_path
    )
    assert f"vamoh fit: resumed at step {steps.group(1)}" in resumed
    assert "epoch 2/2" in resumed and "max epochs reached (2)" in resumed
    model = vamoh.load(tmp_path / "t2m.vamoh")
    assert model.info["epochs"] == 2 and first_run["epochs"] == 1
