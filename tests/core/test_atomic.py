"""Outputs appear whole or not at all, even when the writing process is killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vamoh.atomic import OutputExistsError, atomic_output, write_text
from vamoh.checkpoint import read_checkpoint, write_checkpoint

# a writer that dies by SIGKILL after writing part of its output: no Python clean-up runs
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
import numpy as np, torch, xarray as xr

kind, target = sys.argv[1], Path(sys.argv[2])

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if kind == "model":
    from vamoh.checkpoint import write_checkpoint

    def half_a_save(obj, path):
        Path(path).write_bytes(b"PK half a model")
        die()

    torch.save = half_a_save
    write_checkpoint(target, {"weights": torch.zeros(3)}, overwrite=True)
else:
    ds = xr.Dataset(
        {"a": (("x",), np.arange(4.0)), "b": (("x",), np.arange(4.0))},
        coords={"x": np.arange(4.0)},
    )
    original = xr.Dataset.to_zarr

    def half_a_store(self, store, **kwargs):
        original(self[["a"]], store, **kwargs)  # one variable written, then killed
        die()

    xr.Dataset.to_zarr = half_a_store
    if kind == "zarr":
        from vamoh_climate.writers import to_zarr

        to_zarr(ds, target, overwrite=True)
    else:
        from vamoh.cli import _write

        _write(ds, str(target), True)
"""


def killed_while_writing(kind: str, target: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, kind, str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_a_model_save_killed_half_way_leaves_the_old_model_intact(tmp_path: Path) -> None:
    target = tmp_path / "model.vamoh"
    write_checkpoint(target, {"weights": torch.ones(3)})
    killed_while_writing("model", target)
    assert torch.equal(read_checkpoint(target)["weights"], torch.ones(3))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.vamoh"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.vamoh.partial-")
    write_checkpoint(target, {"weights": torch.full((3,), 2.0)}, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["model.vamoh"]  # the dead writer's leftover
    assert torch.equal(read_checkpoint(target)["weights"], torch.full((3,), 2.0))


@pytest.mark.parametrize("kind", ["zarr", "cli"])
def test_a_store_killed_half_way_never_appears_under_its_name(kind: str, tmp_path: Path) -> None:
    pytest.importorskip("vamoh_climate")
    target = tmp_path / "result.zarr"
    killed_while_writing(kind, target)
    assert not target.exists()
    assert all(p.name.startswith(".result.zarr.partial-") for p in tmp_path.iterdir())


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    with pytest.raises(RuntimeError, match="writer broke"):
        with atomic_output(target) as partial:
            partial.mkdir()
            (partial / "chunk").write_bytes(b"123")
            raise RuntimeError("writer broke")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_replaces_a_folder_whole(tmp_path: Path) -> None:
    target = tmp_path / "store.zarr"
    target.mkdir()
    (target / "old_variable").write_text("old")
    with atomic_output(target, overwrite=True) as partial:
        partial.mkdir()
        (partial / "new_variable").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new_variable"]
    assert [p.name for p in tmp_path.iterdir()] == ["store.zarr"]


def test_existing_outputs_are_refused_before_writing(tmp_path: Path) -> None:
    target = write_text(tmp_path / "scores.json", "{}")
    with pytest.raises(
        OutputExistsError, match=r"scores\.json already exists; pass overwrite=True"
    ):
        with atomic_output(target):
            raise AssertionError("the writer must not run")
    assert isinstance(OutputExistsError("x"), FileExistsError)
    assert target.read_text() == "{}"


def test_a_writer_that_writes_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="wrote nothing"):
        with atomic_output(tmp_path / "empty.nc"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_the_partial_name_keeps_the_suffix(tmp_path: Path) -> None:
    # matplotlib and other writers choose the format by the suffix
    with atomic_output(tmp_path / "map.png") as partial:
        assert partial.suffix == ".png" and partial.name.startswith(".map.png.partial-")
        assert partial.parent == tmp_path
        partial.write_bytes(np.zeros(1, np.uint8).tobytes())


def test_partials_of_live_writers_are_kept(tmp_path: Path) -> None:
    live = tmp_path / f".a.nc.partial-{os.getppid()}-0000.nc"
    live.write_text("another process is still writing this")
    write_text(tmp_path / "a.nc", "done")
    assert live.exists()
