"""The ``.vamoh`` file: weights, config, normalisation and plugin identity in one torch file.

Only tensors and plain Python values are stored, so it loads with ``torch.load(weights_only=True)``:
loading a model never unpickles arbitrary objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "read_checkpoint", "write_checkpoint"]

FORMAT = "vamoh-model"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a readable vamoh model (corrupt, foreign, or from an unknown format)."""


def write_checkpoint(path: str | Path, payload: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write ``payload`` to ``path``; an existing file is kept unless ``overwrite=True``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} exists; pass overwrite=True to replace it, or choose another path."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, **payload}, tmp)
    tmp.replace(path)  # never leave a half-written model behind
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a ``.vamoh`` file with ``weights_only=True``; clear errors for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no vamoh model at {path}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path} is not a readable vamoh model ({type(exc).__name__}: {exc}). It may be "
            f"truncated or corrupt, or a file of another program; save it again with model.save()."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a torch file but not a vamoh model (no 'format': {FORMAT!r}); "
            f"load Lightning checkpoints with vamoh.fit(..., resume=path) instead."
        )
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer vamoh (format {payload['format_version']}); upgrade "
            f"vamoh to load it."
        )
    return payload
