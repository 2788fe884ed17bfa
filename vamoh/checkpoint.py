"""The ``.vamoh`` file: weights, config, normalisation and plugin identity in one torch file.

Only tensors and plain Python values are stored, so it loads with ``torch.load(weights_only=True)``:
loading a model never unpickles arbitrary objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vamoh.atomic import atomic_output

__all__ = [
    "CheckpointError",
    "MissingModelError",
    "NewerFormatError",
    "read_checkpoint",
    "write_checkpoint",
]

FORMAT = "vamoh-model"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a readable vamoh model (corrupt, foreign, or from an unknown format)."""


class MissingModelError(CheckpointError, FileNotFoundError):
    """No file at the model path (also a ``FileNotFoundError``)."""


class NewerFormatError(CheckpointError):
    """The model file has a format version newer than this vamoh reads: upgrade vamoh."""


def write_checkpoint(path: str | Path, payload: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write ``payload`` to ``path``; an existing file is kept unless ``overwrite=True``.

    The file is written beside ``path`` and renamed into place (:func:`vamoh.atomic.atomic_output`),
    so a killed or failed save never leaves half a model under the name.
    """
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as partial:
        torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, **payload}, partial)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a ``.vamoh`` file with ``weights_only=True``; clear errors for anything else."""
    path = Path(path)
    if not path.is_file():
        raise MissingModelError(f"no vamoh model at {path}; check the path.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path} is not a readable vamoh model (torch.load failed: {type(exc).__name__}). It may be "
            f"truncated or corrupt, or a file of another program; save it again with model.save()."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a torch file but not a vamoh model (no 'format': {FORMAT!r}); "
            f"load Lightning checkpoints with vamoh.fit(..., resume=path) instead."
        )
    written = payload.get("format_version", 0)
    if not isinstance(written, int) or written > FORMAT_VERSION:
        from vamoh._version import __version__

        raise NewerFormatError(
            f"{path} is a vamoh model of format version {written} (written by vamoh "
            f"{payload.get('vamoh_version', '?')}), but this vamoh {__version__} reads format "
            f"versions up to {FORMAT_VERSION}; upgrade vamoh to load it: "
            f"pip install --upgrade vamoh."
        )
    return payload
