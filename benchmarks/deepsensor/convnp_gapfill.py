"""Train DeepSensor's ConvNP to fill gaps in gridded fields, then predict held-out fields.

This script runs inside DeepSensor's own virtual environment (``benchmarks/.venv-deepsensor``,
made by ``benchmarks/deepsensor_convnp.py``), so it imports neither vamoh nor anything from
the repository: its inputs and outputs are plain ``.npz`` files.

Usage::

    python convnp_gapfill.py INPUTS.npz OUTPUT.npz [--threads N]

The inputs (written by :func:`benchmarks.deepsensor_convnp.export_inputs`) hold the training
fields, the test fields, one boolean mask per test task (True = hidden), the training budget and
the seed. The output holds ``mean_<i>`` and ``std_<i>`` for test task ``i`` on the input's grid
and axis order, and ``info`` (a JSON string: epochs, seconds, versions, losses). Scoring happens
in the main process, with the same code as every other method.

Training follows DeepSensor's own recipe (``DataProcessor`` normalisation fitted on the training
fields, a ``TaskLoader`` with the field as context and target, ``ConvNP`` with the defaults it
infers from the data, ``deepsensor.train.train_epoch`` with Adam): each epoch hides a fresh random
``train_fraction`` of every training field's points from the context, as the test tasks do.

Example:
    >>> import numpy as np
    >>> hidden = hide_points(np.ones((1, 2, 3)), np.array([[[True, False, False]] * 2]))
    >>> int(np.isnan(hidden).sum())
    2
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TASK_PREFIX = "mask_"


@dataclass
class Inputs:
    """The arrays and settings a run needs, as read from the input ``.npz``.

    ``train`` is ``(T, H, W)``, ``test`` ``(S, H, W)``, ``masks`` maps a task name to an
    ``(S, H, W)`` boolean array (True = hidden from the model and scored). Times are
    ``datetime64[ns]``; latitude and longitude keep the order of the main process's grid.

    Example:
        >>> import numpy as np
        >>> inputs = Inputs(name="t", units="K", lat=np.zeros(2), lon=np.zeros(3),
        ...     train=np.zeros((4, 2, 3)), train_times=np.zeros(4, "datetime64[ns]"),
        ...     test=np.zeros((1, 2, 3)), test_times=np.zeros(1, "datetime64[ns]"),
        ...     masks={"a": np.zeros((1, 2, 3), bool)}, train_fraction=0.5, seed=0,
        ...     budget_seconds=1.0, max_epochs=1, batch_size=2, lr=5e-5)
        >>> inputs.grid_shape
        (2, 3)
    """

    name: str
    units: str
    lat: np.ndarray
    lon: np.ndarray
    train: np.ndarray
    train_times: np.ndarray
    test: np.ndarray
    test_times: np.ndarray
    masks: dict[str, np.ndarray]
    train_fraction: float
    seed: int
    budget_seconds: float
    max_epochs: int
    batch_size: int
    lr: float

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (self.lat.size, self.lon.size)


def read_inputs(path: str | Path) -> Inputs:
    """Read and check the inputs written by the main process (no DeepSensor needed).

    Raises:
        ValueError: a missing key or arrays whose shapes do not fit together.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "in.npz")
        >>> np.savez(path, name="t2m", units="K", lat=np.arange(2.0), lon=np.arange(3.0),
        ...     train=np.zeros((4, 2, 3)), train_times=np.arange(4).astype("datetime64[h]"),
        ...     test=np.zeros((1, 2, 3)), test_times=np.arange(1).astype("datetime64[h]"),
        ...     task_names=np.array(["random"]), mask_0=np.zeros((1, 2, 3), bool),
        ...     train_fraction=0.5, seed=0, budget_seconds=5.0, max_epochs=2, batch_size=2,
        ...     lr=5e-5)
        >>> inputs = read_inputs(path)
        >>> list(inputs.masks), inputs.train.shape, str(inputs.train_times.dtype)
        (['random'], (4, 2, 3), 'datetime64[ns]')
    """
    with np.load(path, allow_pickle=False) as data:
        missing = [
            key
            for key in ("name", "lat", "lon", "train", "test", "task_names", "budget_seconds")
            if key not in data
        ]
        if missing:
            raise ValueError(
                f"{path} lacks {missing}; write it with benchmarks.deepsensor_convnp.export_inputs."
            )
        names = [str(n) for n in data["task_names"]]
        inputs = Inputs(
            name=str(data["name"]),
            units=str(data["units"]) if "units" in data else "",
            lat=np.asarray(data["lat"], dtype=np.float64),
            lon=np.asarray(data["lon"], dtype=np.float64),
            train=np.asarray(data["train"], dtype=np.float32),
            train_times=np.asarray(data["train_times"]).astype("datetime64[ns]"),
            test=np.asarray(data["test"], dtype=np.float32),
            test_times=np.asarray(data["test_times"]).astype("datetime64[ns]"),
            masks={
                n: np.asarray(data[f"{TASK_PREFIX}{i}"], dtype=bool) for i, n in enumerate(names)
            },
            train_fraction=float(data["train_fraction"]),
            seed=int(data["seed"]),
            budget_seconds=float(data["budget_seconds"]),
            max_epochs=int(data["max_epochs"]),
            batch_size=int(data["batch_size"]),
            lr=float(data["lr"]),
        )
    grid = inputs.grid_shape
    if inputs.train.shape[1:] != grid or inputs.test.shape[1:] != grid:
        raise ValueError(
            f"train {inputs.train.shape} and test {inputs.test.shape} must be (n, {grid[0]}, "
            f"{grid[1]}) for {grid[0]} latitudes and {grid[1]} longitudes."
        )
    for name, mask in inputs.masks.items():
        if mask.shape != inputs.test.shape:
            raise ValueError(
                f"mask {name!r} is {mask.shape}; it must match test {inputs.test.shape}."
            )
    return inputs


def hide_points(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """A float copy of ``values`` with NaN where ``hidden`` (DeepSensor masks NaN context).

    Example:
        >>> import numpy as np
        >>> hide_points(np.arange(3.0), np.array([False, True, False])).tolist()
        [0.0, nan, 2.0]
    """
    return np.where(hidden, np.nan, np.asarray(values, dtype=np.float32))


def _dataarray(inputs: Inputs, values: np.ndarray, times: np.ndarray) -> Any:
    """``(n, H, W)`` values as a DataArray with ascending latitude (DeepSensor's grid order)."""
    import xarray as xr

    da = xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={"time": times, "lat": inputs.lat, "lon": inputs.lon},
        name=inputs.name,
    )
    return da.sortby("lat").sortby("lon")


def _masked_task(task: Any, hidden: np.ndarray) -> Any:
    """A copy of a gridded DeepSensor task whose context hides ``hidden`` ``(H, W)`` points."""
    out = copy.deepcopy(task)
    context = np.asarray(out["Y_c"][0])
    out["Y_c"][0] = hide_points(context, np.broadcast_to(hidden, context.shape))
    return out


def _ascending(inputs: Inputs, hidden: np.ndarray) -> np.ndarray:
    """Reorder ``(..., H, W)`` arrays from the input's axis order to ascending lat and lon."""
    rows = np.argsort(inputs.lat, kind="stable")
    cols = np.argsort(inputs.lon, kind="stable")
    return hidden[..., rows, :][..., cols]


def _original_order(inputs: Inputs, ascending: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_ascending`."""
    rows = np.argsort(np.argsort(inputs.lat, kind="stable"), kind="stable")
    cols = np.argsort(np.argsort(inputs.lon, kind="stable"), kind="stable")
    return ascending[..., rows, :][..., cols]


def train_and_predict(inputs: Inputs, threads: int = 1) -> tuple[dict[str, np.ndarray], dict]:
    """Train a ConvNP within the budget, predict every test task; returns (arrays, info).

    Needs ``deepsensor`` with its torch backend (this script's own environment).
    """
    import deepsensor
    import deepsensor.torch  # selects the torch backend
    import torch
    from deepsensor.data import DataProcessor, TaskLoader
    from deepsensor.model import ConvNP
    from deepsensor.train import train_epoch

    torch.set_num_threads(threads)
    torch.manual_seed(inputs.seed)
    rng = np.random.default_rng(inputs.seed)

    train_da = _dataarray(inputs, inputs.train, inputs.train_times)
    test_da = _dataarray(inputs, inputs.test, inputs.test_times)
    processor = DataProcessor(x1_name="lat", x2_name="lon")
    train_norm = processor(train_da)  # normalisation fitted on the training fields only
    test_norm = processor(test_da)
    train_loader = TaskLoader(context=train_norm, target=train_norm)
    test_loader = TaskLoader(context=test_norm, target=test_norm)
    times = [np.datetime64(t, "ns") for t in train_da.time.values]
    base_tasks = [train_loader(t, context_sampling="all", target_sampling="all") for t in times]
    model = ConvNP(processor, train_loader, verbose=False)
    n_parameters = sum(p.numel() for p in model.model.parameters())
    optimiser = torch.optim.Adam(model.model.parameters(), lr=inputs.lr)

    start = time.perf_counter()
    epochs, steps, epoch_losses = 0, 0, []
    chunk = max(1, inputs.batch_size) * 4  # check the clock every few optimiser steps
    out_of_time = False
    while epochs < inputs.max_epochs and not out_of_time:
        order = rng.permutation(len(base_tasks))
        losses: list[float] = []
        for begin in range(0, len(order), chunk):
            picked = order[begin : begin + chunk]
            tasks = [
                _masked_task(base_tasks[i], rng.random(inputs.grid_shape) < inputs.train_fraction)
                for i in picked
            ]
            batch = inputs.batch_size if len(tasks) >= inputs.batch_size else None
            losses.extend(
                float(v) for v in train_epoch(model, tasks, batch_size=batch, opt=optimiser)
            )
            steps += len(tasks) // batch if batch else len(tasks)
            if time.perf_counter() - start > inputs.budget_seconds:
                out_of_time = True
                break
        epochs += 1
        epoch_losses.append(float(np.mean(losses)) if losses else float("nan"))
    train_seconds = time.perf_counter() - start

    arrays: dict[str, np.ndarray] = {}
    predict_start = time.perf_counter()
    test_times = [np.datetime64(t, "ns") for t in test_da.time.values]
    for index, (name, mask) in enumerate(inputs.masks.items()):
        hidden = _ascending(inputs, mask)
        tasks = [
            _masked_task(test_loader(t, context_sampling="all", target_sampling="all"), hidden[s])
            for s, t in enumerate(test_times)
        ]
        prediction = model.predict(tasks, X_t=test_da)[inputs.name]
        mean = prediction["mean"].transpose("time", "lat", "lon").values
        std = prediction["std"].transpose("time", "lat", "lon").values
        arrays[f"mean_{index}"] = _original_order(inputs, mean).astype(np.float32)
        arrays[f"std_{index}"] = _original_order(inputs, std).astype(np.float32)
        arrays[f"name_{index}"] = np.array(name)
    info = {
        "deepsensor_version": getattr(deepsensor, "__version__", _version("deepsensor")),
        "torch_version": torch.__version__,
        "threads": threads,
        "epochs": epochs,
        "epochs_completed": epochs - int(out_of_time),
        "optimiser_steps": steps,
        "train_seconds": train_seconds,
        "predict_seconds": time.perf_counter() - predict_start,
        "stopped_by_budget": out_of_time,
        "n_parameters": int(n_parameters),
        "n_train_fields": int(inputs.train.shape[0]),
        "epoch_losses": epoch_losses,
        "batch_size": inputs.batch_size,
        "lr": inputs.lr,
        "train_fraction": inputs.train_fraction,
    }
    return arrays, info


def _version(package: str) -> str:
    import importlib.metadata as metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``convnp_gapfill.py INPUTS.npz OUTPUT.npz [--threads N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    inputs = read_inputs(args.inputs)
    arrays, info = train_and_predict(inputs, threads=args.threads)
    np.savez(args.output, info=np.array(json.dumps(info)), **arrays)
    print(json.dumps({k: v for k, v in info.items() if k != "epoch_losses"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
