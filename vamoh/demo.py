"""``vamoh demo toy``: the built-in demo, which needs no plugin.

It trains on synthetic 1-D functions (the built-in toy modality), fills 50% random gaps in
held-out functions, and compares with linear interpolation on the same gaps. ``vamoh demo``
runs it when the climate plugin (whose demo fits real ERA5) is not installed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from vamoh.atomic import write_text

__all__ = ["run_demo"]


def _functions(n: int, points: int, rng: np.random.Generator) -> np.ndarray:
    x = np.linspace(0, 1, points)
    freq = rng.uniform(2, 5, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.5, (n, 1))
    return amp * np.sin(2 * np.pi * freq * x[None] / 2 + phase)


def run_demo(output: str | Path = "vamoh-output", quick: bool = False) -> int:
    """Synthetic 1-D functions: fit, fill 50% gaps, compare with linear interpolation.

    Writes ``demo.vamoh`` (the model) and ``demo.json`` (the scores) into ``output``; returns 0.
    """
    import torch

    import vamoh
    from vamoh.toy import ToyModality

    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    train, test = _functions(192, 64, rng), _functions(16, 64, rng)
    config = dict(
        dim_z=16,
        n_components=3,
        fourier_features=32,
        encoder_centroids=[32, 8],
        encoder_neighbours=[6, 4],
        encoder_channels=[32, 32],
        encoder_weight_net=[8],
        hypernet_layers=[64, 128],
        generator_layers=[32, 32],
        categorical_layers=[16],
        flow_layers=2,
        batch_size=16,
        lr=3e-3,
        point_dropout=0.6,
    )
    start = time.time()
    with vamoh.plugins.registered(ToyModality.plugin()):
        model = vamoh.fit(
            train, modality="toy", max_epochs=3 if quick else 60, config=config, progress=not quick
        )
        gaps = test.copy()
        hidden = rng.random(gaps.shape) < 0.5
        gaps[hidden] = np.nan
        filled = model.impute(gaps)["v0"].values
        model.save(out / "demo.vamoh", overwrite=True)
    x = np.arange(test.shape[1])
    linear = np.stack([np.interp(x, x[~h], g[~h]) for g, h in zip(gaps, hidden)])
    rmse_model = float(np.sqrt(np.mean((filled[hidden] - test[hidden]) ** 2)))
    rmse_linear = float(np.sqrt(np.mean((linear[hidden] - test[hidden]) ** 2)))
    result = {
        "vamoh_rmse": rmse_model,
        "linear_rmse": rmse_linear,
        "seconds": round(time.time() - start, 1),
    }
    write_text(out / "demo.json", json.dumps(result, indent=2), overwrite=True)
    print("\ngap-filling 50% random points of 16 held-out functions (RMSE):")
    print(f"  vamoh   {rmse_model:.4f}")
    print(f"  linear  {rmse_linear:.4f}")
    print(f"outputs in {out.resolve()}: demo.vamoh (model), demo.json (scores)")
    return 0
