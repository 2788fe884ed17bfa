"""The files a training run writes and reads, checked before it starts, not after an hour.

``checkpoint_dir`` must be a folder vamoh can create and write to, with room for the checkpoints
(weights and optimiser state: about three times the weights, one file for the last epoch, one for
the best, and one more while a new one is written). ``resume`` must be a Lightning checkpoint
written by ``vamoh.fit`` for a network of the same shape.

Example:
    >>> import tempfile, torch
    >>> check_checkpoint_dir(tempfile.mkdtemp(), torch.nn.Linear(2, 2), keeps_best=True)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

from vamoh.checkpoint import CheckpointError, MissingModelError

__all__ = [
    "CheckpointFolderError",
    "check_checkpoint_dir",
    "check_resume",
    "check_training_files",
    "checkpoint_bytes",
]

# AdamW keeps two moments per weight: a Lightning checkpoint is about three times the weights
_OPTIMISER_COPIES = 3
_OVERHEAD = 1 << 20


class CheckpointFolderError(ValueError):
    """``checkpoint_dir`` cannot be created or written, or lacks room for the checkpoints."""


def checkpoint_bytes(network: torch.nn.Module) -> int:
    """Estimated size of one Lightning checkpoint of ``network`` (weights and AdamW state).

    Example:
        >>> checkpoint_bytes(torch.nn.Linear(1000, 1000)) // 2**20
        12
    """
    weights = sum(t.numel() * t.element_size() for t in network.state_dict().values())
    return _OPTIMISER_COPIES * weights + _OVERHEAD


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def check_checkpoint_dir(path: str | Path, network: torch.nn.Module, *, keeps_best: bool) -> None:
    """Create ``path`` if needed and make sure checkpoints of ``network`` can be written there.

    Raises:
        CheckpointFolderError: a file is in the way, the folder cannot be created or written
            (read-only, no permission), or its disk has less free space than the checkpoints
            need.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CheckpointFolderError(
            f"checkpoint_dir {folder} is a file, not a folder; choose a folder path (it is "
            f"created if needed)."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".vamoh-write-test-{os.getpid()}"
        probe.write_bytes(b"0")
        probe.unlink()
    except OSError as exc:
        raise CheckpointFolderError(
            f"checkpoint_dir {folder} cannot be written ({exc.strerror or exc}); training would "
            f"fail at its first checkpoint. Choose a writable folder, or fix its permissions."
        ) from exc
    size = checkpoint_bytes(network)
    files = 3 if keeps_best else 2  # last.ckpt (+ best.ckpt) + the one being written
    needed = files * size
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise CheckpointFolderError(
            f"checkpoint_dir {folder} has {_mib(free)} free, but training writes checkpoints of "
            f"about {_mib(size)} each (weights and optimiser state) and needs about "
            f"{_mib(needed)} ({'last.ckpt, best.ckpt' if keeps_best else 'last.ckpt'} and one "
            f"being written). Free some space or choose a folder on another disk."
        )


def check_resume(path: str | Path, network: torch.nn.Module) -> None:
    """``path`` must be a Lightning checkpoint of ``vamoh.fit`` for a module shaped like ``network``
    (the training system whose ``state_dict`` Lightning stored).

    Reads the file memory-mapped (no copy of the weights) and compares every tensor's shape.

    Raises:
        MissingModelError: no file at ``path``.
        CheckpointError: not a readable checkpoint, a saved model (``model.save``) instead of
            a training checkpoint, or one written for another configuration or data.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingModelError(
            f"resume={str(path)!r}: no checkpoint there; resume takes the last.ckpt that "
            f"vamoh.fit(..., checkpoint_dir=...) wrote."
        )
    try:
        payload: Any = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        raise CheckpointError(
            f"resume={str(path)!r} is not a readable training checkpoint ({type(exc).__name__}); "
            f"it may be truncated or corrupt. Resume from another checkpoint, e.g. best.ckpt "
            f"beside it, or train from the start."
        ) from exc
    if isinstance(payload, dict) and payload.get("format") == "vamoh-model":
        raise CheckpointError(
            f"resume={str(path)!r} is a saved model (model.save), not a training checkpoint; "
            f"load it with vamoh.load(path). resume= takes the last.ckpt that "
            f"vamoh.fit(..., checkpoint_dir=...) wrote."
        )
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise CheckpointError(
            f"resume={str(path)!r} is a torch file but not a Lightning training checkpoint of "
            f"vamoh.fit (no 'state_dict'); resume from the last.ckpt in a checkpoint_dir."
        )
    stored = payload["state_dict"]
    wanted = network.state_dict()
    differing = [
        k for k in wanted if k in stored and tuple(stored[k].shape) != tuple(wanted[k].shape)
    ]
    missing = [k for k in wanted if k not in stored]
    if differing or missing:
        example = (
            f"{differing[0]}: {tuple(stored[differing[0]].shape)} in the checkpoint, "
            f"{tuple(wanted[differing[0]].shape)} now"
            if differing
            else f"{missing[0]} is not in the checkpoint"
        )
        raise CheckpointError(
            f"resume={str(path)!r} was written for another network ({len(differing)} weights of "
            f"another shape, {len(missing)} missing; e.g. {example}). Resume with the same data, "
            f"variables and config as the interrupted run."
        )


def check_training_files(
    checkpoint_dir: str | Path | None,
    resume: str | Path | None,
    network: torch.nn.Module,
    *,
    keeps_best: bool,
) -> None:
    """:func:`check_resume` and :func:`check_checkpoint_dir` for the arguments given to ``fit``.

    Example:
        >>> check_training_files(None, None, torch.nn.Linear(2, 2), keeps_best=False)
    """
    if resume is not None:
        check_resume(resume, network)
    if checkpoint_dir is not None:
        check_checkpoint_dir(checkpoint_dir, network, keeps_best=keeps_best)
