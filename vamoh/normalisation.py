"""Per-channel scaling of values onto the likelihood's support, learned from training data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Normaliser"]

KINDS = ("standard", "minmax", "uint8", "none")


@dataclass(frozen=True)
class Normaliser:
    """``normalised = (value - offset) / scale`` per channel; stored in checkpoints.

    Example:
        >>> import numpy as np
        >>> values = np.array([[[270.0], [280.0], [np.nan]]])
        >>> n = Normaliser.fit("minmax", values)
        >>> n.forward(values)[0, :, 0].tolist()[:2]
        [0.0, 1.0]
        >>> float(n.inverse(n.forward(values))[0, 1, 0])
        280.0
    """

    kind: str
    offset: np.ndarray  # (C,)
    scale: np.ndarray  # (C,)

    @classmethod
    def fit(cls, kind: str, values: Any) -> Normaliser:
        """Statistics over all samples and points of ``values`` ``(S, N, C)`` (dask stays chunked)."""
        if kind not in KINDS:
            raise ValueError(f"unknown normalisation {kind!r}; choose one of {KINDS}.")
        c = values.shape[-1]
        if kind == "none":
            return cls(kind, np.zeros(c), np.ones(c))
        if kind == "uint8":
            return cls(kind, np.full(c, 127.5), np.full(c, 127.5))
        lib: Any = np
        if hasattr(values, "compute"):
            import dask.array as lib  # reductions stream chunk by chunk
        if kind == "standard":
            offset = lib.nanmean(values, axis=(0, 1))
            scale = lib.nanstd(values, axis=(0, 1))
        else:
            lo = lib.nanmin(values, axis=(0, 1))
            offset, scale = lo, lib.nanmax(values, axis=(0, 1)) - lo
        if hasattr(offset, "compute"):
            import dask

            offset, scale = dask.compute(offset, scale)
        offset = np.asarray(offset, dtype=np.float64)
        scale = np.asarray(scale, dtype=np.float64)
        if not np.isfinite(offset).all():
            raise ValueError("a channel has no finite value in the training data; drop it.")
        scale = np.where(scale > 0, scale, 1.0)  # a constant channel stays finite
        return cls(kind, offset, scale)

    def forward(self, values: np.ndarray) -> np.ndarray:
        return (values - self.offset) / self.scale

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.scale + self.offset

    def inverse_std(self, std: np.ndarray) -> np.ndarray:
        return std * self.scale

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normaliser:
        return cls(data["kind"], np.asarray(data["offset"]), np.asarray(data["scale"]))
