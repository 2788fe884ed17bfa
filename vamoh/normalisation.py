"""Per-channel scaling of values onto the likelihood's support, learned from training data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vamoh.pointset import sample_blocks

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
        """Statistics over all samples and points of ``values`` ``(S, N, C)``.

        Samples are read a block at a time (a few tens of MB), so a lazy store larger than memory
        is normalised with flat memory use.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown normalisation {kind!r}; choose one of {KINDS}.")
        c = values.shape[-1]
        if kind == "none":
            return cls(kind, np.zeros(c), np.ones(c))
        if kind == "uint8":
            return cls(kind, np.full(c, 127.5), np.full(c, 127.5))
        offset, scale = _streamed_stats(kind, values)
        offset = np.asarray(offset, dtype=np.float64)
        scale = np.asarray(scale, dtype=np.float64)
        if not np.isfinite(offset).all():
            raise ValueError("a channel has no finite value in the training data; drop it.")
        scale = np.where(scale > 0, scale, 1.0)  # a constant channel stays finite
        return cls(kind, offset, scale)

    def baseline(
        self, modality: Any, points: Any, normalised: np.ndarray, query: np.ndarray
    ) -> np.ndarray:
        """The modality's interpolation of normalised observations, normalised, NaN-free.

        Modalities interpolate in data units (a climatology-aware baseline adds kelvin detail),
        so values go out of and back into the model's units around the call.
        """
        observed = self.inverse(normalised)
        base = self.forward(np.asarray(modality.interpolate(points, observed, query)))
        return np.nan_to_num(base.astype(np.float32))

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


def _streamed_stats(kind: str, values: Any) -> tuple[np.ndarray, np.ndarray]:
    c = values.shape[-1]
    count, total, total_sq = np.zeros(c), np.zeros(c), np.zeros(c)
    lo, hi = np.full(c, np.inf), np.full(c, -np.inf)
    shift = None  # sums of (x - shift) keep the variance exact for large offsets (e.g. kelvin)
    for block in sample_blocks(values):
        finite = np.isfinite(block)
        if shift is None and finite.any():
            shift = np.nan_to_num(np.nanmean(np.where(finite, block, np.nan), axis=(0, 1)))
        centred = np.where(finite, block - (shift if shift is not None else 0.0), 0.0)
        count += finite.sum(axis=(0, 1))
        total += centred.sum(axis=(0, 1))
        total_sq += (centred**2).sum(axis=(0, 1))
        lo = np.minimum(lo, np.where(finite, block, np.inf).min(axis=(0, 1)))
        hi = np.maximum(hi, np.where(finite, block, -np.inf).max(axis=(0, 1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        if kind == "standard":
            offset = mean + (shift if shift is not None else 0.0)
            scale = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
        else:
            offset, scale = lo, hi - lo
    offset = np.where(count > 0, offset, np.nan)
    return offset, np.where(count > 0, scale, np.nan)
