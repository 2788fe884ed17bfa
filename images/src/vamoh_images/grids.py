"""Image grids: one labelled row per stage (input, masked, reconstruction, super-resolution...).

Rows may differ in resolution (a x2 super-resolution row next to the input); every cell is drawn
at the same size with nearest-neighbour pixels, so the extra detail is visible, and hidden (NaN)
pixels show in a flat colour.

Example:
    >>> import numpy as np, tempfile
    >>> from pathlib import Path
    >>> from vamoh_images import from_array
    >>> images = from_array(np.random.default_rng(0).integers(0, 255, (3, 8, 8), np.uint8))
    >>> path = save_grid({"input": images, "again": images}, Path(tempfile.mkdtemp()) / "grid.png")
    >>> path.read_bytes()[:4] == b"\\x89PNG"
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vamoh.atomic import atomic_output
from vamoh_images.render import to_display

__all__ = ["image_grid", "save_grid"]

_MISSING = (0.85, 0.2, 0.85)  # magenta: never mistaken for a dark or grey pixel


def _rows(rows: Mapping[str, Any] | Sequence[Any]) -> list[tuple[str, Any]]:
    if isinstance(rows, Mapping):
        return [(str(k), v) for k, v in rows.items()]
    return [("", v) for v in rows]


def image_grid(
    rows: Mapping[str, Any] | Sequence[Any],
    *,
    n_images: int = 8,
    variable: str | None = None,
    missing_colour: tuple[float, float, float] = _MISSING,
    cell_inches: float = 1.2,
    dpi: int = 100,
) -> Any:
    """A matplotlib figure with one row per entry of ``rows`` and ``n_images`` columns.

    Args:
        rows: ``{"input": ds, "masked": hidden, "reconstruction": recon, ...}`` (labels on the
            left) or a list; each entry is images as accepted by
            :func:`vamoh_images.render.to_display` (uint8 RGB maps from
            :func:`~vamoh_images.render.segmentation_rgb` included).
        n_images: columns; rows with fewer images leave cells empty.
        variable: the image variable of dataset rows (default: the first with ``y``/``x``).
        missing_colour: RGB in [0, 1] for NaN pixels.
        cell_inches: size of one cell.
        dpi: resolution when saved.

    Example:
        >>> import numpy as np
        >>> fig = image_grid([np.zeros((5, 4, 4), np.uint8)], n_images=3)
        >>> len(fig.axes)
        3
    """
    from matplotlib.figure import Figure

    entries = _rows(rows)
    if not entries:
        raise ValueError("image_grid needs at least one row of images.")
    shown = [(label, to_display(data, variable=variable)[:n_images]) for label, data in entries]
    n_cols = max(1, min(n_images, max(len(images) for _, images in shown)))
    fig = Figure(figsize=(cell_inches * n_cols, cell_inches * len(shown)), dpi=dpi)
    axes = np.atleast_2d(fig.subplots(len(shown), n_cols, squeeze=False))
    for r, (label, images) in enumerate(shown):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(images):
                cell = np.where(np.isfinite(images[c]), images[c], np.asarray(missing_colour))
                ax.imshow(cell, interpolation="nearest", vmin=0.0, vmax=1.0)
        if label:
            axes[r, 0].set_ylabel(label, rotation=90, fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.99, bottom=0.01, wspace=0.04, hspace=0.04)
    return fig


def save_grid(rows: Mapping[str, Any] | Sequence[Any], path: Any, **kwargs: Any) -> Path:
    """Draw :func:`image_grid` and write it as a PNG at ``path``; returns the path.

    Example:
        >>> import numpy as np, tempfile
        >>> from pathlib import Path
        >>> out = save_grid([np.zeros((1, 4, 4), np.uint8)], Path(tempfile.mkdtemp()) / "g.png")
        >>> out.stat().st_size > 0
        True
    """
    target = Path(path)
    fig = image_grid(rows, **kwargs)
    with atomic_output(target, overwrite=True) as partial:
        fig.savefig(partial, format="png")
    return target
