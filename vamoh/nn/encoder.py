"""PointConv encoder q(z | X, Y) = N(mu, sigma) over a batch of masked point sets.

Missing points are absent, never zero-filled: centroids and neighbours are chosen among each
sample's valid points only. The neighbour structure (centroid choice and kNN, per layer) depends
only on coordinates and masks, so it is computed once on the CPU with a KD-tree and cached by a
digest of exactly what it was computed from.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vamoh.neighbours import (
    farthest_point_order,
    farthest_point_sample,
    knn,
    knn_torch,
    ordered_sample,
    random_sample,
    stratified_sample,
)

__all__ = ["EncoderPlan", "PointConvEncoder", "PointConvLayer"]


@dataclass
class EncoderPlan:
    """Per layer: centroid indices ``(B, M)`` into the previous level and neighbours ``(B, M, k)``.

    ``pools`` holds the same for the optional average-pooling step after each layer (or None).
    """

    centroids: list[torch.Tensor]
    neighbours: list[torch.Tensor]
    pools: list[tuple[torch.Tensor, torch.Tensor] | None]


class PointConvLayer(nn.Module):
    """One PointConv layer: a weight net on centred offsets, features times weights, a Linear.

    Example:
        >>> import torch
        >>> layer = PointConvLayer(in_channels=2, out_channels=8, dim=3, weight_net=[16, 16])
        >>> layer(torch.zeros(2, 5, 9, 2), torch.zeros(2, 5, 9, 3)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, dim: int, weight_net: list[int]):
        super().__init__()
        widths = [dim, *weight_net]
        self.weight_net = nn.ModuleList(nn.Linear(i, o) for i, o in zip(widths[:-1], widths[1:]))
        self.linear = nn.Linear((in_channels + dim) * widths[-1], out_channels)

    def forward(self, grouped: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """``grouped`` ``(B, M, k, C)`` neighbour features, ``offsets`` ``(B, M, k, d)``."""
        w = offsets
        for i, layer in enumerate(self.weight_net):
            w = layer(w)
            if i < len(self.weight_net) - 1:
                w = F.relu(w)
        feats = torch.cat([grouped, offsets], dim=-1)  # (B, M, k, C + d)
        agg = torch.einsum("bmkc,bmkw->bmcw", feats, w)  # (B, M, C + d, W)
        return F.leaky_relu(self.linear(agg.flatten(2)), 0.2)


def _gather(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``t`` ``(B, N, C)`` at ``idx`` ``(B, ...)`` -> ``(B, ..., C)``."""
    # index_select on the flattened batch: its backward is a plain index_add, measured 1.5x
    # faster than the accumulating index_put behind advanced indexing
    b, n = t.shape[:2]
    offset = (torch.arange(b, device=t.device) * n).view(-1, *([1] * (idx.dim() - 1)))
    flat = t.reshape(b * n, *t.shape[2:]).index_select(0, (idx + offset).reshape(-1))
    return flat.view(*idx.shape, *t.shape[2:])


class PointConvEncoder(nn.Module):
    """Maps observed points to the mean and standard deviation of q(z | X, Y).

    Example:
        >>> import torch
        >>> enc = PointConvEncoder(dim=2, channels=1, dim_z=4, centroids=[8, 2], neighbours=[4, 2],
        ...                        out_channels=[8, 8], weight_net=[4])
        >>> x = torch.rand(16, 2)
        >>> y, mask = torch.rand(3, 16, 1), torch.ones(3, 16, dtype=torch.bool)
        >>> mu, sigma = enc(x, y, mask)
        >>> mu.shape, bool((sigma > 0).all())
        (torch.Size([3, 4]), True)
    """

    def __init__(
        self,
        dim: int,
        channels: int,
        dim_z: int,
        centroids: list[int],
        neighbours: list[int],
        out_channels: list[int],
        weight_net: list[int],
        pool_centroids: list[int | None] | None = None,
        pool_neighbours: list[int | None] | None = None,
        centroid_method: str = "fps",
        readout: str = "flatten",
        cache_size: int = 32,
    ) -> None:
        super().__init__()
        self.centroids = list(centroids)
        self.neighbours = list(neighbours)
        n = len(centroids)
        self.pool_centroids = list(pool_centroids) if pool_centroids else [None] * n
        self.pool_neighbours = list(pool_neighbours) if pool_neighbours else [None] * n
        self.centroid_method = centroid_method
        self.readout = readout
        in_ch = [2 * channels, *out_channels[:-1]]  # values and their observed-mask
        self.layers = nn.ModuleList(
            PointConvLayer(i, o, dim, weight_net) for i, o in zip(in_ch, out_channels)
        )
        last = self.pool_centroids[-1] or centroids[-1]
        head_in = last * out_channels[-1] if readout == "flatten" else out_channels[-1]
        self.head = nn.Linear(head_in, 2 * dim_z)
        # offsets are measured in each layer's typical neighbourhood radius: raw offsets are tiny
        # (a grid spacing) and would leave the weight nets nearly constant. Set from the first
        # batch seen (0 = unset) and saved with the weights.
        self.register_buffer("offset_scales", torch.zeros(n))
        self._cache: OrderedDict[bytes, EncoderPlan] = OrderedDict()
        self._cache_size = cache_size
        self._rng = np.random.default_rng(0)
        self._orders: dict[bytes, np.ndarray] = {}

    # -- neighbour structure ----------------------------------------------------------------
    def _choose(
        self, coords: np.ndarray, mask: np.ndarray, m: int, in_order: bool = False
    ) -> np.ndarray:
        """``(B, m)`` centroid indices; ``in_order`` says the points are an ordered selection
        from the level above (fps_order: its first ``m`` points are the next level's)."""
        if self.centroid_method == "fps_order":
            if in_order:
                return np.tile(np.arange(m) % coords.shape[-2], (mask.shape[0], 1))
            if coords.ndim == 2:
                return ordered_sample(self._order(coords), mask, m)
            return farthest_point_sample(coords, mask, m)  # per-sample coordinates: no shared order
        if self.centroid_method == "fps":
            return farthest_point_sample(coords, mask, m)
        if self.centroid_method == "stratified" and coords.ndim == 2:
            return stratified_sample(coords, mask, m, self._rng)
        return random_sample(mask, m, self._rng)

    def clear_cache(self) -> None:
        """Forget cached neighbour structures (e.g. to time a cold encoder pass)."""
        self._cache.clear()
        self._orders.clear()

    def _order(self, coords: np.ndarray) -> np.ndarray:
        """Farthest-point order of shared coordinates, computed once per coordinate set."""
        digest = hashlib.blake2b(np.ascontiguousarray(coords).tobytes(), digest_size=16).digest()
        if digest not in self._orders:
            if len(self._orders) >= 4:
                self._orders.pop(next(iter(self._orders)))
            self._orders[digest] = farthest_point_order(coords)
        return self._orders[digest]

    def _knn(
        self, ref: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None, device
    ) -> np.ndarray:
        if device.type != "cpu":  # brute force on the accelerator beats a CPU KD-tree there
            r = torch.as_tensor(ref, device=device)
            q = torch.as_tensor(query, device=device)
            r = r.expand(q.shape[0], *r.shape[-2:]) if r.dim() == 2 else r
            m = torch.as_tensor(mask, device=device) if mask is not None else None
            return knn_torch(r, q, k, m)[0].cpu().numpy()
        return knn(ref, query, k, ref_mask=mask)[0]

    def plan(self, x: np.ndarray, mask: np.ndarray, device: torch.device) -> EncoderPlan:
        """Centroids and neighbours for every layer, cached when the method is deterministic.

        ``x`` is ``(N, d)`` shared or ``(B, N, d)``; ``mask`` is ``(B, N)``.
        """
        deterministic = self.centroid_method in ("fps", "fps_order")
        key = None
        if deterministic:
            digest = hashlib.blake2b(digest_size=16)
            digest.update(np.ascontiguousarray(x).tobytes())
            digest.update(np.packbits(mask).tobytes())
            digest.update(str(mask.shape).encode())
            key = digest.digest()
            if key in self._cache:
                self._cache.move_to_end(key)
                plan = self._cache[key]
                if plan.centroids[0].device == device:
                    return plan
        batch = mask.shape[0]
        points, valid = x, mask
        centroids, neighbours, pools = [], [], []
        for i, (m, k) in enumerate(zip(self.centroids, self.neighbours)):
            c_idx = self._choose(points, valid, m, in_order=i > 0)  # (B, m) into this level
            pts = points if points.ndim == 3 else np.broadcast_to(points, (batch, *points.shape))
            c_pts = np.take_along_axis(pts, c_idx[..., None], axis=1)  # (B, m, d)
            n_idx = self._knn(points, c_pts, k, valid, device)  # (B, m, k)
            centroids.append(torch.as_tensor(c_idx, device=device))
            neighbours.append(torch.as_tensor(n_idx, device=device))
            points, valid = c_pts, np.ones((batch, m), dtype=bool)
            pc, pk = self.pool_centroids[i], self.pool_neighbours[i]
            if pc:
                p_idx = self._choose(points, valid, pc, in_order=True)
                p_pts = np.take_along_axis(points, p_idx[..., None], axis=1)
                p_nbr = self._knn(points, p_pts, pk or 1, None, device)
                pools.append(
                    (torch.as_tensor(p_idx, device=device), torch.as_tensor(p_nbr, device=device))
                )
                points = p_pts
                valid = np.ones((batch, pc), dtype=bool)
            else:
                pools.append(None)
        plan = EncoderPlan(centroids, neighbours, pools)
        if key is not None:
            self._cache[key] = plan
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return plan

    def _offset_scale(self, layer: int, offsets: torch.Tensor) -> torch.Tensor:
        """The layer's neighbourhood radius: median over centroids of the farthest neighbour."""
        if float(self.offset_scales[layer]) == 0.0:
            radius = offsets.detach().norm(dim=-1).amax(dim=-1).median()
            self.offset_scales[layer] = radius if float(radius) > 0 else 1.0
        return self.offset_scales[layer]

    # -- forward ------------------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor,
        valid: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters for observed points.

        Args:
            x: ``(N, d)`` shared or ``(B, N, d)`` coordinates.
            y: ``(B, N, C)`` values (anything at absent points: they are never read).
            mask: ``(B, N)`` True where the point is observed (in at least one channel).
            valid: ``(B, N, C)`` per-channel observed mask (default: ``mask`` for every channel).

        Returns:
            ``mu`` ``(B, dim_z)`` and ``sigma`` ``(B, dim_z)``.
        """
        batch = y.shape[0]
        if valid is None:
            valid = mask[..., None].expand_as(y)
        if not bool(mask.any(dim=1).all()):
            raise ValueError("every sample needs at least one observed point to be encoded.")
        plan = self.plan(x.detach().cpu().numpy(), mask.cpu().numpy(), y.device)
        v = valid.to(y.dtype)
        feats = torch.cat([torch.where(valid, y, torch.zeros_like(y)), v], dim=-1)  # (B, N, 2C)
        points = x.expand(batch, *x.shape[-2:]) if x.dim() == 2 else x
        for i, (layer, c_idx, n_idx, pool) in enumerate(
            zip(self.layers, plan.centroids, plan.neighbours, plan.pools)
        ):
            c_pts = _gather(points, c_idx)  # (B, M, d)
            offsets = _gather(points, n_idx) - c_pts[:, :, None, :]  # (B, M, k, d)
            offsets = offsets / self._offset_scale(i, offsets)
            feats = layer(_gather(feats, n_idx), offsets)  # (B, M, C_out)
            points = c_pts
            if pool is not None:
                p_idx, p_nbr = pool
                feats = _gather(feats, p_nbr).mean(dim=2)  # (B, P, C)
                points = _gather(points, p_idx)
        pooled = feats.flatten(1) if self.readout == "flatten" else feats.mean(dim=1)
        mu, raw = self.head(pooled).chunk(2, dim=-1)
        return mu, F.softplus(raw) + 1e-4
